/* Would children forked ahead beat posix_spawn? The design of a pre-forked spawn, measured in C
 * with nothing else in the way, before any of it is built into the package (issue 28):
 *
 *   prefork ROUNDS CYCLES CHILD
 *
 * One cycle is a start of CHILD and the wait for its exit (poll on its pidfd, then waitid), as
 * the floor's (floor.c). Modes, interleaved in each round:
 *   floor   posix_spawn from this process (vfork and exec; the caller sleeps until the exec).
 *   sync    a spare forked ahead by a helper process (CLONE_PARENT: a child of this process),
 *           asleep on a socket of its own: the caller hands it the request, waits for the
 *           exec (EOF on that close-on-exec socket), then for the exit. The helper forks the
 *           next spare meanwhile.
 *   async   the same, but the caller does not wait for the exec: spawn() returning at once.
 *   vm      sync, with a spare cloned CLONE_VM (on the helper's memory, a stack of its own, as
 *           the package's helper clones its children), so its exec has no copied map to free.
 * Prints one line per mode: the median, p10 and p90 of the cycle in µs, over all rounds. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

enum { FLOOR, SYNC, ASYNC, VM, MODES };
static const char *const names[MODES] = { "floor", "sync", "async", "vm" };
static const char *child;

static uint64_t now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* A spare's pid with its end of the spare's socket, as SCM_RIGHTS. */
static void send_spare(int sock, int32_t pid, int fd)
{
	char control[CMSG_SPACE(sizeof(int))];
	memset(control, 0, sizeof(control));
	struct iovec iov = { &pid, sizeof(pid) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(sock, &msg, 0) < 0)
		_exit(1);
}

static int32_t recv_spare(int sock, int *fd)
{
	int32_t pid;
	char control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &pid, sizeof(pid) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control) };
	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != sizeof(pid) || CMSG_FIRSTHDR(&msg) == NULL)
		die("recvmsg");
	memcpy(fd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(int));
	return pid;
}

/* What a CLONE_VM spare closes first (its copy of the helper's descriptors, or the caller's
 * exit would not end it): the helper's socket, and the caller's end of the spare's own. */
static int vm_close[2];

/* A spare on the helper's memory (CLONE_VM): raw syscalls only, on a stack of its own. */
static int vm_spare(void *arg)
{
	int fd = (int)(intptr_t)arg;
	syscall(SYS_close, vm_close[0]);
	syscall(SYS_close, vm_close[1]);
	char request[64];
	if (syscall(SYS_recvfrom, fd, request, sizeof(request), 0, NULL, NULL) <= 0)
		syscall(SYS_exit, 0);
	char *argv[] = { (char *)child, NULL };
	syscall(SYS_execve, child, argv, environ);
	syscall(SYS_exit, 127);
	return 0;
}

static char vm_stacks[2][64 * 1024] __attribute__((aligned(16)));

/* The helper: one spare ready ahead, and one more for each byte the caller sends (it took one). */
static void helper(int sock, int vm)
{
	int turn = 0;
	for (;;) {
		int pair[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
			_exit(1);
		/* Two stacks in turn: a spare's stack is free again once it has exec'd, which happens
		 * before the caller asks for the next one. */
		vm_close[0] = sock;
		vm_close[1] = pair[0];
		pid_t pid = vm ? clone(vm_spare, vm_stacks[turn ^= 1] + sizeof(vm_stacks[0]), CLONE_VM | CLONE_PARENT | SIGCHLD, (void *)(intptr_t)pair[1])
			       : (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
		if (pid == 0) {
			close(sock);
			close(pair[0]);
			char request[64];
			ssize_t got;
			while ((got = recv(pair[1], request, sizeof(request), 0)) < 0 && errno == EINTR)
				;
			if (got <= 0)
				_exit(0);
			char *argv[] = { (char *)child, NULL };
			execve(child, argv, environ);
			_exit(127);
		}
		if (pid < 0)
			_exit(1);
		close(pair[1]);
		send_spare(sock, pid, pair[0]);
		close(pair[0]);
		char took;
		if (read(sock, &took, 1) <= 0)
			_exit(0);
	}
}

static int helpers[MODES];

static uint64_t cycle(int mode)
{
	uint64_t t0 = now();
	int pidfd;
	if (mode == FLOOR) {
		char *argv[] = { (char *)child, NULL };
		pid_t pid;
		if (posix_spawn(&pid, child, NULL, NULL, argv, environ) != 0)
			die("posix_spawn");
		pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	} else {
		int spare;
		pid_t pid = recv_spare(helpers[mode], &spare);
		pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (write(helpers[mode], "x", 1) != 1 || write(spare, "go", 2) != 2)
			die("write");
		if (mode == SYNC || mode == VM) {
			char b;
			while (read(spare, &b, 1) > 0)
				;
		}
		close(spare);
	}
	if (pidfd < 0)
		die("pidfd_open");
	struct pollfd p = { pidfd, POLLIN, 0 };
	while (poll(&p, 1, -1) < 0)
		;
	siginfo_t info;
	if (waitid((idtype_t)3 /* P_PIDFD */, (id_t)pidfd, &info, WEXITED) < 0)
		die("waitid");
	close(pidfd);
	return now() - t0;
}

static int by_value(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: prefork ROUNDS CYCLES CHILD\n");
		return 2;
	}
	int rounds = atoi(argv[1]), cycles = atoi(argv[2]);
	child = argv[3];
	for (int m = SYNC; m < MODES; m++) {
		int pair[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
			die("socketpair");
		if (fork() == 0) {
			/* Only its own socket: the caller's exit ends every helper. */
			close(pair[0]);
			for (int other = SYNC; other < m; other++)
				close(helpers[other]);
			helper(pair[1], m == VM);
		}
		close(pair[1]);
		helpers[m] = pair[0];
	}
	uint64_t *all[MODES];
	for (int m = 0; m < MODES; m++)
		all[m] = malloc(sizeof(uint64_t) * (size_t)rounds * (size_t)cycles);
	for (int r = 0; r < rounds; r++) {
		for (int m = 0; m < MODES; m++) {
			for (int i = 0; i < 5; i++)
				(void)cycle(m);
			for (int i = 0; i < cycles; i++)
				all[m][r * cycles + i] = cycle(m);
		}
	}
	int n = rounds * cycles;
	for (int m = 0; m < MODES; m++) {
		qsort(all[m], (size_t)n, sizeof(uint64_t), by_value);
		printf("%-6s cycle median %4.0f µs, p10 %4.0f, p90 %4.0f\n", names[m], all[m][n / 2] / 1e3, all[m][n / 10] / 1e3, all[m][n * 9 / 10] / 1e3);
	}
	return 0;
}

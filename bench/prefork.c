/* Would children forked ahead beat posix_spawn? The design of a pre-forked spawn, measured in C
 * with nothing else in the way, before any of it is built into the package (issue 28); and the
 * package's own design beside it, in C and with its own helper program:
 *
 *   prefork ROUNDS CYCLES CHILD [HELPER_PROGRAM]
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
 *   helper  no spare: the package's design as it is. The caller sends a request to a helper
 *           process, which clones the child then (CLONE_VM | CLONE_VFORK | CLONE_PARENT |
 *           CLONE_PIDFD), resumes once it has exec'd, and hands the pidfd back; the caller
 *           waits for that reply, then for the exit.
 *   package the same with the package's helper program itself (the `pidfd-helper` file a build
 *           leaves beside the `.node`, given as HELPER_PROGRAM; the mode is left out without
 *           it): a request of its protocol (the child's stdio /dev/null, the cwd passed as a
 *           descriptor, this process's environment, no limits), its child's MSG_STARTED,
 *           then MSG_DONE with the pidfd.
 * Prints one line per mode: the median, p10 and p90 of the cycle in µs, over all rounds; for
 * floor, helper and package also the start alone (posix_spawn's return; the request sent to
 * the pidfd received). */
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

enum { FLOOR, SYNC, ASYNC, VM, HELPER, PACKAGE, MODES };
static const char *const names[MODES] = { "floor", "sync", "async", "vm", "helper", "package" };
static const char *child, *helper_program;

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

/* The helper of the package's design: a child cloned per request, on the helper's memory. */
static int helper_child(void *arg)
{
	(void)arg;
	char *argv[] = { (char *)child, NULL };
	syscall(SYS_execve, child, argv, environ);
	syscall(SYS_exit, 127);
	return 0;
}

static char helper_stack[64 * 1024] __attribute__((aligned(16)));

static void on_request(int sock)
{
	for (;;) {
		char request;
		if (read(sock, &request, 1) <= 0)
			_exit(0);
		int pidfd = -1;
		/* The exit signal is the helper's own (SIGCHLD) under CLONE_PARENT. */
		pid_t pid = clone(helper_child, helper_stack + sizeof(helper_stack),
				  CLONE_VM | CLONE_VFORK | CLONE_PARENT | CLONE_PIDFD, NULL, &pidfd);
		if (pid < 0)
			_exit(1);
		send_spare(sock, pid, pidfd);
		close(pidfd);
	}
}

static int helpers[MODES];
/* How long each floor, helper and package start took (posix_spawn's return; the request sent
 * to the pidfd received), in ns. */
static uint64_t *starts[MODES];
static int n_starts[MODES];

/* One request of the package's helper protocol (helper/pidfd-helper.c): its 14-word header,
 * then the child's descriptor map and the strings (cwd, the path to try, argv, envp), with
 * /dev/null and the cwd passed as SCM_RIGHTS. Returns the pidfd from MSG_DONE. */
static int package_request(int sock)
{
	static int null = -1, cwd = -1;
	static char buf[64 * 1024];
	if (null < 0) {
		null = open("/dev/null", O_RDWR | O_CLOEXEC);
		cwd = open(".", O_RDONLY | O_CLOEXEC | O_PATH | O_DIRECTORY);
		if (null < 0 || cwd < 0)
			die("open");
	}
	size_t off = 14 * 4;
	const int32_t map[3] = { 0, 0, 0 }; /* child 0, 1, 2: passed descriptor 0, /dev/null */
	memcpy(buf + off, map, sizeof(map));
	off += sizeof(map);
	buf[off++] = '\0'; /* no cwd path: passed descriptor 1 */
	uint32_t envc = 0;
	const char *strings[2] = { child, child }; /* the path to try, argv[0] */
	for (int i = 0; i < 2; i++) {
		size_t len = strlen(strings[i]) + 1;
		memcpy(buf + off, strings[i], len);
		off += len;
	}
	for (char **e = environ; *e != NULL; e++, envc++) {
		size_t len = strlen(*e) + 1;
		if (off + len > sizeof(buf))
			die("environment too large");
		memcpy(buf + off, *e, len);
		off += len;
	}
	/* magic, flags, uid, gid, umask, n_sources, cwd_source, cgroup_source, n_fds, n_rlimits,
	 * n_paths, argc, envc, payload_len */
	const uint32_t header[14] = { 0x70696466u, 0, 0, 0, 022, 2, 1, (uint32_t)-1, 3, 0, 1, 1, envc, (uint32_t)(off - 14 * 4) };
	memcpy(buf, header, sizeof(header));
	const int fds[2] = { null, cwd };
	char control[CMSG_SPACE(sizeof(fds))];
	memset(control, 0, sizeof(control));
	struct iovec iov = { buf, off };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	if (sendmsg(sock, &msg, MSG_NOSIGNAL) != (ssize_t)off)
		die("sendmsg");
	for (;;) {
		int32_t m[4]; /* kind, errno, stage, pid */
		char reply_control[CMSG_SPACE(sizeof(int))];
		struct iovec riov = { m, sizeof(m) };
		struct msghdr reply = { .msg_iov = &riov, .msg_iovlen = 1, .msg_control = reply_control, .msg_controllen = sizeof(reply_control) };
		if (recvmsg(sock, &reply, MSG_CMSG_CLOEXEC) != sizeof(m))
			die("recvmsg");
		if (m[0] != 3 /* MSG_DONE */)
			continue;
		if (m[1] != 0 || CMSG_FIRSTHDR(&reply) == NULL)
			die("the helper's child did not start");
		int pidfd;
		memcpy(&pidfd, CMSG_DATA(CMSG_FIRSTHDR(&reply)), sizeof(int));
		return pidfd;
	}
}

static uint64_t cycle(int mode)
{
	uint64_t t0 = now();
	int pidfd;
	if (mode == FLOOR) {
		char *argv[] = { (char *)child, NULL };
		pid_t pid;
		if (posix_spawn(&pid, child, NULL, NULL, argv, environ) != 0)
			die("posix_spawn");
		starts[mode][n_starts[mode]++] = now() - t0;
		pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	} else if (mode == HELPER || mode == PACKAGE) {
		const uint64_t sent = now();
		if (mode == PACKAGE) {
			pidfd = package_request(helpers[mode]);
		} else {
			if (write(helpers[mode], "r", 1) != 1)
				die("write");
			(void)recv_spare(helpers[mode], &pidfd);
		}
		starts[mode][n_starts[mode]++] = now() - sent;
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
	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: prefork ROUNDS CYCLES CHILD [HELPER_PROGRAM]\n");
		return 2;
	}
	int rounds = atoi(argv[1]), cycles = atoi(argv[2]);
	child = argv[3];
	helper_program = argc == 5 ? argv[4] : NULL;
	const int modes = helper_program ? MODES : PACKAGE;
	for (int m = SYNC; m < modes; m++) {
		int pair[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
			die("socketpair");
		if (m == PACKAGE && fork() == 0) {
			/* The package's helper: its socket at fd 3 (it sets close-on-exec itself), stdio
			 * /dev/null, as the package starts it. */
			for (int other = SYNC; other < m; other++)
				close(helpers[other]);
			int null = open("/dev/null", O_RDWR | O_CLOEXEC);
			int sock = fcntl(pair[1], F_DUPFD_CLOEXEC, 10);
			if (null < 0 || sock < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0 || dup2(sock, 3) < 0)
				_exit(127);
			char *hargv[] = { "pidfd-helper", NULL };
			execve(helper_program, hargv, environ);
			_exit(127);
		}
		if (m != PACKAGE && fork() == 0) {
			/* Only its own socket: the caller's exit ends every helper. */
			close(pair[0]);
			for (int other = SYNC; other < m; other++)
				close(helpers[other]);
			if (m == HELPER)
				on_request(pair[1]);
			helper(pair[1], m == VM);
		}
		close(pair[1]);
		helpers[m] = pair[0];
	}
	uint64_t *all[MODES];
	for (int m = 0; m < MODES; m++) {
		all[m] = malloc(sizeof(uint64_t) * (size_t)rounds * (size_t)cycles);
		starts[m] = malloc(sizeof(uint64_t) * (size_t)rounds * (size_t)(cycles + 5));
	}
	for (int r = 0; r < rounds; r++) {
		for (int m = 0; m < modes; m++) {
			for (int i = 0; i < 5; i++)
				(void)cycle(m);
			for (int i = 0; i < cycles; i++)
				all[m][r * cycles + i] = cycle(m);
		}
	}
	int n = rounds * cycles;
	for (int m = 0; m < modes; m++) {
		qsort(all[m], (size_t)n, sizeof(uint64_t), by_value);
		printf("%-7s cycle median %4.0f µs, p10 %4.0f, p90 %4.0f", names[m], all[m][n / 2] / 1e3, all[m][n / 10] / 1e3, all[m][n * 9 / 10] / 1e3);
		int x = n_starts[m];
		if (x > 0) {
			qsort(starts[m], (size_t)x, sizeof(uint64_t), by_value);
			printf("; the start alone median %4.0f, p10 %4.0f", starts[m][x / 2] / 1e3, starts[m][x / 10] / 1e3);
		}
		printf("\n");
	}
	return 0;
}

/*
 * pidfd-helper guard: what a Node process leaves behind when it dies without cleaning up
 * (SIGKILL, a crash, the OOM killer), ended by a small process that outlives it.
 *
 * Node starts it (src/guard.rs) in a session of its own, with every signal blocked, and keeps
 * one end of a socket pair whose other end is the guard's fd 0. A byte on it releases the
 * guard: Node has cleaned up itself, and the guard ends doing nothing. EOF without that byte
 * means Node is gone: the guard then ends what it guards and exits.
 *
 *   pidfd-helper guard cgroup NAME      fd 3: the cgroup v2 directory, fd 4: its parent, where
 *                                       it is named NAME. Everything in it gets SIGKILL
 *                                       (cgroup.kill, else each process in cgroup.procs), and
 *                                       once it is empty it is removed, if NAME is still it,
 *                                       the cgroups made inside it first.
 *   pidfd-helper guard process PGID     fd 3: a pidfd of the process, which gets SIGKILL; so
 *                                       does the process group PGID, unless it is 0.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guard.h"

#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

/* How long the guard waits for a cgroup to empty before it gives up removing it. */
#define EMPTY_WAIT_MS 10000

static ssize_t read_file(int dir, const char *name, char *buf, size_t size)
{
	int fd = openat(dir, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

static int populated(int dir)
{
	char buf[256];
	if (read_file(dir, "cgroup.events", buf, sizeof(buf)) < 0) {
		/* No cgroup.events: cgroup.procs lists someone. */
		if (read_file(dir, "cgroup.procs", buf, sizeof(buf)) < 0)
			return 0;
		return buf[0] != '\0';
	}
	return strstr(buf, "populated 1") != NULL;
}

/* SIGKILL to each process cgroup.procs lists (before cgroup.kill, Linux 5.14). */
static void kill_listed(int dir)
{
	char buf[65536];
	if (read_file(dir, "cgroup.procs", buf, sizeof(buf)) <= 0)
		return;
	for (char *p = buf; *p;) {
		char *end;
		long pid = strtol(p, &end, 10);
		if (end == p)
			break;
		if (pid > 0)
			(void)kill((pid_t)pid, SIGKILL);
		p = end + (*end != '\0');
	}
}

/* What getdents64 fills in. */
struct dirent64_raw {
	unsigned long long d_ino;
	long long d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/*
 * Removes the cgroups made inside `dir` (a command may make its own), deepest first: a cgroup
 * with children cannot be removed. Read with getdents64 into the stack, so nothing is
 * allocated (the guard may run just after the OOM killer); `depth` bounds the recursion.
 * A directory is read again from its start after a pass that removed something, as entries
 * removed under a reader may make it skip others.
 */
static void remove_children(int dir, int depth)
{
	if (depth > 16)
		return;
	int fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	for (int pass = 0, removed = 1; removed && pass < 8; pass++) {
		char buf[1024];
		long n;
		removed = 0;
		if (lseek(fd, 0, SEEK_SET) != 0)
			break;
		while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
			for (long off = 0; off < n;) {
				struct dirent64_raw *e = (struct dirent64_raw *)(buf + off);
				off += e->d_reclen;
				if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
					continue;
				int child = openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (child >= 0) {
					remove_children(child, depth + 1);
					close(child);
				}
				if (unlinkat(fd, e->d_name, AT_REMOVEDIR) == 0)
					removed = 1;
			}
		}
	}
	close(fd);
}

static void end_cgroup(const char *name)
{
	int kill_fd = openat(3, "cgroup.kill", O_WRONLY | O_CLOEXEC);
	int killed = kill_fd >= 0 && write(kill_fd, "1", 1) == 1;
	if (kill_fd >= 0)
		close(kill_fd);
	/* Wait for it to empty: cgroup.events wakes a poller with POLLPRI when it changes. */
	int events = openat(3, "cgroup.events", O_RDONLY | O_CLOEXEC);
	for (int waited = 0; populated(3) && waited < EMPTY_WAIT_MS; waited += 10) {
		if (!killed)
			kill_listed(3); /* again: a process may have forked meanwhile */
		struct pollfd pfd = { .fd = events, .events = POLLPRI };
		if (events < 0 || poll(&pfd, 1, 10) <= 0)
			usleep(events < 0 ? 10000 : 0);
	}
	if (events >= 0)
		close(events);
	/* Remove it only if NAME in the parent is still this directory. A task the kill ended may
	 * still hold it for a moment after cgroup.events says it is empty (EBUSY): try again. */
	struct stat ours, named;
	if (fstat(3, &ours) != 0 || fstatat(4, name, &named, AT_SYMLINK_NOFOLLOW) != 0 ||
	    ours.st_dev != named.st_dev || ours.st_ino != named.st_ino)
		return;
	for (int waited = 0; waited < EMPTY_WAIT_MS; waited += 10) {
		remove_children(3, 0);
		if (unlinkat(4, name, AT_REMOVEDIR) == 0 || errno != EBUSY)
			break;
		usleep(10000);
	}
}

static void end_process(pid_t group)
{
	/* Its pid cannot name another process while our pidfd is open: the kernel checks. */
	(void)syscall(SYS_pidfd_send_signal, 3, SIGKILL, NULL, 0);
	/* The group it led: its number cannot be another group's while any member is in it. */
	if (group > 0)
		(void)kill(-group, SIGKILL);
}

int guard_main(int argc, char **argv)
{
	char byte;
	ssize_t n;
	do
		n = read(0, &byte, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1)
		return 0; /* released: Node cleaned up itself */
	if (argc >= 4 && strcmp(argv[2], "cgroup") == 0)
		end_cgroup(argv[3]);
	else if (argc >= 4 && strcmp(argv[2], "process") == 0)
		end_process((pid_t)strtol(argv[3], NULL, 10));
	return 0;
}

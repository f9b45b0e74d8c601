/* The floor: what a C program does with no runtime in the way. posix_spawn, pidfd_open, poll,
 * then waitid(P_PIDFD) through the raw syscall (with rusage). Same protocol as the runners:
 *   floor cycles N CHILD | batch N CHILD | longlived K CHILD | maxrss
 * prints one JSON object on stdout. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static uint64_t now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Spawns `child` (with `arg` if not NULL); fd 3 = `fd3` if >= 0. Returns the pidfd. */
static int start(const char *child, const char *arg, int fd3, pid_t *pid_out)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (fd3 >= 0)
		posix_spawn_file_actions_adddup2(&fa, fd3, 3);
	char *argv[] = { (char *)child, (char *)arg, NULL };
	pid_t pid;
	int err = posix_spawn(&pid, child, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err) {
		fprintf(stderr, "posix_spawn: %s\n", strerror(err));
		exit(1);
	}
	*pid_out = pid;
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static void reap(int pidfd, struct rusage *ru)
{
	siginfo_t si;
	if (syscall(SYS_waitid, P_PIDFD, pidfd, &si, WEXITED, ru) < 0) {
		perror("waitid");
		exit(1);
	}
	close(pidfd);
}

/* Reaps every pidfd of `p` as it turns readable, one poll over all of them. */
static void reap_all(struct pollfd *p, int n)
{
	for (int left = n; left > 0;) {
		poll(p, n, -1);
		for (int i = 0; i < n; i++)
			if (p[i].fd >= 0 && p[i].revents) {
				struct rusage ru;
				reap(p[i].fd, &ru);
				p[i].fd = -1;
				left--;
			}
	}
}

static void wait_readable(int pidfd)
{
	struct pollfd p = { pidfd, POLLIN, 0 };
	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
}

static void print_array(const char *name, uint64_t *v, int n, int last)
{
	printf("\"%s\":[", name);
	for (int i = 0; i < n; i++)
		printf("%s%llu", i ? "," : "", (unsigned long long)v[i]);
	printf("]%s", last ? "" : ",");
}

static void one(const char *child, uint64_t *cycle, uint64_t *latency)
{
	int p[2];
	pipe2(p, O_CLOEXEC);
	pid_t pid;
	uint64_t t0 = now();
	int fd = start(child, NULL, p[1], &pid);
	close(p[1]);
	wait_readable(fd);
	struct rusage ru;
	reap(fd, &ru);
	uint64_t t1 = now();
	uint64_t stamp = 0;
	(void)!read(p[0], &stamp, sizeof stamp);
	close(p[0]);
	*cycle = t1 - t0;
	*latency = t1 - stamp;
}

static long status_field(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	size_t k = strlen(key);
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, key, k) == 0)
			v = strtol(line + k, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

static long count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	long n = 0;
	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n - 3; /* ".", ".." and the directory's own descriptor */
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	const char *mode = argv[1];
	if (strcmp(mode, "cycles") == 0 && argc == 4) {
		int n = atoi(argv[2]);
		uint64_t *c = calloc(n, 8), *l = calloc(n, 8), dc, dl;
		for (int i = 0; i < 5; i++)
			one(argv[3], &dc, &dl);
		for (int i = 0; i < n; i++)
			one(argv[3], &c[i], &l[i]);
		printf("{");
		print_array("cycleNs", c, n, 0);
		print_array("latencyNs", l, n, 1);
		printf("}\n");
	} else if (strcmp(mode, "batch") == 0 && argc == 4) {
		int n = atoi(argv[2]);
		struct pollfd *p = calloc(n, sizeof *p);
		uint64_t t0 = now();
		for (int i = 0; i < n; i++) {
			pid_t pid;
			p[i].fd = start(argv[3], NULL, -1, &pid);
			p[i].events = POLLIN;
		}
		reap_all(p, n);
		printf("{\"totalNs\":%llu}\n", (unsigned long long)(now() - t0));
	} else if (strcmp(mode, "longlived") == 0 && argc == 4) {
		int k = atoi(argv[2]);
		long rss_before = status_field("VmRSS:");
		struct pollfd *p = calloc(k, sizeof *p);
		pid_t *pids = calloc(k, sizeof *pids);
		for (int i = 0; i < k; i++) {
			p[i].fd = start(argv[3], "--pause", -1, &pids[i]);
			p[i].events = POLLIN;
		}
		usleep(200000);
		uint64_t lat[50], dc;
		for (int i = 0; i < 50; i++)
			one(argv[3], &dc, &lat[i]);
		long rss = status_field("VmRSS:"), threads = status_field("Threads:"), fds = count_fds();
		uint64_t t0 = now();
		for (int i = 0; i < k; i++)
			syscall(SYS_pidfd_send_signal, p[i].fd, SIGKILL, NULL, 0);
		reap_all(p, k);
		uint64_t kill_all = now() - t0;
		printf("{");
		print_array("latencyNs", lat, 50, 0);
		printf("\"rssBeforeKiB\":%ld,\"rssKiB\":%ld,\"threads\":%ld,\"fds\":%ld,\"killAllNs\":%llu}\n", rss_before, rss, threads,
		       fds, (unsigned long long)kill_all);
	} else if (strcmp(mode, "maxrss") == 0) {
		size_t size = (size_t)500 << 20;
		char *hold = malloc(size);
		memset(hold, 1, size);
		pid_t pid;
		int fd = start("/bin/true", NULL, -1, &pid);
		wait_readable(fd);
		struct rusage ru;
		reap(fd, &ru);
		printf("{\"maxRSSKiB\":%ld}\n", ru.ru_maxrss + (hold[size - 1] - 1));
	} else {
		return 2;
	}
	return 0;
}

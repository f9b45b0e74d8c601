/*
 * pidfd-helper: a small static program that starts children on Node's behalf.
 *
 * Why: at exec the kernel folds the old memory map's peak RSS into the new program's maxrss,
 * and a child made by fork, vfork or posix_spawn starts from its parent's map, so a child of a
 * 500 MB Node process reports maxRSS >= 500 MB. This helper is exec'd once (its own map is
 * about half a MiB) and creates each child with clone3(CLONE_PARENT | CLONE_PIDFD): the child
 * copies the helper's small map, its parent is Node (which stays its only reaper), and the
 * pidfd exists from the clone on. The pidfd goes back to Node over the socket.
 *
 * Protocol, on a SOCK_STREAM socket at fd 3, one request at a time:
 *   request  = struct request, then `payload_len` bytes; the stdio sources ride on its first
 *              byte as SCM_RIGHTS.
 *   payload  = rlimits[n_rlimits] (struct wire_rlimit), fd_map[n_fds] (int32: index into the
 *              passed descriptors, or -1 for closed), then NUL-terminated strings: cwd, the
 *              candidate paths (n_paths), argv (argc), envp (envc).
 *   response = struct response; with SCM_RIGHTS carrying the pidfd when a child was created
 *              (also when its exec failed: Node reaps it).
 * EOF on the socket (Node exited) ends the helper.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif

#define SOCK_FD 3
#define MAGIC 0x70696466u /* "pidf" */
#define MAX_FDS 250
#define MAX_PAYLOAD (64u << 20)

enum { F_DETACHED = 1, F_SETUID = 2, F_SETGID = 4, F_NO_CLONE3 = 8 };
/* Where a child failed before exec, for the error Node reports. */
enum { STAGE_NONE = 0, STAGE_SETSID, STAGE_SETGID, STAGE_SETUID, STAGE_FDS, STAGE_CHDIR, STAGE_EXEC };

struct request {
	uint32_t magic;
	uint32_t flags;
	uint32_t uid, gid, umask;
	uint32_t n_fds, n_rlimits, n_paths, argc, envc;
	uint32_t payload_len;
};

struct wire_rlimit {
	uint32_t resource, pad;
	uint64_t cur, max;
};

struct response {
	int32_t err;   /* 0, or the errno */
	int32_t stage; /* STAGE_* where it failed */
	int32_t pid;   /* the child, or 0 */
	int32_t clone_used; /* 3: clone3, 2: clone */
};

struct clone_args_v0 {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void send_response(struct response *r, int pidfd)
{
	char control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = r, .iov_len = sizeof(*r) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	memset(control, 0, sizeof(control));
	if (pidfd >= 0) {
		msg.msg_control = control;
		msg.msg_controllen = sizeof(control);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pidfd, sizeof(int));
	}
	while (sendmsg(SOCK_FD, &msg, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

/* Reports a failure before exec through the close-on-exec pipe, then exits. */
static void child_fail(int pipe_fd, int stage)
{
	int32_t report[2] = { errno, stage };
	ssize_t ignored = write(pipe_fd, report, sizeof(report));
	(void)ignored;
	_exit(127);
}

/* Runs in the new child: set up its state as Node's child_process gives it, then exec. */
static void child(const struct request *req, const struct wire_rlimit *rl, const int32_t *fd_map,
		  const int *fds, int nfds_passed, char *cwd, char **paths, char **argv, char **envp, int pipe_fd)
{
	int n = (int)req->n_fds;

	if ((req->flags & F_DETACHED) && setsid() < 0)
		child_fail(pipe_fd, STAGE_SETSID);
	if (req->flags & (F_SETUID | F_SETGID))
		(void)setgroups(0, NULL); /* as libuv: drop supplementary groups, best effort */
	if ((req->flags & F_SETGID) && setgid(req->gid) < 0)
		child_fail(pipe_fd, STAGE_SETGID);
	if ((req->flags & F_SETUID) && setuid(req->uid) < 0)
		child_fail(pipe_fd, STAGE_SETUID);

	umask((mode_t)req->umask);
	for (uint32_t i = 0; i < req->n_rlimits; i++) {
		struct rlimit lim = { .rlim_cur = (rlim_t)rl[i].cur, .rlim_max = (rlim_t)rl[i].max };
		(void)setrlimit((int)rl[i].resource, &lim); /* best effort, as the parent had them */
	}

	/* Move every source, and the error pipe, above the child's stdio range first, so no
	 * dup2 below can overwrite a source that a later descriptor still needs. */
	int high[MAX_FDS];
	for (int i = 0; i < nfds_passed; i++) {
		high[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, n);
		if (high[i] < 0)
			child_fail(pipe_fd, STAGE_FDS);
	}
	int err_fd = fcntl(pipe_fd, F_DUPFD_CLOEXEC, n);
	if (err_fd < 0)
		child_fail(pipe_fd, STAGE_FDS);
	pipe_fd = err_fd;
	for (int i = 0; i < n; i++) {
		int src = fd_map[i];
		if (src < 0 || src >= nfds_passed) {
			close(i);
		} else if (dup2(high[src], i) < 0) {
			child_fail(pipe_fd, STAGE_FDS);
		}
	}

	/* As libuv: the child's stdio is blocking (a stream of Node's may be passed non-blocking;
	 * the flag lives on the shared open file, as it does for libuv's children). */
	for (int i = 0; i < n && i < 3; i++) {
		int flags = fcntl(i, F_GETFL);
		if (flags >= 0 && (flags & O_NONBLOCK))
			(void)fcntl(i, F_SETFL, flags & ~O_NONBLOCK);
	}

	if (cwd[0] != '\0' && chdir(cwd) < 0)
		child_fail(pipe_fd, STAGE_CHDIR);

	/* Default dispositions for every signal (the raw call also resets the C library's own),
	 * and an empty mask. */
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < 65; sig++) {
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)syscall(SYS_rt_sigaction, sig, &dfl, NULL, 8);
	}
	sigset_t none;
	sigemptyset(&none);
	(void)syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, 8);

	/* As execvp: try each candidate; EACCES from one is reported only if none can run. */
	int saw_eacces = 0, final = 0;
	for (uint32_t i = 0; i < req->n_paths && final == 0; i++) {
		execve(paths[i], argv, envp);
		if (errno == EACCES)
			saw_eacces = 1;
		else if (errno != ENOENT && errno != ENOTDIR)
			final = errno;
	}
	errno = final ? final : saw_eacces ? EACCES : ENOENT;
	child_fail(pipe_fd, STAGE_EXEC);
}

/* clone3(CLONE_PARENT | CLONE_PIDFD), or clone() where a seccomp filter refuses clone3
 * (F_NO_CLONE3 takes that path on purpose, for tests). */
static pid_t clone_parent(int *pidfd, int *clone_used, int no_clone3)
{
	struct clone_args_v0 args;
	memset(&args, 0, sizeof(args));
	args.flags = CLONE_PARENT | CLONE_PIDFD;
	args.pidfd = (uint64_t)(uintptr_t)pidfd;
	args.exit_signal = 0; /* required with CLONE_PARENT; the child signals Node with SIGCHLD */
	long pid = -1;
	errno = ENOSYS;
	if (!no_clone3)
		pid = syscall(SYS_clone3, &args, sizeof(args));
	*clone_used = 3;
	if (pid < 0 && (errno == ENOSYS || errno == EPERM || errno == E2BIG)) {
		*clone_used = 2;
		/* Both x86_64 and aarch64 take the CLONE_PIDFD result in the third argument. */
		pid = syscall(SYS_clone, (unsigned long)(CLONE_PARENT | CLONE_PIDFD), NULL, pidfd, NULL, NULL);
	}
	return (pid_t)pid;
}

static void handle(const struct request *req, char *payload, int *fds, int nfds_passed)
{
	struct response resp = { 0, STAGE_NONE, 0, 0 };
	const struct wire_rlimit *rl = (const struct wire_rlimit *)payload;
	size_t off = (size_t)req->n_rlimits * sizeof(struct wire_rlimit);
	const int32_t *fd_map = (const int32_t *)(payload + off);
	off += (size_t)req->n_fds * sizeof(int32_t);

	/* Split the strings. */
	size_t n_strings = 1 + (size_t)req->n_paths + req->argc + req->envc;
	char **strings = calloc(n_strings + 2, sizeof(char *)); /* + NULLs ending argv and envp */
	if (strings == NULL) {
		resp.err = ENOMEM;
		send_response(&resp, -1);
		return;
	}
	char *p = payload + off, *end = payload + req->payload_len;
	for (size_t i = 0; i < n_strings; i++) {
		char *z = p < end ? memchr(p, '\0', (size_t)(end - p)) : NULL;
		if (z == NULL) {
			free(strings);
			resp.err = EINVAL;
			send_response(&resp, -1);
			return;
		}
		strings[i] = p;
		p = z + 1;
	}
	char *cwd = strings[0];
	char **paths = strings + 1;
	char **argv = malloc(((size_t)req->argc + 1) * sizeof(char *));
	char **envp = malloc(((size_t)req->envc + 1) * sizeof(char *));
	if (argv == NULL || envp == NULL) {
		free(strings), free(argv), free(envp);
		resp.err = ENOMEM;
		send_response(&resp, -1);
		return;
	}
	memcpy(argv, paths + req->n_paths, req->argc * sizeof(char *));
	argv[req->argc] = NULL;
	memcpy(envp, paths + req->n_paths + req->argc, req->envc * sizeof(char *));
	envp[req->envc] = NULL;

	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		resp.err = errno;
	} else {
		int pidfd = -1;
		pid_t pid = clone_parent(&pidfd, &resp.clone_used, (req->flags & F_NO_CLONE3) != 0);
		if (pid == 0) {
			close(pipefd[0]);
			child(req, rl, fd_map, fds, nfds_passed, cwd, paths, argv, envp, pipefd[1]);
		}
		close(pipefd[1]);
		if (pid < 0) {
			resp.err = errno;
		} else {
			int32_t report[2];
			ssize_t n;
			while ((n = read(pipefd[0], report, sizeof(report))) < 0 && errno == EINTR)
				;
			resp.pid = pid;
			if (n == (ssize_t)sizeof(report)) {
				resp.err = report[0];
				resp.stage = report[1];
			}
			send_response(&resp, pidfd);
			close(pidfd);
			close(pipefd[0]);
			free(strings), free(argv), free(envp);
			return;
		}
		close(pipefd[0]);
	}
	free(strings), free(argv), free(envp);
	send_response(&resp, -1);
}

int main(void)
{
	/* The socket came as fd 3 through dup2, which clears close-on-exec: set it again, or every
	 * child would inherit a channel to Node (and a child writing to its fd 3 would answer
	 * in the helper's name). */
	if (fcntl(SOCK_FD, F_SETFD, FD_CLOEXEC) < 0)
		return 2;
	/* A clean slate: default dispositions and no blocked signals, whatever Node had. */
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < 32; sig++) {
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &dfl, NULL);
	}
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	for (;;) {
		struct request req;
		int fds[MAX_FDS];
		int nfds = 0;
		char control[CMSG_SPACE(sizeof(int) * MAX_FDS)];
		struct iovec iov = { .iov_base = &req, .iov_len = sizeof(req) };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
				      .msg_controllen = sizeof(control) };
		ssize_t got;
		while ((got = recvmsg(SOCK_FD, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
			;
		if (got <= 0)
			return 0; /* Node is gone */
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
				int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
				for (int i = 0; i < count && nfds < MAX_FDS; i++)
					memcpy(&fds[nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			}
		}
		if ((size_t)got < sizeof(req) && read_full(SOCK_FD, (char *)&req + got, sizeof(req) - (size_t)got) < 0)
			return 0;
		if (req.magic != MAGIC || req.payload_len > MAX_PAYLOAD || req.n_fds > MAX_FDS)
			return 2; /* not our protocol: stop rather than guess */
		char *payload = malloc(req.payload_len ? req.payload_len : 1);
		if (payload == NULL || read_full(SOCK_FD, payload, req.payload_len) < 0)
			return 0;
		handle(&req, payload, fds, nfds);
		free(payload);
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
	}
}

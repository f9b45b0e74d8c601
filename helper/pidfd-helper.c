/*
 * pidfd-helper: a small static program that starts children on Node's behalf.
 *
 * Why: at exec the kernel folds the old memory map's peak RSS into the new program's maxrss,
 * and a child made by fork, vfork or posix_spawn starts from its parent's map, so a child of a
 * 500 MB Node process reports maxRSS >= 500 MB. This helper is exec'd once (its own map is
 * about half a MiB) and creates each child with clone(CLONE_VM | CLONE_VFORK | CLONE_PARENT |
 * CLONE_PIDFD): the child runs on the helper's small map until its exec (nothing is copied,
 * and the helper learns the outcome of the exec when it resumes), its parent is Node (which
 * stays its only reaper), and the pidfd exists from the clone on. The pidfd goes back to Node
 * over the socket.
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
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
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

#define SOCK_FD 3
#define MAGIC 0x70696466u /* "pidf" */
#define MAX_FDS 250
#define MAX_PAYLOAD (64u << 20)

enum { F_DETACHED = 1, F_SETUID = 2, F_SETGID = 4 };
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
	int32_t reserved;
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

/* sched_setattr(SCHED_OTHER) with `ns` as the slice (0: the default). */
static void set_slice(uint64_t ns)
{
	struct {
		uint32_t size, policy;
		uint64_t flags;
		int32_t nice;
		uint32_t priority;
		uint64_t runtime, deadline, period;
	} attr;
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.policy = SCHED_OTHER;
	attr.nice = getpriority(PRIO_PROCESS, 0);
	attr.runtime = ns;
	(void)syscall(SYS_sched_setattr, 0, &attr, 0);
}

/* What the helper knows of its own state (inherited from Node when it started, never changed
 * since): a child is only told what differs. */
static struct {
	mode_t umask;
	struct rlimit limits[RLIM_NLIMITS];
	int have_limits[RLIM_NLIMITS];
} own;

/* Everything the child needs, on the helper's memory (CLONE_VM): the child writes only
 * `err` and `stage`, and the helper reads them once the child has exec'd or died. */
struct job {
	const struct request *req;
	const struct wire_rlimit *rl;
	const int32_t *fd_map;
	const int *fds;
	int nfds_passed;
	const char *cwd;
	char **paths, **argv, **envp;
	int err, stage;
};

static int fail(struct job *job, int stage)
{
	job->err = errno ? errno : EIO;
	job->stage = stage;
	_exit(127);
}

/* Runs in the new child, on its own stack in the helper's memory until exec (CLONE_VM |
 * CLONE_VFORK: the helper is suspended meanwhile). Sets up the state Node's child_process
 * gives a child, then execs. Raw syscalls where the C library would act for other threads. */
static int child(void *arg)
{
	struct job *job = arg;
	const struct request *req = job->req;
	int n = (int)req->n_fds;

	if ((req->flags & F_DETACHED) && syscall(SYS_setsid) < 0)
		fail(job, STAGE_SETSID);
	if (req->flags & (F_SETUID | F_SETGID))
		(void)syscall(SYS_setgroups, 0, NULL); /* as libuv: drop supplementary groups, best effort */
	if ((req->flags & F_SETGID) && syscall(SYS_setgid, req->gid) < 0)
		fail(job, STAGE_SETGID);
	if ((req->flags & F_SETUID) && syscall(SYS_setuid, req->uid) < 0)
		fail(job, STAGE_SETUID);

	if ((mode_t)req->umask != own.umask)
		umask((mode_t)req->umask);
	for (uint32_t i = 0; i < req->n_rlimits; i++) {
		const struct wire_rlimit *w = &job->rl[i];
		struct rlimit lim = { .rlim_cur = (rlim_t)w->cur, .rlim_max = (rlim_t)w->max };
		if (w->resource < RLIM_NLIMITS && own.have_limits[w->resource] &&
		    own.limits[w->resource].rlim_cur == lim.rlim_cur && own.limits[w->resource].rlim_max == lim.rlim_max)
			continue;
		(void)setrlimit((int)w->resource, &lim); /* best effort, as the parent had them */
	}

	/* Move every source above the child's stdio range first, so no dup2 below can overwrite
	 * a source that a later descriptor still needs. */
	int high[MAX_FDS];
	for (int i = 0; i < job->nfds_passed; i++) {
		high[i] = fcntl(job->fds[i], F_DUPFD_CLOEXEC, n);
		if (high[i] < 0)
			fail(job, STAGE_FDS);
	}
	for (int i = 0; i < n; i++) {
		int src = job->fd_map[i];
		if (src < 0 || src >= job->nfds_passed) {
			close(i);
		} else if (dup2(high[src], i) < 0) {
			fail(job, STAGE_FDS);
		}
	}

	/* As libuv: the child's stdio is blocking (a stream of Node's may be passed non-blocking;
	 * the flag lives on the shared open file, as it does for libuv's children). */
	for (int i = 0; i < n && i < 3; i++) {
		int flags = fcntl(i, F_GETFL);
		if (flags >= 0 && (flags & O_NONBLOCK))
			(void)fcntl(i, F_SETFL, flags & ~O_NONBLOCK);
	}

	if (job->cwd[0] != '\0' && chdir(job->cwd) < 0)
		fail(job, STAGE_CHDIR);

	set_slice(0);

	/* Signals: the helper set every disposition to default and emptied its mask at start,
	 * and the child has its own copy of both (no CLONE_SIGHAND). */

	/* As execvp: try each candidate; EACCES from one is reported only if none can run. */
	int saw_eacces = 0, final = 0;
	for (uint32_t i = 0; i < req->n_paths && final == 0; i++) {
		execve(job->paths[i], job->argv, job->envp);
		if (errno == EACCES)
			saw_eacces = 1;
		else if (errno != ENOENT && errno != ENOTDIR)
			final = errno;
	}
	errno = final ? final : saw_eacces ? EACCES : ENOENT;
	return fail(job, STAGE_EXEC);
}

/* The child's stack while it shares the helper's memory; one child at a time (CLONE_VFORK). */
static char child_stack[256 * 1024] __attribute__((aligned(16)));

/* clone(CLONE_VM | CLONE_VFORK | CLONE_PARENT | CLONE_PIDFD): no copy of the helper's map, the
 * helper resumes once the child has exec'd (or died), Node is the parent, and the pidfd
 * exists from the clone on. Returns the pid, or -1 with errno. */
static pid_t start_child(struct job *job, int *pidfd)
{
	/* The exit signal is the helper's own (SIGCHLD) under CLONE_PARENT. */
	return clone(child, child_stack + sizeof(child_stack), CLONE_VM | CLONE_VFORK | CLONE_PARENT | CLONE_PIDFD, job,
		     pidfd);
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
	char **argv = malloc(((size_t)req->argc + 1) * sizeof(char *));
	char **envp = malloc(((size_t)req->envc + 1) * sizeof(char *));
	if (argv == NULL || envp == NULL) {
		free(strings), free(argv), free(envp);
		resp.err = ENOMEM;
		send_response(&resp, -1);
		return;
	}
	char **paths = strings + 1;
	memcpy(argv, paths + req->n_paths, req->argc * sizeof(char *));
	argv[req->argc] = NULL;
	memcpy(envp, paths + req->n_paths + req->argc, req->envc * sizeof(char *));
	envp[req->envc] = NULL;

	struct job job = { req, rl, fd_map, fds, nfds_passed, strings[0], paths, argv, envp, 0, STAGE_NONE };
	int pidfd = -1;
	pid_t pid = start_child(&job, &pidfd);
	if (pid < 0) {
		resp.err = errno;
		pidfd = -1;
	} else {
		resp.pid = pid;
		resp.err = job.err;
		resp.stage = job.stage;
	}
	send_response(&resp, pidfd);
	if (pidfd >= 0)
		close(pidfd);
	free(strings), free(argv), free(envp);
}

int main(void)
{
	/* The socket came as fd 3 through dup2, which clears close-on-exec: set it again, or every
	 * child would inherit a channel to Node (and a child writing to its fd 3 would answer
	 * in the helper's name). */
	if (fcntl(SOCK_FD, F_SETFD, FD_CLOEXEC) < 0)
		return 2;
	/* A clean slate that every child inherits: default dispositions for every signal (the raw
	 * call reaches the C library's own too; an ignored signal stays ignored across exec) and
	 * no blocked signals, whatever Node had. */
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

	/* Run from a memfd, the kernel names it after the descriptor ("33"): say what it is. */
	(void)prctl(PR_SET_NAME, "pidfd-helper", 0, 0, 0);

	/* A short scheduler slice (Linux >= 6.12, EEVDF): the helper wakes when a new child has
	 * exec'd, often on the CPU that child now runs on, and without it would wait there for the
	 * child's whole first slice before it could hand the pidfd to Node. The children get the
	 * default slice back before exec. Elsewhere the call fails or is ignored: no harm done. */
	set_slice(100 * 1000);

	/* Its own umask and limits, which the children inherit unless a request says otherwise. */
	own.umask = umask(0);
	umask(own.umask);
	for (int r = 0; r < RLIM_NLIMITS; r++)
		own.have_limits[r] = getrlimit(r, &own.limits[r]) == 0;

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

/*
 * pidfd-helper: a small static program that starts children on Node's behalf.
 *
 * Why: at exec the kernel folds the old memory map's peak RSS into the new program's maxrss,
 * and a child made by fork, vfork or posix_spawn starts from its parent's map, so a child of a
 * 500 MB Node process reports maxRSS >= 500 MB. This helper is exec'd once (its own map is
 * about half a MiB) and creates each child with clone(CLONE_VM | CLONE_VFORK | CLONE_PARENT |
 * CLONE_PIDFD): the child runs on the helper's small map until its exec (nothing is copied,
 * and the helper learns the outcome of the exec when it resumes), its parent is Node (which
 * stays its only reaper), and the pidfd exists from the clone on.
 *
 * Exactly once: the first thing a new child does is send its own pid to Node over the socket,
 * with every signal still blocked (the helper blocks them all, and a child inherits its mask).
 * So whatever happens to the helper after the clone (killed, stopped, SIGINT from the
 * terminal), Node knows the child it must adopt or kill: a request either led to no child, or
 * Node learns of its child. Children get an empty mask back just before exec.
 *
 * Protocol, on a SOCK_STREAM socket at fd 3, one request at a time:
 *   request  = struct request, then `payload_len` bytes. `n_sources` descriptors ride along as
 *              SCM_RIGHTS, at most SCM_MAX_FD (253) per message: the first batch on the header
 *              (Node sends a request whose descriptors fit one batch as one message, read
 *              here header first), each later one on one byte of the payload.
 *   payload  = rlimits[n_rlimits] (struct wire_rlimit), fd_map[n_fds] (int32: index into the
 *              passed descriptors, or -1 for closed), then NUL-terminated strings: cwd, the
 *              candidate paths (n_paths), argv (argc), envp (envc).
 *   messages = struct message each: MSG_STARTED from the new child (its pid), MSG_FAILED from
 *              the child if it could not exec (errno and stage), and MSG_DONE from the helper
 *              last, with SCM_RIGHTS carrying the pidfd when there is one (a child whose exec
 *              failed is still Node's to reap). A MSG_DONE without an errno says in `stage`
 *              how the child went into the cgroup the request named (CGROUP_*), if it did.
 *
 * A cgroup (`cgroup_source`, a passed descriptor of a cgroup v2 directory): the child is made
 * in it by clone3(CLONE_INTO_CGROUP) (Linux 5.7), or, where that call is refused (an older
 * kernel, a seccomp filter, F_NO_CLONE3), it writes itself into the cgroup's `cgroup.procs`
 * before anything else it does. Either way it runs nothing outside the cgroup.
 * A request the helper cannot take (too large, too many descriptors) gets MSG_DONE with the
 * errno and no child; only a request that is not of this protocol ends the helper. EOF on the
 * socket (Node exited) ends it too.
 *
 * argv[1] "guard": the guard mode instead (guard.c), which ends what a Node that died left.
 *
 * argv[1], for tests only: a step to stop at once (SIGSTOP), so a fault can be injected there,
 * as "step" or "step:N" (at the Nth request; the first by default): "request" (before reading
 * it), "exec" (in its child, after the child sent its pid, before anything else), "reply"
 * (after its child exec'd, before MSG_DONE).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "guard.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
/* Old kernel headers (a glibc 2.17 sysroot's, say) lack the newer calls: their numbers are
 * fixed by the kernel's ABI. clone3 is 435 on every architecture; sched_setattr/getattr came
 * before the numbers were unified. */
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#if !defined(SYS_sched_setattr) || !defined(SYS_sched_getattr)
#undef SYS_sched_setattr
#undef SYS_sched_getattr
#if defined(__x86_64__)
#define SYS_sched_setattr 314
#define SYS_sched_getattr 315
#elif defined(__aarch64__)
#define SYS_sched_setattr 274
#define SYS_sched_getattr 275
#else
#error "sched_setattr's number for this architecture"
#endif
#endif

#define SOCK_FD 3
#define MAGIC 0x70696466u /* "pidf" */
/* The kernel's SCM_MAX_FD: descriptors one message can carry. */
#define BATCH 253

enum { F_DETACHED = 1, F_SETUID = 2, F_SETGID = 4, F_SETPGID = 8, F_NO_CLONE3 = 16 };
/* How a child went into its cgroup, in MSG_DONE's `stage` when it has no errno. */
enum { CGROUP_NONE = 0, CGROUP_CLONE3 = 1, CGROUP_PROCS = 2 };
/* Where a child failed before exec, for the error Node reports. */
enum {
	STAGE_NONE = 0,
	STAGE_SETSID,
	STAGE_SETGID,
	STAGE_SETUID,
	STAGE_FDS,
	STAGE_CHDIR,
	STAGE_EXEC,
	STAGE_CLONE, /* no child: the clone itself failed */
	STAGE_SETPGID,
	STAGE_REQUEST, /* no child: the request could not be taken */
	STAGE_CGROUP, /* the child could not write itself into the cgroup's cgroup.procs */
};
enum { MSG_STARTED = 1, MSG_FAILED = 2, MSG_DONE = 3 };
enum { PAUSE_NONE = 0, PAUSE_REQUEST, PAUSE_EXEC, PAUSE_REPLY };

struct request {
	uint32_t magic;
	uint32_t flags;
	uint32_t uid, gid, umask;
	uint32_t n_sources; /* descriptors passed with the request */
	int32_t cwd_source; /* the passed descriptor to fchdir to, or -1 (then the cwd string) */
	int32_t cgroup_source; /* the passed descriptor of the child's cgroup v2 directory, or -1 */
	uint32_t n_fds, n_rlimits, n_paths, argc, envc;
	uint32_t payload_len;
};

struct wire_rlimit {
	uint32_t resource, pad;
	uint64_t cur, max;
};

struct message {
	int32_t kind;  /* MSG_* */
	int32_t err;   /* 0, or the errno */
	int32_t stage; /* STAGE_* where it failed */
	int32_t pid;   /* the child, or 0 */
};

static int pause_at = PAUSE_NONE;
static unsigned long pause_request = 1, request_number;

/* Stops this process (or the calling child) at `step` once, for fault-injection tests. */
static void pause_here(int step)
{
	if (pause_at != step || request_number != pause_request)
		return;
	pause_at = PAUSE_NONE;
	(void)syscall(SYS_kill, syscall(SYS_getpid), SIGSTOP);
}

/* Sends one message on `sock`, with `pidfd` as SCM_RIGHTS when it is one. Raw syscalls: a
 * child calls this too, on the helper's memory. */
static void send_message(int sock, int kind, int err, int stage, int pid, int pidfd)
{
	struct message m = { kind, err, stage, pid };
	char control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
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
	while (syscall(SYS_sendmsg, sock, &msg, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

/* The calling thread's scheduler slice set to `ns` (0: the default), its policy, priority and nice
 * value kept: only the fair class (SCHED_OTHER, SCHED_BATCH, SCHED_IDLE) has a slice, and a
 * real-time policy is left alone. Best effort (Linux >= 6.12). */
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
	if (syscall(SYS_sched_getattr, 0, &attr, sizeof(attr), 0) != 0)
		return;
	if (attr.policy != SCHED_OTHER && attr.policy != SCHED_BATCH && attr.policy != SCHED_IDLE)
		return;
	attr.size = sizeof(attr);
	attr.flags = 0;
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

/* Where a child that failed says why: on a page shared with the helper, which the child of a
 * clone3 (its own copy of the helper's memory) writes too. */
struct outcome {
	int err, stage;
};
static struct outcome *outcome;

/* Everything the child needs, on the helper's memory (CLONE_VM, or a copy of it after clone3):
 * the child writes `*outcome`, and the helper reads it once the child has exec'd or died. */
struct job {
	const struct request *req;
	const struct wire_rlimit *rl;
	const int32_t *fd_map;
	const int *fds;
	int nfds_passed;
	int *high; /* room for nfds_passed descriptors */
	const char *cwd;
	char **paths, **argv, **envp;
	int in_cgroup; /* made in its cgroup by clone3: no cgroup.procs to write */
	int sock; /* the child's copy of the socket, kept above its stdio range */
};

static int fail(struct job *job, int stage)
{
	outcome->err = errno ? errno : EIO;
	outcome->stage = stage;
	send_message(job->sock, MSG_FAILED, outcome->err, stage, 0, -1);
	_exit(127);
}

/* Runs in the new child, on its own stack in the helper's memory until exec (CLONE_VM |
 * CLONE_VFORK: the helper is suspended meanwhile). Tells Node its pid, sets up the state Node's
 * child_process gives a child, then execs. Raw syscalls where the C library would act for other
 * threads. */
static int child(void *arg)
{
	struct job *job = arg;
	const struct request *req = job->req;
	int n = (int)req->n_fds;

	/* First, while every signal is still blocked: Node learns of this child whatever happens
	 * to the helper from here on. */
	job->sock = SOCK_FD;
	send_message(SOCK_FD, MSG_STARTED, 0, 0, (int)syscall(SYS_getpid), -1);
	pause_here(PAUSE_EXEC);

	/* Into the cgroup before anything else, where the clone could not put it there: "0" is
	 * the writer itself. */
	if (req->cgroup_source >= 0 && !job->in_cgroup) {
		int procs = (int)syscall(SYS_openat, job->fds[req->cgroup_source], "cgroup.procs", O_WRONLY | O_CLOEXEC);
		if (procs < 0 || syscall(SYS_write, procs, "0", 1) != 1)
			fail(job, STAGE_CGROUP);
		(void)syscall(SYS_close, procs);
	}

	/* The socket must outlive the dup2s below (child descriptor 3 may be one of them). */
	if (n > SOCK_FD) {
		int moved = fcntl(SOCK_FD, F_DUPFD_CLOEXEC, n);
		if (moved < 0)
			fail(job, STAGE_FDS);
		job->sock = moved;
	}

	if ((req->flags & F_DETACHED) && syscall(SYS_setsid) < 0)
		fail(job, STAGE_SETSID);
	if ((req->flags & F_SETPGID) && syscall(SYS_setpgid, 0, 0) < 0)
		fail(job, STAGE_SETPGID);
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

	/* The working directory first (a passed descriptor may be numbered inside the stdio range,
	 * and the moves below close those). */
	if (req->cwd_source >= 0) {
		if (req->cwd_source >= job->nfds_passed || fchdir(job->fds[req->cwd_source]) < 0)
			fail(job, STAGE_CHDIR);
	} else if (job->cwd[0] != '\0' && chdir(job->cwd) < 0) {
		fail(job, STAGE_CHDIR);
	}

	/* Move every source above the child's stdio range first, so no dup2 below can overwrite
	 * a source that a later descriptor still needs. */
	for (int i = 0; i < job->nfds_passed; i++) {
		job->high[i] = fcntl(job->fds[i], F_DUPFD_CLOEXEC, n);
		if (job->high[i] < 0)
			fail(job, STAGE_FDS);
	}
	for (int i = 0; i < n; i++) {
		int src = job->fd_map[i];
		if (src < 0 || src >= job->nfds_passed) {
			close(i);
		} else if (dup2(job->high[src], i) < 0) {
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

	set_slice(0);

	/* Signals: every disposition is the default (the helper set them so at start, and the
	 * child has its own copy of them, no CLONE_SIGHAND); the mask, all blocked until now,
	 * becomes empty, as libuv gives its children. A signal that was sent to the child
	 * meanwhile is delivered here, before exec. */
	sigset_t none;
	sigemptyset(&none);
	(void)syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, 8);

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

/* Set once a clone with CLONE_PIDFD was refused (a seccomp filter): Node opens the pidfd itself
 * then, from the pid the child sends (its unreaped child, so the pid cannot be reused). */
static int no_clone_pidfd;

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* Set once clone3 with CLONE_INTO_CGROUP was refused (Linux < 5.7, a seccomp filter): the
 * child writes itself into cgroup.procs from then on. */
static int no_clone3;

/* clone3(CLONE_VFORK | CLONE_PARENT | CLONE_PIDFD | CLONE_INTO_CGROUP) into the cgroup
 * `cgroup_fd`: the child starts there. Without CLONE_VM (clone3 would need a stack and a
 * return path of its own): the child runs on a copy of the helper's small map until its exec,
 * which the helper still waits for. Returns the pid (0 in the child, which never returns),
 * -1 with errno, or -2 where the call is refused here (then remembered). */
static pid_t clone3_into(struct job *job, int cgroup_fd, int *pidfd)
{
	struct {
		uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
			set_tid_size, cgroup;
	} args;
	memset(&args, 0, sizeof(args));
	args.flags = CLONE_VFORK | CLONE_PARENT | CLONE_PIDFD | CLONE_INTO_CGROUP;
	args.pidfd = (uint64_t)(uintptr_t)pidfd;
	args.cgroup = (uint64_t)cgroup_fd;
	/* The exit signal is the helper's own (SIGCHLD) under CLONE_PARENT. */
	long pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid == 0) {
		job->in_cgroup = 1;
		_exit(child(job));
	}
	if (pid > 0)
		return (pid_t)pid;
	/* Not this kernel's call or flag (ENOSYS, E2BIG, EINVAL), or a filter's refusal (EPERM). */
	if (errno == ENOSYS || errno == E2BIG || errno == EINVAL || errno == EPERM) {
		no_clone3 = 1;
		return -2;
	}
	return -1;
}

/* clone(CLONE_VM | CLONE_VFORK | CLONE_PARENT | CLONE_PIDFD): no copy of the helper's map, the
 * helper resumes once the child has exec'd (or died), Node is the parent, and the pidfd
 * exists from the clone on. With a cgroup, clone3 first (see clone3_into). Returns the pid, or
 * -1 with errno; `*how` says how the child went into its cgroup. */
static pid_t start_child(struct job *job, int *pidfd, int *how)
{
	const struct request *req = job->req;
	*how = CGROUP_NONE;
	if (req->cgroup_source >= 0) {
		*how = CGROUP_PROCS;
		if (!no_clone3 && !(req->flags & F_NO_CLONE3)) {
			pid_t pid = clone3_into(job, job->fds[req->cgroup_source], pidfd);
			if (pid != -2) {
				*how = CGROUP_CLONE3;
				return pid;
			}
		}
	}
	/* The exit signal is the helper's own (SIGCHLD) under CLONE_PARENT. */
	const int flags = CLONE_VM | CLONE_VFORK | CLONE_PARENT;
	char *top = child_stack + sizeof(child_stack);
	if (!no_clone_pidfd) {
		pid_t pid = clone(child, top, flags | CLONE_PIDFD, job, pidfd);
		if (pid >= 0 || (errno != EPERM && errno != ENOSYS && errno != EINVAL))
			return pid;
		no_clone_pidfd = 1;
	}
	*pidfd = -1;
	return clone(child, top, flags, job);
}

static void refuse(int err)
{
	send_message(SOCK_FD, MSG_DONE, err, STAGE_REQUEST, 0, -1);
}

static void handle(const struct request *req, char *payload, int *fds, int nfds_passed)
{
	struct message done = { MSG_DONE, 0, STAGE_NONE, 0 };
	/* Every count must fit the payload it indexes: a request is checked before it is used. */
	uint64_t fixed = (uint64_t)req->n_rlimits * sizeof(struct wire_rlimit) + (uint64_t)req->n_fds * sizeof(int32_t);
	if (fixed > req->payload_len || nfds_passed != (int)req->n_sources || req->cgroup_source >= nfds_passed) {
		refuse(nfds_passed != (int)req->n_sources ? EMFILE : EINVAL);
		return;
	}
	const struct wire_rlimit *rl = (const struct wire_rlimit *)payload;
	size_t off = (size_t)req->n_rlimits * sizeof(struct wire_rlimit);
	const int32_t *fd_map = (const int32_t *)(payload + off);
	off += (size_t)req->n_fds * sizeof(int32_t);

	/* Split the strings. */
	size_t n_strings = 1 + (size_t)req->n_paths + req->argc + req->envc;
	char **strings = calloc(n_strings, sizeof(char *)); /* argv and envp get arrays of their own, NULL-ended */
	char **argv = malloc(((size_t)req->argc + 1) * sizeof(char *));
	char **envp = malloc(((size_t)req->envc + 1) * sizeof(char *));
	int *high = malloc(((size_t)nfds_passed + 1) * sizeof(int));
	if (strings == NULL || argv == NULL || envp == NULL || high == NULL) {
		free(strings), free(argv), free(envp), free(high);
		refuse(ENOMEM);
		return;
	}
	char *p = payload + off, *end = payload + req->payload_len;
	for (size_t i = 0; i < n_strings; i++) {
		char *z = p < end ? memchr(p, '\0', (size_t)(end - p)) : NULL;
		if (z == NULL) {
			free(strings), free(argv), free(envp), free(high);
			refuse(EINVAL);
			return;
		}
		strings[i] = p;
		p = z + 1;
	}
	char **paths = strings + 1;
	memcpy(argv, paths + req->n_paths, req->argc * sizeof(char *));
	argv[req->argc] = NULL;
	memcpy(envp, paths + req->n_paths + req->argc, req->envc * sizeof(char *));
	envp[req->envc] = NULL;

	struct job job = { req, rl, fd_map, fds, nfds_passed, high, strings[0], paths, argv, envp, 0, SOCK_FD };
	int pidfd = -1, how = CGROUP_NONE;
	outcome->err = 0;
	outcome->stage = STAGE_NONE;
	pid_t pid = start_child(&job, &pidfd, &how);
	if (pid < 0) {
		done.err = errno;
		done.stage = STAGE_CLONE;
		pidfd = -1;
	} else {
		pause_here(PAUSE_REPLY);
		done.pid = pid;
		done.err = outcome->err;
		done.stage = outcome->err ? outcome->stage : how;
	}
	/* The child has exec'd (or failed): our copies of its descriptors go before Node hears of
	 * it, so a pipe whose only other writer is the child ends when the child does, not when the
	 * helper gets round to it (Node's 'exit' comes after the ends of such pipes). */
	for (int i = 0; i < nfds_passed; i++)
		close(fds[i]), fds[i] = -1;
	send_message(SOCK_FD, MSG_DONE, done.err, done.stage, done.pid, pidfd);
	if (pidfd >= 0)
		close(pidfd);
	free(strings), free(argv), free(envp), free(high);
}

/* Reads bytes of a request into `buf` (or discards them where `buf` is NULL), collecting the
 * descriptors that ride along into `*fds` (grown as needed; `*cap` is its room). Returns -1 on
 * EOF or a read error, else 0; `*lost` is set when descriptors were dropped (MSG_CTRUNC: this
 * process has no room for them, or no memory). */
static int recv_part(char *buf, size_t len, int **fds, int *nfds, int *cap, int *lost)
{
	char sink[4096];
	union {
		struct cmsghdr align;
		char bytes[CMSG_SPACE(sizeof(int) * BATCH)];
	} control;
	while (len > 0) {
		struct iovec iov = { .iov_base = buf ? buf : sink, .iov_len = buf ? len : (len < sizeof(sink) ? len : sizeof(sink)) };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.bytes,
				      .msg_controllen = sizeof(control.bytes) };
		ssize_t got = recvmsg(SOCK_FD, &msg, MSG_CMSG_CLOEXEC);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		if (msg.msg_flags & MSG_CTRUNC)
			*lost = 1;
		/* musl's CMSG_NXTHDR compares a signed with an unsigned length (-Wsign-compare):
		 * the warning is the C library's macro, not this code. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
#pragma GCC diagnostic pop
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			for (int i = 0; i < count; i++) {
				int fd;
				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (*nfds == *cap) {
					int grown = *cap ? *cap * 2 : BATCH;
					int *more = realloc(*fds, (size_t)grown * sizeof(int));
					if (more == NULL) {
						close(fd);
						*lost = 1;
						continue;
					}
					*fds = more;
					*cap = grown;
				}
				(*fds)[(*nfds)++] = fd;
			}
		}
		if (buf)
			buf += got;
		len -= (size_t)got;
	}
	return 0;
}

int main(int argc, char **argv)
{
	/* The socket came as fd 3 through dup2, which clears close-on-exec: set it again, or every
	 * child would inherit a channel to Node (and a child writing to its fd 3 would answer
	 * in the helper's name). */
	int guarding = argc > 1 && strcmp(argv[1], "guard") == 0;
	if (!guarding && fcntl(SOCK_FD, F_SETFD, FD_CLOEXEC) < 0)
		return 2;
	if (argc > 1 && !guarding) {
		size_t len = strcspn(argv[1], ":");
		pause_at = strncmp(argv[1], "request", len) == 0 ? PAUSE_REQUEST
			   : strncmp(argv[1], "exec", len) == 0  ? PAUSE_EXEC
			   : strncmp(argv[1], "reply", len) == 0 ? PAUSE_REPLY
								 : PAUSE_NONE;
		if (argv[1][len] == ':')
			pause_request = strtoul(argv[1] + len + 1, NULL, 10);
	}
	/* A clean slate that every child inherits: default dispositions for every signal (the raw
	 * call reaches the C library's own too; an ignored signal stays ignored across exec). */
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < 65; sig++) {
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)syscall(SYS_rt_sigaction, sig, &dfl, NULL, 8);
	}
	/* Every signal blocked: the helper sits in Node's process group and session, and must
	 * outlive what is meant for Node (SIGINT from the terminal, SIGTERM to the group, SIGHUP,
	 * SIGTSTP). It ends at EOF, when Node is gone. A new child starts with this mask too, so
	 * nothing can kill it before it has told Node its pid (see `child`). */
	sigset_t all;
	sigfillset(&all);
	(void)syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, NULL, 8);

	/* The guard (guard.c) needs no more than that mask. */
	if (guarding) {
		(void)prctl(PR_SET_NAME, "pidfd-guard", 0, 0, 0);
		return guard_main(argc, argv);
	}

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

	outcome = mmap(NULL, sizeof(*outcome), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (outcome == MAP_FAILED)
		return 2;

	int *fds = NULL, cap = 0;
	for (;;) {
		struct request req;
		int nfds = 0, lost = 0;
		request_number++;
		pause_here(PAUSE_REQUEST);
		if (recv_part((char *)&req, sizeof(req), &fds, &nfds, &cap, &lost) < 0)
			return 0; /* Node is gone */
		if (req.magic != MAGIC)
			return 2; /* not our protocol: stop rather than guess */
		/* Too large to hold here: read it to the end all the same, so the next request starts
		 * where it should, and refuse it. */
		char *payload = malloc(req.payload_len ? req.payload_len : 1);
		if (recv_part(payload, req.payload_len, &fds, &nfds, &cap, &lost) < 0)
			return 0;
		if (payload == NULL)
			refuse(ENOMEM);
		else if (lost)
			refuse(EMFILE);
		else
			handle(&req, payload, fds, nfds);
		free(payload);
		for (int i = 0; i < nfds; i++)
			if (fds[i] >= 0)
				close(fds[i]);
	}
}

/* The Node floor: the least any Node code can do for spawn + exit + a settled promise. A
 * Node-API addon (compiled by the bench script against Node's own headers, no node-gyp) that
 * posix_spawns the child, opens its pidfd, watches it with a libuv poll handle on the JS
 * thread's own event loop, and at readiness reaps it with waitid(P_PIDFD) (with rusage) and
 * calls straight into JavaScript, which resolves a promise: one wake-up, no thread, no object
 * around the child.
 *   spawn(file, arg, fd3, stdout, callback, viaSet) -> [pid, read end of its stdout pipe or -1]
 * `arg` (a string or null) is the child's one argument; `fd3` (>= 0) becomes its fd 3; with
 * `stdout` its fd 1 is a pipe whose read end is returned (close-on-exec: wrap it in a
 * net.Socket); `callback(code, maxRSSKiB)` runs once, at the exit.
 * With `viaSet` the pidfd goes into one epoll set of this addon (edge-triggered) that the poll
 * handle watches instead, as this package's own children do: the set is read (epoll_wait), the
 * pidfd taken out of it (EPOLL_CTL_DEL) and closed at the exit. What that costs is the figure
 * of "node-floor-set" beside "node-floor" (`bench/run.ts --only ... --cycles-only`). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <node_api.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

extern char **environ;

struct watch {
	uv_poll_t poll;
	napi_env env;
	napi_ref callback;
	napi_async_context context;
	int pidfd;
	/* Watched through the set (no poll handle of its own). */
	bool in_set;
};

/* The set of `viaSet` children and the one poll handle on it (made at the first such spawn). */
static int set_fd = -1;
static uv_poll_t set_poll;
/* Children in the set: the poll handle keeps the loop alive while there are any. */
static int in_set;

static void closed(uv_handle_t *handle)
{
	free(handle->data);
}

static void ready(uv_poll_t *poll, int status, int events)
{
	(void)status;
	(void)events;
	struct watch *w = poll->data;
	siginfo_t si;
	struct rusage ru;
	memset(&si, 0, sizeof si);
	if (syscall(SYS_waitid, P_PIDFD, w->pidfd, &si, WEXITED | WNOHANG, &ru) < 0 || si.si_pid == 0)
		return; /* not yet: the next readiness */
	if (w->in_set) {
		epoll_ctl(set_fd, EPOLL_CTL_DEL, w->pidfd, NULL);
		if (--in_set == 0)
			uv_unref((uv_handle_t *)&set_poll);
	}
	else
		uv_poll_stop(poll);
	close(w->pidfd);
	napi_env env = w->env;
	napi_handle_scope scope;
	napi_open_handle_scope(env, &scope);
	napi_value callback, global, argv[2], result;
	napi_get_reference_value(env, w->callback, &callback);
	napi_get_global(env, &global);
	napi_create_int32(env, si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status, &argv[0]);
	napi_create_double(env, (double)ru.ru_maxrss, &argv[1]);
	/* make_callback: the promise's reactions run before this returns, as after any I/O. */
	napi_make_callback(env, w->context, global, callback, 2, argv, &result);
	napi_close_handle_scope(env, scope);
	napi_delete_reference(env, w->callback);
	napi_async_destroy(env, w->context);
	if (w->in_set)
		free(w);
	else
		uv_close((uv_handle_t *)poll, closed);
}

/* The set turned readable: each ready child, as `ready` does for one of its own. */
static void set_ready(uv_poll_t *poll, int status, int events)
{
	(void)poll;
	struct epoll_event ev[64];
	int n = epoll_wait(set_fd, ev, 64, 0);
	for (int i = 0; i < n; i++) {
		struct watch *w = ev[i].data.ptr;
		ready(&w->poll, status, events);
	}
}

static napi_value spawn(napi_env env, napi_callback_info info)
{
	size_t argc = 6;
	napi_value args[6];
	napi_get_cb_info(env, info, &argc, args, NULL, NULL);
	char file[4096], arg[256];
	size_t len;
	napi_get_value_string_utf8(env, args[0], file, sizeof file, &len);
	napi_valuetype type;
	napi_typeof(env, args[1], &type);
	int has_arg = type == napi_string;
	if (has_arg)
		napi_get_value_string_utf8(env, args[1], arg, sizeof arg, &len);
	int fd3, out[2] = { -1, -1 };
	bool stdout_pipe, via_set = false;
	napi_get_value_int32(env, args[2], &fd3);
	napi_get_value_bool(env, args[3], &stdout_pipe);
	if (argc > 5)
		napi_get_value_bool(env, args[5], &via_set);
	if (stdout_pipe && pipe2(out, O_CLOEXEC) != 0) {
		napi_throw_error(env, NULL, "pipe2 failed");
		return NULL;
	}

	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (stdout_pipe)
		posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	else
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (fd3 >= 0)
		posix_spawn_file_actions_adddup2(&fa, fd3, 3);
	char *argv[] = { file, has_arg ? arg : NULL, NULL };
	pid_t pid;
	int err = posix_spawn(&pid, file, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (stdout_pipe)
		close(out[1]);
	if (err) {
		napi_throw_error(env, NULL, strerror(err));
		return NULL;
	}

	struct watch *w = calloc(1, sizeof *w);
	w->env = env;
	w->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	napi_create_reference(env, args[4], 1, &w->callback);
	napi_value name;
	napi_create_string_utf8(env, "nodefloor", NAPI_AUTO_LENGTH, &name);
	napi_async_init(env, NULL, name, &w->context);
	uv_loop_t *loop;
	napi_get_uv_event_loop(env, &loop);
	if (via_set) {
		if (set_fd < 0) {
			set_fd = epoll_create1(EPOLL_CLOEXEC);
			uv_poll_init(loop, &set_poll, set_fd);
			uv_poll_start(&set_poll, UV_READABLE, set_ready);
			uv_unref((uv_handle_t *)&set_poll);
		}
		w->in_set = true;
		w->poll.data = w;
		if (in_set++ == 0)
			uv_ref((uv_handle_t *)&set_poll);
		struct epoll_event e = { .events = EPOLLIN | EPOLLET, .data.ptr = w };
		epoll_ctl(set_fd, EPOLL_CTL_ADD, w->pidfd, &e);
	} else {
		uv_poll_init(loop, &w->poll, w->pidfd);
		w->poll.data = w;
		uv_poll_start(&w->poll, UV_READABLE, ready);
	}

	napi_value pair, n;
	napi_create_array_with_length(env, 2, &pair);
	napi_create_int32(env, pid, &n);
	napi_set_element(env, pair, 0, n);
	napi_create_int32(env, out[0], &n);
	napi_set_element(env, pair, 1, n);
	return pair;
}

NAPI_MODULE_INIT()
{
	napi_value fn;
	napi_create_function(env, "spawn", NAPI_AUTO_LENGTH, spawn, NULL, &fn);
	napi_set_named_property(env, exports, "spawn", fn);
	return exports;
}

//! The native binding of `pidfd`: only the napi exports. The TypeScript layer (`index.ts`,
//! `lib/`) validates arguments, names signals and shapes errors as Node does.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod error;
mod exit;
mod features;
mod guard;
mod helper;
mod hooks;
mod identity;
mod info;
mod process;
mod spawn;
mod sync;
mod sys;
mod tree;
mod watch;

use std::rc::Weak;
use std::sync::Arc;

use napi::bindgen_prelude::{Buffer, Float64ArraySlice};
use napi::Env;
use napi_derive::napi;

use error::{js_error, JsResult};
use process::Process;
pub use watch::Channel;

/// One handle on a process. Several handles may share one `Process` (a spawned one).
#[napi]
pub struct NativePidFd {
    pid: i32,
    process: Option<Arc<Process>>,
    subscription: Option<u64>,
    /// The libuv poll watcher peeking for this handle, if any.
    poll: Option<(Weak<watch::Polls>, u64)>,
    stdio: Vec<i32>,
    /// How a spawned child went into the cgroup its options named.
    cgroup_via: Option<&'static str>,
}

/// The numbers of the JS layer's exit buffer, checked to be enough.
fn slots<'a>(out: &'a mut Float64ArraySlice<'_>) -> JsResult<&'a mut [f64]> {
    let out = sys::js_numbers(out);
    if out.len() < exit::EXIT_SLOTS {
        return Err(js_error(
            "ERR_OUT_OF_RANGE",
            format!("the exit buffer needs {} numbers", exit::EXIT_SLOTS),
        ));
    }
    Ok(out)
}

fn closed() -> napi::Error<String> {
    js_error("ERR_PIDFD_CLOSED", "the pidfd is closed")
}

impl NativePidFd {
    fn new(process: Arc<Process>, stdio: Vec<i32>) -> Self {
        Self {
            pid: process.pid(),
            process: Some(process),
            subscription: None,
            poll: None,
            stdio,
            cgroup_via: None,
        }
    }

    fn live(&self) -> JsResult<&Arc<Process>> {
        self.process.as_ref().ok_or_else(closed)
    }

    /// For the calls that collect an exit: they need `waitid(P_PIDFD)`.
    fn collectable(&self, what: &str) -> JsResult<&Arc<Process>> {
        let process = self.live()?;
        if !features::get().waitid_pidfd {
            return Err(features::unsupported(what, "waitidPidfd"));
        }
        Ok(process)
    }

    /// A process cannot outlive itself: waiting for our own exit would never end.
    fn waitable(&self) -> JsResult<&Arc<Process>> {
        let process = self.collectable("wait")?;
        if process.pid() == sys::getpid() {
            return Err(js_error(
                "ERR_PIDFD_SELF",
                "This pidfd refers to the current process, which cannot wait for its own exit",
            ));
        }
        Ok(process)
    }

    fn release(&mut self) {
        if let Some((polls, key)) = self.poll.take() {
            if let Some(polls) = polls.upgrade() {
                polls.close(key);
            }
        }
        if let Some(p) = self.process.take() {
            if let Some(key) = self.subscription.take() {
                watch::unsubscribe(&p, key);
            }
        }
    }
}

impl Drop for NativePidFd {
    fn drop(&mut self) {
        self.release();
    }
}

#[napi]
impl NativePidFd {
    /// Opens a pidfd for `pid`. `reap`: collect the exit with a reaping wait.
    #[napi(factory, catch_unwind)]
    pub fn open(pid: i32, reap: bool) -> napi::Result<Self, String> {
        if !features::get().pidfd_open {
            return Err(features::unsupported("fromPid", "pidfdOpen"));
        }
        if pid <= 0 {
            return Err(js_error(
                "ERR_OUT_OF_RANGE",
                format!("The value of \"pid\" is out of range. It must be > 0. Received {pid}"),
            ));
        }
        Ok(Self::new(Process::open(pid, reap)?, Vec::new()))
    }

    /// A guard (src/guard.rs): if this process dies first, the process gets SIGKILL, and so does
    /// the process group `group` (0: none). Released with its `release()`.
    #[napi(catch_unwind)]
    pub fn guard(&self, group: i32) -> napi::Result<NativeGuard, String> {
        Ok(NativeGuard(guard::process(self.live()?, group)?))
    }

    /// Another handle on the same process, sharing its exit.
    #[napi(catch_unwind)]
    pub fn share(&self) -> napi::Result<NativePidFd, String> {
        Ok(Self::new(self.live()?.clone(), Vec::new()))
    }

    #[napi(getter, catch_unwind)]
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// How a spawned child went into the cgroup its options named: "CLONE_INTO_CGROUP" or
    /// "cgroup.procs"; null without one.
    #[napi(getter, catch_unwind)]
    pub fn cgroup_via(&self) -> Option<&'static str> {
        self.cgroup_via
    }

    /// The descriptor number, -1 once closed.
    #[napi(getter, catch_unwind)]
    pub fn fd(&self) -> i32 {
        self.process.as_ref().map_or(-1, |p| p.raw_fd())
    }

    /// The exit, if the process has ended, written into `out` (see `NativeExit::write_to`);
    /// `false` while it runs.
    #[napi(catch_unwind)]
    pub fn try_wait(&self, mut out: Float64ArraySlice<'_>) -> napi::Result<bool, String> {
        let out = slots(&mut out)?;
        let exit = self.collectable("tryWait")?.try_wait()?;
        if let Some(exit) = &exit {
            exit.write_to(out);
        }
        Ok(exit.is_some())
    }

    /// Blocks the calling thread until the process has exited (writing the exit into `out`,
    /// `true`), or `timeout_ms` has passed (`false`).
    #[napi(catch_unwind)]
    pub fn wait(
        &self,
        mut out: Float64ArraySlice<'_>,
        timeout_ms: Option<f64>,
    ) -> napi::Result<bool, String> {
        let out = slots(&mut out)?;
        let deadline = timeout_ms
            .map(|ms| std::time::Instant::now() + std::time::Duration::from_secs_f64(ms / 1000.0));
        let exit = self.waitable()?.wait(deadline)?;
        if let Some(exit) = &exit {
            exit.write_to(out);
        }
        Ok(exit.is_some())
    }

    /// Ids and credentials (see `NativeInfo`).
    #[napi(catch_unwind)]
    pub fn info(&self) -> napi::Result<info::NativeInfo, String> {
        info::info(self.live()?)
    }

    /// A new descriptor (the caller's to close) for one of the process's namespaces.
    #[napi(catch_unwind)]
    pub fn namespace(&self, kind: String) -> napi::Result<i32, String> {
        info::namespace(self.live()?, &kind)
    }

    /// A duplicate of the process's descriptor `target` (the caller's to close).
    #[napi(catch_unwind)]
    pub fn get_fd(&self, target: i32) -> napi::Result<i32, String> {
        info::get_fd(self.live()?, target)
    }

    #[napi(catch_unwind)]
    pub fn kill(&self, signal: i32) -> napi::Result<(), String> {
        let process = self.live()?;
        // A child of ours can be signalled by pid (see `Process::kill`); others need the pidfd.
        if !features::get().send_signal && !process.owned() {
            return Err(features::unsupported("kill", "sendSignal"));
        }
        Ok(process.kill(signal)?)
    }

    /// Signals the process group a spawned process leads (see `Process::kill_group`).
    #[napi(catch_unwind)]
    pub fn kill_group(&self, signal: i32) -> napi::Result<(), String> {
        Ok(self.live()?.kill_group(signal)?)
    }

    /// Asks `channel` to call back with `id` once the exit is known. `false`: it already is.
    #[napi(catch_unwind)]
    pub fn watch(&mut self, env: Env, channel: &Channel, id: u32) -> napi::Result<bool, String> {
        let process = self.waitable()?.clone();
        if let Some(old) = self.subscription.take() {
            watch::unsubscribe(&process, old);
        }
        self.subscription = watch::subscribe(&process, channel, id)?;
        if self.subscription.is_some() && self.poll.is_none() {
            self.poll = watch::peek_from_loop(&env, &process, channel);
        }
        Ok(self.subscription.is_some())
    }

    /// Our ends of the `'pipe'` stdio of a spawned process (-1 elsewhere); given out once.
    #[napi(catch_unwind)]
    pub fn take_stdio(&mut self) -> Vec<i32> {
        std::mem::take(&mut self.stdio)
    }

    /// Closes this handle. The descriptor closes once no watcher or sharing handle needs it.
    #[napi(catch_unwind)]
    pub fn close(&mut self) {
        self.release();
    }
}

/// What spawning needs from the kernel: `pidfd_open` and `waitid(P_PIDFD)`, both there from
/// Linux 5.4. The error names that kernel whichever is missing: a kernel older than 5.3 lacks
/// both, and naming pidfd_open's 5.3 would send its user to a kernel that still cannot spawn.
fn spawnable(what: &str) -> JsResult<()> {
    let f = features::get();
    let missing: Vec<&str> = [("pidfdOpen", f.pidfd_open), ("waitidPidfd", f.waitid_pidfd)]
        .into_iter()
        .filter(|&(_, present)| !present)
        .map(|(name, _)| name)
        .collect();
    if !missing.is_empty() {
        return Err(features::unsupported_all(
            what,
            features::needs("waitidPidfd"),
            &missing,
        ));
    }
    Ok(())
}

/// Starts a program (see `NativeSpawnOptions`) and returns a handle on it. `channel`: the
/// calling environment's, whose event loop then collects the child where it can.
#[napi(catch_unwind)]
pub fn spawn(
    options: spawn::NativeSpawnOptions,
    channel: Option<&Channel>,
) -> napi::Result<NativePidFd, String> {
    spawnable("spawn")?;
    let (process, stdio, cgroup_via) = spawn::spawn(options, channel)
        .map_err(error::SysError::in_spawn)?
        .into_raw_stdio();
    let mut handle = NativePidFd::new(process, stdio);
    handle.cgroup_via = cgroup_via.map(helper::CgroupVia::name);
    Ok(handle)
}

/// Runs a program to its end on this thread (see `sync.rs`): `input` goes to its stdin pipe,
/// its output pipes are read, and its exit comes with rusage. Never runs the event loop.
#[napi(catch_unwind)]
pub fn spawn_sync(
    options: spawn::NativeSpawnOptions,
    sync: sync::NativeSyncOptions,
    input: Option<Buffer>,
) -> napi::Result<sync::NativeSyncResult, String> {
    spawnable("spawnSync")?;
    Ok(sync::spawn_sync(options, sync, input.as_deref())?)
}

/// Sends `bytes` on the IPC socket `sock` with the descriptor `fd` as SCM_RIGHTS, not waiting:
/// the count of bytes the socket took (EAGAIN when none).
#[napi(catch_unwind)]
pub fn ipc_send_handle(sock: i32, bytes: Buffer, fd: i32) -> napi::Result<u32, String> {
    let sent = sys::send_with_fd(sock, &bytes, fd).map_err(error::at("sendmsg"))?;
    Ok(sent as u32)
}

/// A copy of the descriptor `fd` (close-on-exec), which the caller owns: the IPC channel opens
/// one to learn the class of Node's pipe handles, whose IPC kind it then builds on `fd`.
#[napi(catch_unwind)]
pub fn ipc_dup(fd: i32) -> napi::Result<i32, String> {
    use std::os::fd::IntoRawFd;
    let copy = sys::dup_cloexec_at_least(fd, 3).map_err(error::at("fcntl"))?;
    Ok(copy.into_raw_fd())
}

/// The spawn helper's pid while it runs (it starts with the first spawn).
#[napi(catch_unwind)]
pub fn spawn_helper_pid() -> Option<i32> {
    helper::pid()
}

/// What this process must not leave behind if it dies first (src/guard.rs): set off by its
/// death, however it comes, unless released.
#[napi]
pub struct NativeGuard(guard::Guard);

#[napi]
impl NativeGuard {
    /// Cleaned up: the guard ends doing nothing.
    #[napi(catch_unwind)]
    pub fn release(&mut self) {
        self.0.release()
    }
}

/// A guard of the cgroup v2 directory `path`: everything in it gets SIGKILL and it is removed.
#[napi(catch_unwind)]
pub fn guard_cgroup(path: String) -> napi::Result<NativeGuard, String> {
    Ok(NativeGuard(guard::cgroup(&path)?))
}

/// The package's own tests only (src/hooks.rs): a pause for the next spawn helper
/// (`request|exec|reply[:N]`) and the helper deadline in ms. Not reachable from the package's
/// exports, nor from the environment.
#[napi(catch_unwind)]
pub fn set_test_hooks(pause: Option<String>, deadline_ms: Option<u32>) -> napi::Result<(), String> {
    hooks::set(pause, deadline_ms).map_err(|e| js_error("ERR_INVALID_ARG_VALUE", e))
}

/// Where the cgroup v2 path `path` (a `0::` line of /proc/<pid>/cgroup) is under this process's
/// cgroup2 mounts (/proc/self/mountinfo): the mount that holds it and its directory there.
#[napi(catch_unwind)]
pub fn cgroup2_place(path: String) -> info::Cgroup2Place {
    info::cgroup2_place_here(&path)
}

/// Whether this kernel has what the package needs: `pidfd_open` and `waitid(P_PIDFD)`
/// (Linux ≥ 5.4), and a pidfd in an epoll set, not blocked by seccomp. Detected once.
#[napi(catch_unwind)]
pub fn is_supported() -> bool {
    let f = features::get();
    f.pidfd_open && f.waitid_pidfd && features::epoll_usable()
}

/// What this kernel offers (detected once; `PIDFD_DISABLE` pretends some is missing).
#[napi(catch_unwind)]
pub fn features() -> features::NativeFeatures {
    features::get()
}

/// Makes this process a child subreaper (or stops it): descendants orphaned by their parents are
/// reparented here, where `reapOrphans` collects them.
#[napi(catch_unwind)]
pub fn set_child_subreaper(on: bool) -> napi::Result<(), String> {
    Ok(tree::set_subreaper(on)?)
}

/// This process's children that the package did not spawn (and not its spawn helper).
#[napi(catch_unwind)]
pub fn orphans() -> Vec<i32> {
    tree::orphans()
}

/// Reaps the orphans that have exited, with their rusage.
#[napi(catch_unwind)]
pub fn reap_orphans() -> napi::Result<Vec<tree::NativeOrphan>, String> {
    Ok(tree::reap_orphans()?)
}

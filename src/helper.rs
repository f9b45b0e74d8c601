//! The spawn helper's client. The helper (`helper/pidfd-helper.c`, built by build.rs, shipped as
//! the `pidfd-helper` file beside the `.node`) is exec'd once per process from a memfd holding a
//! copy of that file (or from the file itself where memfd exec is refused) and creates each child with
//! `clone(CLONE_VM | CLONE_VFORK | CLONE_PARENT | CLONE_PIDFD)`: the child's parent is this
//! process, its accounting starts from the helper's half-MiB map instead of Node's, and its
//! pidfd comes back here once it has exec'd.
//! Every request carries this process's state at that moment (cwd, umask, rlimits), as a
//! `child_process` child gets it; what a request cannot carry (credentials, capabilities, nice,
//! policy, cgroup: see `identity`) makes a new helper when it changes.
//!
//! Under faults: every exchange has a deadline (`PIDFD_HELPER_DEADLINE`, ms). A helper that
//! misses it is killed. A request goes to a new helper only when it provably made no child
//! (the child's first act is to send its pid here, so a child exists only if its pid came);
//! a child whose pid came is adopted, or killed if it never reached its exec. A shortage
//! (EMFILE, EAGAIN, ENOMEM) is this call's error; only a refusal (no way to run the helper, a
//! clone that seccomp forbids) is remembered.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::error::SysError;
use crate::identity::{self, Identity};
use crate::process::{lock, Process};
use crate::{features, hooks, sys, watch};

const MAGIC: u32 = 0x7069_6466;
const F_DETACHED: u32 = 1;
const F_SETUID: u32 = 2;
const F_SETGID: u32 = 4;
const F_SETPGID: u32 = 8;
const F_NO_CLONE3: u32 = 16;
/// The request header: 14 `u32`s (`struct request`).
const HEADER: usize = 14 * 4;

const MSG_STARTED: i32 = 1;
const MSG_FAILED: i32 = 2;
const MSG_DONE: i32 = 3;
/// The helper's STAGE_* where no child was made.
const STAGE_CLONE: i32 = 7;
const STAGE_REQUEST: i32 = 9;

/// Where the child starts.
pub enum Cwd<'a> {
    /// This process's working directory: `sources[i]` is a descriptor of it.
    Inherit(usize),
    Path(&'a CStr),
}

pub struct Request<'a> {
    pub paths: &'a [CString],
    pub argv: &'a [CString],
    pub envp: &'a [CString],
    pub cwd: Cwd<'a>,
    /// Descriptors handed to the helper; `fd_map[i]` indexes them for child descriptor `i`.
    pub sources: &'a [BorrowedFd<'a>],
    pub fd_map: &'a [i32],
    pub detached: bool,
    pub process_group: bool,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// `sources[i]` is the cgroup v2 directory the child must start in.
    pub cgroup: Option<usize>,
}

/// How a child went into the cgroup its request named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CgroupVia {
    /// `clone3(CLONE_INTO_CGROUP)`: it was made there (Linux 5.7).
    Clone3,
    /// It wrote itself into `cgroup.procs` before anything else (clone3 refused here).
    Procs,
}

impl CgroupVia {
    pub fn name(self) -> &'static str {
        match self {
            CgroupVia::Clone3 => "CLONE_INTO_CGROUP",
            CgroupVia::Procs => "cgroup.procs",
        }
    }
}

/// A child the helper made (its exec may have failed: it is still ours to reap).
pub struct Reply {
    pub pid: i32,
    /// `None` where the clone could not make one (then the pid is opened here), or where this
    /// process had no room for it.
    pub pidfd: Option<OwnedFd>,
    /// `(errno, stage)` when the child could not exec.
    pub error: Option<(i32, i32)>,
    /// How it went into its cgroup, where the request named one.
    pub cgroup: Option<CgroupVia>,
}

/// Where a child failed before exec (the helper's STAGE_* values).
pub fn stage_name(stage: i32) -> &'static str {
    match stage {
        1 => "setsid",
        2 => "setgid",
        3 => "setuid",
        4 => "dup2",
        5 => "chdir",
        8 => "setpgid",
        10 => "cgroup.procs",
        _ => "execve",
    }
}

struct Helper {
    sock: OwnedFd,
    process: Arc<Process>,
    /// What its children inherit from it: this process's identity when it started (`None`:
    /// not known then; replaced at the first spawn that can read it).
    identity: Option<Identity>,
}

impl Helper {
    /// Ends the helper: SIGKILL (even stopped), then the package's reaper collects it.
    fn kill(self) {
        let _ = self.process.kill(libc::SIGKILL);
        HELPER_PID.store(0, Ordering::Relaxed);
    }
}

enum State {
    NotStarted,
    Running(Helper),
    /// Cannot run here (no memfd exec and no helper file, or a clone seccomp refuses): spawn
    /// in-process from now on.
    Unavailable,
}

/// The helper's pid while it runs, 0 otherwise.
static HELPER_PID: AtomicI32 = AtomicI32::new(0);

/// The helper's pid, if it runs.
pub fn pid() -> Option<i32> {
    Some(HELPER_PID.load(Ordering::Relaxed)).filter(|&p| p > 0)
}

/// One caller at a time talks to the helper; a caller waits for its turn only until its
/// deadline (a worker must not queue for ever behind a helper that is stopped).
struct Turn {
    state: Mutex<Option<State>>,
    free: Condvar,
}

fn turn() -> &'static Turn {
    static TURN: OnceLock<Turn> = OnceLock::new();
    TURN.get_or_init(|| Turn {
        state: Mutex::new(Some(State::NotStarted)),
        free: Condvar::new(),
    })
}

/// The state, taken out for the caller's turn; put back by `Drop`.
struct Held(Option<State>);

impl Held {
    fn take(deadline: Instant) -> Result<Self, SysError> {
        let turn = turn();
        let mut slot = lock(&turn.state);
        loop {
            if let Some(state) = slot.take() {
                return Ok(Held(Some(state)));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(timed_out("was busy with another spawn"));
            }
            slot = turn
                .free
                .wait_timeout(slot, left)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }

    fn state(&mut self) -> &mut State {
        self.0.get_or_insert(State::NotStarted)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let turn = turn();
        *lock(&turn.state) = Some(self.0.take().unwrap_or(State::NotStarted));
        turn.free.notify_one();
    }
}

fn timed_out(what: &str) -> SysError {
    SysError::new("spawn", libc::ETIMEDOUT).with_detail(format!(
        "the spawn helper {what} for {} ms",
        hooks::helper_deadline().as_millis()
    ))
}

/// What one exchange with the helper came to.
enum Outcome {
    /// The helper answered.
    Done(Reply),
    /// No child was made: the request may go to another helper.
    NoChild(SysError),
    /// The helper failed after a child sent its pid; this is what became of that child.
    Child(Result<Reply, SysError>),
}

/// Asks the helper for a child. `Ok(None)`: there is no helper here; spawn in-process.
pub fn spawn(req: &Request<'_>) -> Result<Option<Reply>, SysError> {
    let deadline = hooks::helper_deadline();
    // Who a child of this thread would be now, and the umask it would get.
    let (identity, umask) = identity::current();
    let mut held = Held::take(Instant::now() + deadline)?;
    // A second helper only when the first provably made no child: a program runs at most once.
    for attempt in 0..2 {
        let state = held.state();
        // A helper started by someone else than this thread is now (credentials dropped, nice
        // raised, another cgroup) would give the child its old self: start one anew.
        if matches!((&*state, &identity), (State::Running(h), Some(now)) if h.identity.as_ref() != Some(now))
        {
            if let State::Running(old) = std::mem::replace(state, State::NotStarted) {
                old.kill();
            }
        }
        if matches!(state, State::NotStarted) {
            match start(identity.as_ref()) {
                Ok(Some(helper)) => *state = State::Running(helper),
                Ok(None) => *state = State::Unavailable,
                // A shortage: this call fails, the next one tries again.
                Err(e) => return Err(e),
            }
        }
        let State::Running(helper) = state else {
            return Ok(None);
        };
        let outcome = exchange(helper, req, umask, Instant::now() + deadline);
        let replace = !matches!(outcome, Outcome::Done(_));
        if replace {
            if let State::Running(helper) = std::mem::replace(state, State::NotStarted) {
                helper.kill();
            }
        }
        match outcome {
            Outcome::Done(reply) if reply.pid > 0 => return Ok(Some(reply)),
            Outcome::Done(Reply { error, .. }) => {
                let (errno, stage) = error.unwrap_or((libc::EIO, STAGE_REQUEST));
                // The clone itself is refused here (seccomp): remembered, spawn in-process.
                if stage == STAGE_CLONE && matches!(errno, libc::EPERM | libc::ENOSYS) {
                    if let State::Running(helper) = std::mem::replace(state, State::Unavailable) {
                        helper.kill();
                    }
                    return Ok(None);
                }
                return Err(SysError::new("spawn", errno));
            }
            Outcome::NoChild(e) if attempt == 0 => drop(e),
            Outcome::NoChild(e) => return Err(e),
            Outcome::Child(result) => return result.map(Some),
        }
    }
    Err(SysError::new("spawn", libc::EIO))
}

/// Whether a failure to start the helper is a shortage that may be gone at the next call.
fn transient(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::EAGAIN | libc::ENOMEM | libc::ENOBUFS)
    )
}

/// Runs the helper program with `argv`, `child_fds[i]` as its descriptor `i` (each close-on-exec
/// and numbered past them), in a session of its own with `setsid`. It ships once, as a file
/// beside the `.node`: a memfd copy of it runs (so a package folder mounted noexec, or a file
/// that lost its mode, still serves), the file itself where memfd exec is refused. `Ok(None)`:
/// it cannot run here at all; `Err`: a shortage now (descriptors, processes, memory).
pub fn run_program(
    argv: &[CString],
    child_fds: &[Option<BorrowedFd<'_>>],
    setsid: bool,
) -> io::Result<Option<i32>> {
    let run = |path: &CStr| {
        sys::posix_spawn(&sys::SpawnRequest {
            path,
            argv,
            envp: &[],
            cwd: None,
            child_fds,
            setsid,
            setpgid: false,
        })
    };
    let mut shortage = None;
    let mut note = |e: io::Error| {
        if transient(&e) {
            shortage.get_or_insert(e);
        }
    };
    let file = sys::own_module_path().and_then(|m| Some(m.parent()?.join("pidfd-helper")));
    if let (Some(file), true) = (&file, features::switches().spawn_memfd) {
        match std::fs::read(file).and_then(|exe| {
            let memfd = sys::memfd_create_exec(c"pidfd-helper")?;
            sys::write_all(memfd.as_fd(), &exe)?;
            let path = format!("/proc/self/fd/{}", memfd.as_raw_fd());
            run(&CString::new(path).map_err(io::Error::other)?)
        }) {
            Ok(pid) => return Ok(Some(pid)),
            Err(e) => note(e),
        }
    }
    if let Some(file) = file {
        match CString::new(file.into_os_string().into_encoded_bytes())
            .map_err(io::Error::other)
            .and_then(|path| run(&path))
        {
            Ok(pid) => return Ok(Some(pid)),
            Err(e) => note(e),
        }
    }
    shortage.map_or(Ok(None), Err)
}

/// Starts a helper. `Ok(None)`: it cannot run here at all (remembered by the caller); `Err`:
/// a shortage now (descriptors, processes, memory), for this call only.
fn start(identity: Option<&Identity>) -> Result<Option<Helper>, SysError> {
    // A seccomp filter that refuses what the exchange needs would fail every spawn, with EPIPE:
    // in-process instead, where those calls are not made.
    if sys::helper_calls_refused().is_some() {
        return Ok(None);
    }
    let short = |syscall: &'static str| {
        move |e: io::Error| {
            SysError::from_io(syscall, e).with_detail("could not start the spawn helper")
        }
    };
    let (ours, theirs) = sys::socketpair().map_err(short("socketpair"))?;
    let null = sys::open_dev_null().map_err(short("open"))?;
    let fds = [null.as_fd(), null.as_fd(), null.as_fd(), theirs.as_fd()]
        .iter()
        .map(|fd| sys::dup_cloexec_at_least(fd.as_raw_fd(), 4))
        .collect::<io::Result<Vec<_>>>()
        .map_err(short("dup"))?;
    let child_fds: Vec<_> = fds.iter().map(|f| Some(f.as_fd())).collect();
    let mut argv = vec![c"pidfd-helper".to_owned()];
    argv.extend(hooks::take_pause());
    let Some(pid) = run_program(&argv, &child_fds, false).map_err(short("posix_spawn"))? else {
        return Ok(None);
    };

    // The helper is our child like any other: reaped by the package when it ends.
    let pidfd = match sys::pidfd_open(pid) {
        Ok(fd) => fd,
        Err(e) => {
            crate::spawn::abandon(pid);
            return Err(short("pidfd_open")(e));
        }
    };
    let process = Process::adopt(pid, pidfd);
    watch::start_reaper(&process, None);
    HELPER_PID.store(pid, Ordering::Relaxed);
    Ok(Some(Helper {
        sock: ours,
        process,
        identity: identity.cloned(),
    }))
}

fn push_u32(buf: &mut Vec<u8>, v: u32) {
    buf.extend_from_slice(&v.to_ne_bytes());
}

/// The request as bytes: `struct request`, then the payload.
fn encode(req: &Request<'_>, umask: u32) -> Result<Vec<u8>, SysError> {
    let limits = sys::rlimits();
    let mut payload = Vec::new();
    for (resource, cur, max) in &limits {
        push_u32(&mut payload, *resource);
        push_u32(&mut payload, 0);
        payload.extend_from_slice(&cur.to_ne_bytes());
        payload.extend_from_slice(&max.to_ne_bytes());
    }
    for &i in req.fd_map {
        payload.extend_from_slice(&i.to_ne_bytes());
    }
    let (cwd, cwd_source) = match req.cwd {
        Cwd::Inherit(i) => (c"", i as i32),
        Cwd::Path(path) => (path, -1),
    };
    let strings = std::iter::once(cwd)
        .chain(req.paths.iter().map(CString::as_c_str))
        .chain(req.argv.iter().map(CString::as_c_str))
        .chain(req.envp.iter().map(CString::as_c_str));
    for s in strings {
        payload.extend_from_slice(s.to_bytes_with_nul());
    }

    let mut flags = 0;
    for (on, flag) in [
        (req.detached, F_DETACHED),
        (req.process_group, F_SETPGID),
        (req.uid.is_some(), F_SETUID),
        (req.gid.is_some(), F_SETGID),
        // Where CLONE_INTO_CGROUP is missing (or turned off): cgroup.procs from the start.
        (!features::get().clone_into_cgroup, F_NO_CLONE3),
    ] {
        if on {
            flags |= flag;
        }
    }
    // Beyond 4 GiB the header cannot say it; the kernel's own limit (6 MiB of arguments and
    // environment) is far below, so this is the error execve would give.
    let len = |n: usize| u32::try_from(n).map_err(|_| SysError::new("spawn", libc::E2BIG));
    let mut message = Vec::with_capacity(HEADER + payload.len());
    for v in [
        MAGIC,
        flags,
        req.uid.unwrap_or(0),
        req.gid.unwrap_or(0),
        umask,
        len(req.sources.len())?,
        cwd_source as u32,
        req.cgroup.map_or(-1, |i| i as i32) as u32,
        len(req.fd_map.len())?,
        len(limits.len())?,
        len(req.paths.len())?,
        len(req.argv.len())?,
        len(req.envp.len())?,
        len(payload.len())?,
    ] {
        push_u32(&mut message, v);
    }
    message.extend_from_slice(&payload);
    Ok(message)
}

/// The messages of one exchange, as they arrive.
#[derive(Default)]
struct Heard {
    /// The child's pid, from its own first message.
    started: Option<i32>,
    /// The child could not exec: `(errno, stage)`.
    failed: Option<(i32, i32)>,
    /// The helper's final word: `(errno, stage, pid)` and the pidfd.
    done: Option<((i32, i32, i32), Option<OwnedFd>)>,
    /// Both ends of the socket but ours are closed: the helper is gone, and any child of this
    /// request has exec'd or died.
    eof: bool,
}

impl Heard {
    /// Reads messages until the helper's last one, EOF, or the deadline (`ETIMEDOUT`).
    fn listen(&mut self, sock: BorrowedFd<'_>, deadline: Instant) -> io::Result<()> {
        let mut buf = [0u8; 64];
        let mut have = 0;
        while self.done.is_none() && !self.eof {
            let got = match sys::recv_until(sock, &mut buf[have..], deadline) {
                // The helper died with our request unread: every holder of its end is gone.
                Err(e) if e.raw_os_error() == Some(libc::ECONNRESET) => {
                    self.eof = true;
                    break;
                }
                other => other?,
            };
            if got.len == 0 {
                self.eof = true;
                break;
            }
            have += got.len;
            let mut fd = got.fd;
            let mut at = 0;
            while have - at >= 16 {
                let field = |i: usize| {
                    let mut b = [0u8; 4];
                    b.copy_from_slice(&buf[at + i * 4..at + i * 4 + 4]);
                    i32::from_ne_bytes(b)
                };
                let (kind, err, stage, pid) = (field(0), field(1), field(2), field(3));
                match kind {
                    MSG_STARTED => self.started = Some(pid),
                    MSG_FAILED => self.failed = Some((err, stage)),
                    MSG_DONE => self.done = Some(((err, stage, pid), fd.take())),
                    _ => return Err(io::Error::from_raw_os_error(libc::EPROTO)),
                }
                at += 16;
            }
            buf.copy_within(at..have, 0);
            have -= at;
        }
        Ok(())
    }
}

fn exchange(helper: &Helper, req: &Request<'_>, umask: u32, deadline: Instant) -> Outcome {
    let message = match encode(req, umask) {
        Ok(m) => m,
        Err(e) => return Outcome::Done(refused(e.errno)),
    };
    let sock = helper.sock.as_fd();
    // One batch of descriptors rides on the whole request, sent in one message (one wake-up of
    // the helper, which reads the header first and finds them with it); more ride on the header
    // and then one payload byte each.
    let first = if req.sources.len() <= sys::FDS_PER_MESSAGE {
        message.len()
    } else {
        HEADER
    };
    if let Err(e) = sys::send_until(sock, &message, first, req.sources, deadline) {
        // Not all of the request reached the helper, so it made no child.
        return Outcome::NoChild(if e.raw_os_error() == Some(libc::ETIMEDOUT) {
            timed_out("did not take a request")
        } else {
            SysError::from_io("spawn", e).with_detail("the spawn helper is gone")
        });
    }
    let mut heard = Heard::default();
    let listened = heard.listen(sock, deadline);
    if let Some(((err, stage, pid), pidfd)) = heard.done.take() {
        return Outcome::Done(Reply {
            pid,
            pidfd,
            error: (err != 0).then_some((err, stage)),
            cgroup: cgroup_via(req, err, stage),
        });
    }

    // The helper is gone, stuck or stopped: kill it, then hear what its child (if any) says
    // until it closes its end (at exec) or a short while passes.
    let _ = helper.process.kill(libc::SIGKILL);
    if !heard.eof {
        let deadline = hooks::helper_deadline() / 4;
        let drain =
            Instant::now() + deadline.clamp(Duration::from_millis(50), Duration::from_secs(1));
        let _ = heard.listen(sock, drain);
    }
    let why = match &listened {
        Err(e) if e.raw_os_error() == Some(libc::ETIMEDOUT) => timed_out("did not answer"),
        _ => SysError::new("spawn", libc::EPIPE).with_detail("the spawn helper died"),
    };
    match heard.started {
        // Nothing was cloned for this request (a child's first act is to send its pid).
        None if heard.eof => Outcome::NoChild(why),
        // The socket is still held by someone: a child that has not said its pid is not
        // possible to find; report, without trying again.
        None => Outcome::Child(Err(why)),
        // The child exec'd (or died): it is ours, whatever became of the helper.
        Some(pid) if heard.eof => Outcome::Child(Ok(Reply {
            pid,
            pidfd: None,
            error: heard.failed,
            // The child is in its cgroup either way (one that could not get there failed, and
            // said so), but the helper's word on how is lost with it.
            cgroup: None,
        })),
        // The child never reached its exec (stopped, frozen): it ran nothing; end it.
        Some(pid) => {
            crate::spawn::abandon(pid);
            let detail = why.detail.clone().unwrap_or_default();
            Outcome::Child(Err(why.with_detail(format!(
                "{detail}; its child had not reached exec and was killed"
            ))))
        }
    }
}

fn refused(errno: i32) -> Reply {
    Reply {
        pid: 0,
        pidfd: None,
        error: Some((errno, STAGE_REQUEST)),
        cgroup: None,
    }
}

/// The helper's MSG_DONE says in `stage`, when there is no errno, how the child went into its
/// cgroup (1: clone3, 2: cgroup.procs).
fn cgroup_via(req: &Request<'_>, err: i32, stage: i32) -> Option<CgroupVia> {
    req.cgroup?;
    if err != 0 {
        return None;
    }
    Some(if stage == 1 {
        CgroupVia::Clone3
    } else {
        CgroupVia::Procs
    })
}

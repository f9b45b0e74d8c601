//! The spawn helper's client. The helper (`helper/pidfd-helper.c`, built by build.rs and
//! embedded here) is exec'd once per process from a memfd (or from a `pidfd-helper` file beside
//! the `.node` where memfd exec is refused) and creates each child with
//! `clone(CLONE_VM | CLONE_VFORK | CLONE_PARENT | CLONE_PIDFD)`: the child's parent is this
//! process, its accounting starts from the helper's half-MiB map instead of Node's, and its
//! pidfd comes back here once it has exec'd.
//! Every request carries this process's state at that moment (cwd, umask, rlimits), as a
//! `child_process` child gets it.

use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, Mutex, OnceLock};

use crate::process::{lock, Process};
use crate::{features, sys, watch};

static HELPER_EXE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/pidfd-helper"));

const MAGIC: u32 = 0x7069_6466;
const F_DETACHED: u32 = 1;
const F_SETUID: u32 = 2;
const F_SETGID: u32 = 4;

pub struct Request<'a> {
    pub paths: &'a [CString],
    pub argv: &'a [CString],
    pub envp: &'a [CString],
    pub cwd: &'a CStr,
    /// Descriptors handed to the helper; `fd_map[i]` indexes them for child descriptor `i`.
    pub sources: &'a [BorrowedFd<'a>],
    pub fd_map: &'a [i32],
    pub detached: bool,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

pub struct Reply {
    pub pid: i32,
    pub pidfd: Option<OwnedFd>,
    /// `(errno, stage)` when the child could not be created or could not exec.
    pub error: Option<(i32, i32)>,
}

/// Where a child failed before exec (the helper's STAGE_* values).
pub fn stage_name(stage: i32) -> &'static str {
    match stage {
        1 => "setsid",
        2 => "setgid",
        3 => "setuid",
        4 => "dup2",
        5 => "chdir",
        _ => "execve",
    }
}

struct Helper {
    sock: OwnedFd,
    process: Arc<Process>,
}

enum State {
    NotStarted,
    Running(Helper),
    /// Could not be started here (no memfd exec, no helper file): spawn in-process.
    Unavailable,
}

fn state() -> &'static Mutex<State> {
    static STATE: OnceLock<Mutex<State>> = OnceLock::new();
    STATE.get_or_init(|| Mutex::new(State::NotStarted))
}

/// The helper's pid, if it runs.
pub fn pid() -> Option<i32> {
    match &*lock(state()) {
        State::Running(h) => Some(h.process.pid()),
        _ => None,
    }
}

/// Asks the helper for a child. `Ok(None)`: there is no helper here; spawn in-process.
pub fn spawn(req: &Request<'_>) -> std::io::Result<Option<Reply>> {
    let mut state = lock(state());
    for attempt in 0..2 {
        if matches!(*state, State::NotStarted) {
            *state = start().map_or(State::Unavailable, State::Running);
        }
        let State::Running(helper) = &*state else {
            return Ok(None);
        };
        match exchange(helper, req) {
            Ok(reply) => return Ok(Some(reply)),
            // The helper died (killed by someone): start another once.
            Err(_) if attempt == 0 => *state = State::NotStarted,
            Err(e) => {
                *state = State::NotStarted;
                return Err(e);
            }
        }
    }
    Ok(None)
}

fn start() -> Option<Helper> {
    let (ours, theirs) = sys::socketpair().ok()?;
    let null = sys::open_dev_null().ok()?;
    let fds = [null.as_fd(), null.as_fd(), null.as_fd(), theirs.as_fd()]
        .iter()
        .map(|fd| sys::dup_cloexec_at_least(fd.as_raw_fd(), 4).ok())
        .collect::<Option<Vec<_>>>()?;
    let child_fds: Vec<_> = fds.iter().map(|f| Some(f.as_fd())).collect();
    let argv = [CString::new("pidfd-helper").ok()?];
    let run = |path: &CStr| {
        sys::posix_spawn(&sys::SpawnRequest {
            path,
            argv: &argv,
            envp: &[],
            cwd: None,
            child_fds: &child_fds,
            setsid: false,
        })
        .ok()
    };

    let memfd = features::switches()
        .spawn_memfd
        .then(|| sys::memfd_create_exec(c"pidfd-helper").ok())
        .flatten();
    let from_memfd = memfd.as_ref().and_then(|fd| {
        sys::write_all(fd.as_fd(), HELPER_EXE).ok()?;
        run(&CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()?)
    });
    let pid = from_memfd.or_else(|| {
        let beside = sys::own_module_path()?.parent()?.join("pidfd-helper");
        run(&CString::new(beside.into_os_string().into_encoded_bytes()).ok()?)
    })?;

    // The helper is our child like any other: reaped by the package when it ends.
    let pidfd = match sys::pidfd_open(pid) {
        Ok(fd) => fd,
        Err(_) => {
            sys::kill_and_reap(pid);
            return None;
        }
    };
    let process = Process::adopt(pid, pidfd);
    watch::start_reaper(&process);
    Some(Helper {
        sock: ours,
        process,
    })
}

/// This process's umask, read without changing it (Linux 4.7 shows it in /proc/self/status;
/// it sits in the first lines, so one read of a page is enough).
fn umask() -> u32 {
    use std::io::Read;
    let mut buf = [0u8; 4096];
    let n = std::fs::File::open("/proc/self/status")
        .and_then(|mut f| f.read(&mut buf))
        .unwrap_or(0);
    buf[..n]
        .split(|&b| b == b'\n')
        .find_map(|line| line.strip_prefix(b"Umask:"))
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        .unwrap_or_else(sys::umask_fallback)
}

fn push_u32(buf: &mut Vec<u8>, v: u32) {
    buf.extend_from_slice(&v.to_ne_bytes());
}

fn exchange(helper: &Helper, req: &Request<'_>) -> std::io::Result<Reply> {
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
    let strings = std::iter::once(req.cwd)
        .chain(req.paths.iter().map(CString::as_c_str))
        .chain(req.argv.iter().map(CString::as_c_str))
        .chain(req.envp.iter().map(CString::as_c_str));
    for s in strings {
        payload.extend_from_slice(s.to_bytes_with_nul());
    }

    let mut flags = 0;
    if req.detached {
        flags |= F_DETACHED;
    }
    if req.uid.is_some() {
        flags |= F_SETUID;
    }
    if req.gid.is_some() {
        flags |= F_SETGID;
    }
    let len =
        |n: usize| u32::try_from(n).map_err(|_| std::io::Error::from_raw_os_error(libc::E2BIG));
    let mut message = Vec::with_capacity(44 + payload.len());
    for v in [
        MAGIC,
        flags,
        req.uid.unwrap_or(0),
        req.gid.unwrap_or(0),
        umask(),
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

    sys::send_with_fds(helper.sock.as_fd(), &message, req.sources)?;
    let mut response = [0u8; 16];
    let Some(pidfd) = sys::recv_with_fd(helper.sock.as_fd(), &mut response)? else {
        return Err(std::io::Error::from_raw_os_error(libc::EPIPE));
    };
    let field = |i: usize| {
        let mut b = [0u8; 4];
        b.copy_from_slice(&response[i * 4..i * 4 + 4]);
        i32::from_ne_bytes(b)
    };
    let (err, stage, pid) = (field(0), field(1), field(2));
    Ok(Reply {
        pid,
        pidfd,
        error: (err != 0).then_some((err, stage)),
    })
}

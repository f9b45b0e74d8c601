//! `spawn`: start a program with `posix_spawn`, open its pidfd before anyone can reap it, and
//! register it as ours so the package reaps it (and keeps its rusage) whoever else looks at it.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, IntoRawFd, OwnedFd, RawFd};
use std::sync::Arc;

use crate::error::{at, Result, SysError};
use crate::process::Process;
use crate::sys;
use crate::watch;

/// Stdio codes as the JS layer passes them; a value `>= 0` is a descriptor of ours to hand over.
pub const STDIO_PIPE: i32 = -1;
pub const STDIO_INHERIT: i32 = -2;
pub const STDIO_IGNORE: i32 = -3;

pub struct Spawned {
    pub process: Arc<Process>,
    /// Our end of each `'pipe'` (-1 elsewhere), ours to close.
    pub stdio: Vec<RawFd>,
}

fn cstring(what: &'static str, s: String) -> Result<CString> {
    CString::new(s).map_err(|_| {
        SysError::new("spawn", libc::EINVAL).with_detail(format!("{what} contains a NUL byte"))
    })
}

/// Where `file` can be run from: itself if it has a slash, else each `PATH` entry of the
/// child's environment, as `execvp` searches.
fn candidates(file: &str, env: &[CString]) -> Vec<String> {
    if file.contains('/') {
        return vec![file.to_owned()];
    }
    let path = env
        .iter()
        .find_map(|e| e.to_bytes().strip_prefix(b"PATH="))
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".to_owned());
    path.split(':')
        .map(|dir| {
            let dir = if dir.is_empty() { "." } else { dir };
            format!("{dir}/{file}")
        })
        .collect()
}

pub fn spawn(
    file: String,
    args: Vec<String>,
    env: Vec<String>,
    cwd: Option<String>,
    stdio: Vec<i32>,
) -> Result<Spawned> {
    if file.is_empty() {
        return Err(SysError::new("spawn", libc::ENOENT));
    }
    let argv = std::iter::once(file.clone())
        .chain(args)
        .map(|a| cstring("an argument", a))
        .collect::<Result<Vec<_>>>()?;
    let envp = env
        .into_iter()
        .map(|e| cstring("an environment entry", e))
        .collect::<Result<Vec<_>>>()?;
    let cwd = cwd.map(|c| cstring("cwd", c)).transpose()?;
    if cwd.is_some() && sys::addchdir_np().is_none() {
        return Err(SysError::new("spawn", libc::ENOSYS).with_detail(
            "the cwd option needs glibc 2.29 or musl 1.1.24 (posix_spawn_file_actions_addchdir_np)",
        ));
    }

    // The watcher thread must exist before there is a child to watch.
    watch::ensure_runtime()?;

    // Every source descriptor is duplicated close-on-exec above the child's stdio range, so
    // the child's dup2s can neither clobber a later source nor leak a temporary.
    let n = stdio.len().max(3) as RawFd;
    let dup = |fd: RawFd| sys::dup_cloexec_at_least(fd, n);
    let mut ours: Vec<Option<OwnedFd>> = Vec::with_capacity(stdio.len());
    let mut sources: Vec<Option<OwnedFd>> = Vec::with_capacity(stdio.len());
    for (i, &kind) in stdio.iter().enumerate() {
        let mut parent = None;
        let source = match kind {
            STDIO_PIPE => {
                let (ours, theirs) = sys::socketpair().map_err(at("socketpair"))?;
                parent = Some(ours);
                Some(dup(theirs.as_raw_fd()).map_err(at("dup"))?)
            }
            STDIO_INHERIT => match dup(i as RawFd) {
                Ok(fd) => Some(fd),
                // A descriptor we do not have open stays closed in the child.
                Err(e) if e.raw_os_error() == Some(libc::EBADF) => None,
                Err(e) => return Err(SysError::from_io("dup", e)),
            },
            STDIO_IGNORE => {
                let null = sys::open_dev_null().map_err(at("open"))?;
                Some(dup(null.as_raw_fd()).map_err(at("dup"))?)
            }
            fd if fd >= 0 => Some(dup(fd).map_err(at("dup"))?),
            _ => return Err(SysError::new("spawn", libc::EINVAL).with_detail("bad stdio entry")),
        };
        ours.push(parent);
        sources.push(source);
    }
    let child_fds: Vec<_> = sources
        .iter()
        .map(|s| s.as_ref().map(|fd| fd.as_fd()))
        .collect();

    // As execvp: try each candidate; EACCES from one is reported if none succeeds.
    let mut saw_eacces = false;
    for path in candidates(&file, &envp) {
        let path = cstring("the file name", path)?;
        let req = sys::SpawnRequest {
            path: &path,
            argv: &argv,
            envp: &envp,
            cwd: cwd.as_deref(),
            child_fds: &child_fds,
        };
        match sys::posix_spawn(&req) {
            Ok(pid) => return adopt(pid, ours),
            Err(e) => match e.raw_os_error().unwrap_or(libc::EIO) {
                libc::ENOENT | libc::ENOTDIR => {}
                libc::EACCES => saw_eacces = true,
                errno => return Err(SysError::new("spawn", errno)),
            },
        }
    }
    Err(SysError::new(
        "spawn",
        if saw_eacces {
            libc::EACCES
        } else {
            libc::ENOENT
        },
    ))
}

/// Opens the pidfd at once: the child cannot be reaped (nor its pid reused) before we do.
fn adopt(pid: i32, ours: Vec<Option<OwnedFd>>) -> Result<Spawned> {
    let fd = match sys::pidfd_open(pid) {
        Ok(fd) => fd,
        Err(e) => {
            sys::kill_and_reap(pid);
            return Err(SysError::from_io("pidfd_open", e));
        }
    };
    let process = Process::adopt(pid, fd);
    watch::start_reaper(&process);
    let stdio = ours
        .into_iter()
        .map(|fd| fd.map_or(-1, IntoRawFd::into_raw_fd))
        .collect();
    Ok(Spawned { process, stdio })
}

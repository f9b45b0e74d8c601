//! Guards: what this process leaves when it dies without cleaning up (SIGKILL, a crash, the OOM
//! killer) is ended by a small process that outlives it, the helper program in its guard mode
//! (`helper/guard.c`). The guard holds one end of a socket pair whose other end is ours: a byte
//! releases it (we cleaned up), EOF (we are gone, however) makes it act. A socket, not a pipe:
//! the byte is sent without SIGPIPE should the guard be gone. It runs in a session of
//! its own with every signal blocked, so what is sent to our process group does not end it.

use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::Arc;

use crate::error::SysError;
use crate::process::Process;
use crate::{helper, sys, watch};

pub struct Guard {
    /// Our end of the socket pair; `None` once released.
    release: Option<OwnedFd>,
}

impl Guard {
    /// We cleaned up: the guard ends doing nothing.
    pub fn release(&mut self) {
        if let Some(fd) = self.release.take() {
            let _ = sys::send_nowait(fd.as_fd(), b"r");
        }
    }
}

impl Drop for Guard {
    /// A guard dropped unreleased (its object collected) still guards: our end of the socket stays
    /// open until this process ends, and only then does the guard act.
    fn drop(&mut self) {
        if let Some(fd) = self.release.take() {
            std::mem::forget(fd);
        }
    }
}

/// Starts a guard with `args` after `pidfd-helper guard`, `fds` as its descriptors 3, 4, ….
fn start(args: &[&CStr], fds: &[std::os::fd::BorrowedFd<'_>]) -> Result<Guard, SysError> {
    let failed = |syscall: &'static str| {
        move |e: std::io::Error| {
            SysError::from_io(syscall, e).with_detail("could not start the guard")
        }
    };
    let (write, read) = sys::socketpair().map_err(failed("socketpair"))?;
    let null = sys::open_dev_null().map_err(failed("open"))?;
    let wanted = 3 + fds.len() as i32;
    let mut sources = vec![read.as_fd(), null.as_fd(), null.as_fd()];
    sources.extend_from_slice(fds);
    let copies = sources
        .iter()
        .map(|fd| sys::dup_cloexec_at_least(fd.as_raw_fd(), wanted))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(failed("dup"))?;
    let child_fds: Vec<_> = copies.iter().map(|f| Some(f.as_fd())).collect();
    let mut argv = vec![c"pidfd-helper".to_owned(), c"guard".to_owned()];
    argv.extend(args.iter().map(|a| (*a).to_owned()));
    let pid = helper::run_program(&argv, &child_fds, true)
        .map_err(failed("posix_spawn"))?
        .ok_or_else(|| {
            SysError::new("posix_spawn", libc::ENOENT)
                .with_detail("could not start the guard: the helper program cannot run here")
        })?;
    // Our child like any other until we die: reaped by the package when it ends. Without a
    // pidfd for it (no descriptor to spare) it is ended and reaped, and there is no guard.
    match sys::pidfd_open(pid) {
        Ok(fd) => watch::start_reaper(&Process::adopt(pid, fd), None),
        Err(e) => {
            crate::spawn::abandon(pid);
            return Err(failed("pidfd_open")(e));
        }
    }
    Ok(Guard {
        release: Some(write),
    })
}

/// A guard of the cgroup v2 directory `path`: if we die first, everything in it gets SIGKILL
/// and, once it is empty, it is removed.
pub fn cgroup(path: &str) -> Result<Guard, SysError> {
    let at = |e| SysError::from_io("open", e);
    let path = std::path::Path::new(path);
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(SysError::new("open", libc::EINVAL));
    };
    let c = |p: &std::ffi::OsStr| {
        CString::new(p.as_encoded_bytes()).map_err(|_| SysError::new("open", libc::EINVAL))
    };
    let dir = sys::open_dir(&c(path.as_os_str())?).map_err(at)?;
    let parent = sys::open_dir(&c(parent.as_os_str())?).map_err(at)?;
    start(&[c"cgroup", &c(name)?], &[dir.as_fd(), parent.as_fd()])
}

/// A guard of `process`: if we die first, it gets SIGKILL, and so does the process group
/// `group` (0: none).
pub fn process(process: &Arc<Process>, group: i32) -> Result<Guard, SysError> {
    let group =
        CString::new(group.max(0).to_string()).map_err(|_| SysError::new("open", libc::EINVAL))?;
    start(&[c"process", &group], &[process.fd()])
}

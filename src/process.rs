//! One process as this package knows it: its pidfd, the rule for collecting its exit (reap or
//! peek), the cached exit once known, and the registry of processes this package spawned.

use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use crate::error::{at, Result, SysError};
use crate::exit::NativeExit;
use crate::watch::WatchState;
use crate::{features, sys};

/// How often a process that exited, and that its parent has yet to reap, is looked at again on
/// a kernel that does not announce the reap (before Linux 6.9).
pub const LINGER_MS: libc::c_int = 20;

/// Locks, ignoring poisoning: no lock here guards an invariant a panic could half-update.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub struct Process {
    pid: i32,
    fd: OwnedFd,
    /// Collect with a reaping `waitid`; otherwise peek with `WNOWAIT` and leave the reap to
    /// the parent (libuv, for a `child_process` child).
    reap: bool,
    /// Spawned by this package: registered by pid until reaped, watched until then.
    owned: bool,
    /// Boxed: a live process carries only the pointer (the record is about 250 bytes).
    exit: Mutex<Option<Box<NativeExit>>>,
    pub(crate) watch: Mutex<WatchState>,
}

/// Processes this package spawned and has not reaped yet. While a pid is here nobody else can
/// reap it (we are its parent), so the pid cannot name another process.
fn spawned() -> &'static Mutex<HashMap<i32, Arc<Process>>> {
    static SPAWNED: OnceLock<Mutex<HashMap<i32, Arc<Process>>>> = OnceLock::new();
    SPAWNED.get_or_init(Default::default)
}

/// Whether `pid` is a child this package spawned and has not reaped: its exit is the package's
/// to collect, never another reaper's.
pub fn is_spawned(pid: i32) -> bool {
    lock(spawned()).contains_key(&pid)
}

impl AsFd for Process {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Process {
    fn new(pid: i32, fd: OwnedFd, reap: bool, owned: bool) -> Arc<Self> {
        Arc::new(Self {
            pid,
            fd,
            reap,
            owned,
            exit: Mutex::new(None),
            watch: Mutex::new(WatchState::default()),
        })
    }

    /// A handle's state for `pid`. A process this package spawned is shared, so its exit (with
    /// rusage) stays ours whatever options the caller passes.
    pub fn open(pid: i32, reap: bool) -> Result<Arc<Self>> {
        if let Some(p) = lock(spawned()).get(&pid) {
            return Ok(p.clone());
        }
        let fd = sys::pidfd_open(pid).map_err(at("pidfd_open"))?;
        Ok(Self::new(pid, fd, reap, false))
    }

    /// Registers a process this package just spawned; `fd` was opened before anyone could reap it.
    pub fn adopt(pid: i32, fd: OwnedFd) -> Arc<Self> {
        let p = Self::new(pid, fd, true, true);
        lock(spawned()).insert(pid, p.clone());
        p
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    pub fn owned(&self) -> bool {
        self.owned
    }

    /// Collects with a reaping wait (otherwise peeks with `WNOWAIT`).
    pub fn reaps(&self) -> bool {
        self.reap
    }

    /// The exit, collecting it now if the process has ended; `None` while it runs.
    /// Idempotent: once known, every caller gets the cached record.
    pub fn try_wait(&self) -> Result<Option<NativeExit>> {
        let mut exit = lock(&self.exit);
        if let Some(e) = &*exit {
            return Ok(Some(NativeExit::clone(e)));
        }
        let collected = match sys::waitid_pidfd(self.fd(), self.reap) {
            Ok(None) => return Ok(None),
            Ok(Some((info, usage))) => NativeExit::from_waitid(&info, &usage),
            Err(e) if e.raw_os_error() == Some(libc::ECHILD) => match self.exit_from_kernel()? {
                Some(exit) => exit,
                None => return Ok(None),
            },
            Err(e) => return Err(SysError::from_io("waitid", e)),
        };
        *exit = Some(Box::new(collected.clone()));
        if self.owned {
            let mut map = lock(spawned());
            if map.get(&self.pid).is_some_and(|p| std::ptr::eq(&**p, self)) {
                map.remove(&self.pid);
            }
        }
        Ok(Some(collected))
    }

    /// `waitid` said ECHILD: not our child, or someone else (libuv, for a `child_process` child)
    /// reaped it. Its exit exists only once its parent has reaped it (the pidfd hangs up then);
    /// since Linux 6.15 the kernel keeps the wait-status, before that the exit is "unknown".
    fn exit_from_kernel(&self) -> Result<Option<NativeExit>> {
        if !self.reaped()? {
            return Ok(None); // running, or exited and not yet reaped by its parent
        }
        if !features::get().info_exit {
            return Ok(Some(NativeExit::unknown()));
        }
        Ok(Some(
            match sys::pidfd_get_info(self.fd(), sys::PIDFD_INFO_EXIT) {
                Ok(info) if info.mask & sys::PIDFD_INFO_EXIT != 0 => {
                    NativeExit::from_wait_status(info.exit_code)
                }
                _ => NativeExit::unknown(),
            },
        ))
    }

    /// Whether the process has been reaped (its pid released): the pidfd hangs up then (Linux
    /// 6.9); before that, its fdinfo says `Pid: -1` (Linux 5.10).
    fn reaped(&self) -> Result<bool> {
        if features::get().reap_wakeup {
            let revents = sys::poll_now(self.fd()).map_err(at("poll"))?;
            return Ok(revents & libc::POLLHUP != 0);
        }
        Ok(sys::pidfd_fdinfo_pid(self.fd()).map_err(at("read"))? == Some(-1))
    }

    /// Exited and waiting for its parent to reap it, on a kernel that will not say when that
    /// happens: the caller must look again.
    pub fn lingers(&self) -> bool {
        !self.reap
            && !features::get().reap_wakeup
            && lock(&self.exit).is_none()
            && sys::poll_now(self.fd()).is_ok_and(|r| r & libc::POLLIN != 0)
    }

    /// Blocks the calling thread until the exit is known, or `deadline` passes (`None` then).
    /// For a process that is not our child: first its exit, then its reap by its own parent.
    pub fn wait(&self, deadline: Option<std::time::Instant>) -> Result<Option<NativeExit>> {
        let mut exited = false;
        loop {
            if let Some(e) = self.try_wait()? {
                return Ok(Some(e));
            }
            // What is left of the deadline, in ms rounded up (-1: no limit).
            let left = match deadline {
                None => -1,
                Some(d) => {
                    let left = d.saturating_duration_since(std::time::Instant::now());
                    if left.is_zero() {
                        return Ok(None);
                    }
                    left.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int
                }
            };
            if exited {
                // Before Linux 6.9 the reap wakes nobody: look again at a short interval.
                let step = match (features::get().reap_wakeup, left) {
                    (true, _) => left,
                    (false, -1) => LINGER_MS,
                    (false, left) => left.min(LINGER_MS),
                };
                sys::poll_hangup(self.fd(), step).map_err(at("poll"))?;
            } else {
                exited = sys::poll_readable(self.fd(), left).map_err(at("poll"))?;
            }
        }
    }

    /// Sends `signal`, unless the exit is already known: the kernel would accept a signal to an
    /// unreaped zombie, so the cache, not the syscall, says the process is gone. The lock keeps
    /// a concurrent reap from slipping between the check and the signal.
    /// Where `pidfd_send_signal` is refused (a seccomp filter, ENOSYS), a process this package
    /// spawned gets a plain `kill`: while it is unreaped (the lock holds that), its pid cannot
    /// name another process.
    pub fn kill(&self, signal: i32) -> Result<()> {
        let exit = lock(&self.exit);
        if exit.is_some() {
            return Err(SysError::new("pidfd_send_signal", libc::ESRCH));
        }
        let sent = if features::get().send_signal {
            sys::pidfd_send_signal(self.fd(), signal)
        } else {
            Err(std::io::Error::from_raw_os_error(libc::ENOSYS))
        };
        match sent {
            Err(e)
                if self.owned && matches!(e.raw_os_error(), Some(libc::EPERM | libc::ENOSYS)) =>
            {
                sys::kill_child(self.pid, signal).map_err(at("kill"))
            }
            other => other.map_err(at("pidfd_send_signal")),
        }
    }

    /// Sends `signal` to the process group this process leads (`processGroup` or `detached`),
    /// with `kill(-pid)`: while it is our unreaped child (the lock holds that), no other process
    /// can have made a group with its pid. ESRCH once it has exited, or if it leads no group.
    pub fn kill_group(&self, signal: i32) -> Result<()> {
        let exit = lock(&self.exit);
        if exit.is_some() || !self.owned {
            return Err(SysError::new("kill", libc::ESRCH));
        }
        sys::kill_child(-self.pid, signal).map_err(at("kill"))
    }
}

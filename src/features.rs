//! What this kernel offers, detected once by trying each call on our own process. A call that
//! a seccomp filter refuses (ENOSYS, EPERM) counts as absent. `PIDFD_DISABLE=name,name` makes
//! the package behave as if the named capabilities were missing, so the fallbacks can be
//! exercised on any kernel.

use std::os::fd::{AsFd, AsRawFd};
use std::sync::OnceLock;

use napi_derive::napi;

use crate::error::js_error;
use crate::sys;

/// The capabilities, by the names `features()` reports and `PIDFD_DISABLE` takes.
#[napi(object)]
#[derive(Clone, Copy, Debug)]
pub struct NativeFeatures {
    /// `pidfd_open` (Linux 5.3).
    pub pidfd_open: bool,
    /// `waitid(P_PIDFD)` (Linux 5.4).
    pub waitid_pidfd: bool,
    /// `PIDFD_NONBLOCK` for `pidfd_open` (Linux 5.10).
    pub pidfd_nonblock: bool,
    /// `pidfd_send_signal` (Linux 5.1).
    pub send_signal: bool,
    /// `pidfd_getfd` (Linux 5.6).
    pub get_fd: bool,
    /// `ioctl(PIDFD_GET_INFO)` (Linux 6.13).
    pub get_info: bool,
    /// `PIDFD_INFO_EXIT`: the exit status of a reaped process (Linux 6.15).
    pub info_exit: bool,
    /// `ioctl(PIDFD_GET_*_NAMESPACE)` (Linux 6.11).
    pub namespaces: bool,
    /// A pidfd wakes its waiters when the process is reaped (`POLLHUP`, Linux 6.9). Without it a
    /// process that is not ours to reap is re-checked at a short interval between its exit and
    /// its reap, which the kernel does not announce.
    pub reap_wakeup: bool,
    /// `clone3(CLONE_INTO_CGROUP)` (Linux 5.7): a child made in its cgroup. Without it (or where
    /// a seccomp filter refuses clone3) the child writes itself into `cgroup.procs` before exec.
    pub clone_into_cgroup: bool,
}

/// The Linux version each capability needs, for ERR_PIDFD_UNSUPPORTED messages.
pub fn needs(feature: &str) -> &'static str {
    match feature {
        "pidfdOpen" => "Linux 5.3",
        "waitidPidfd" => "Linux 5.4",
        "pidfdNonblock" => "Linux 5.10",
        "sendSignal" => "Linux 5.1",
        "getFd" => "Linux 5.6",
        "getInfo" => "Linux 6.13",
        "infoExit" => "Linux 6.15",
        "namespaces" => "Linux 6.11",
        "reapWakeup" => "Linux 6.9",
        "cloneIntoCgroup" => "Linux 5.7",
        _ => "a newer kernel",
    }
}

/// ERR_PIDFD_UNSUPPORTED for `what`, which needs `feature`.
pub fn unsupported(what: &str, feature: &str) -> napi::Error<String> {
    unsupported_all(what, needs(feature), &[feature])
}

/// ERR_PIDFD_UNSUPPORTED for `what`, which needs `kernel` (the one that has every capability it
/// uses): it names the capabilities `missing` here, and the kernel one upgrade must reach.
pub fn unsupported_all(what: &str, kernel: &str, missing: &[&str]) -> napi::Error<String> {
    js_error(
        "ERR_PIDFD_UNSUPPORTED",
        format!(
            "{what} needs {kernel} ({}), which this kernel does not offer (or a seccomp filter refuses)",
            missing.join(" and ")
        ),
    )
}

fn disabled(name: &str) -> bool {
    std::env::var("PIDFD_DISABLE")
        .map(|list| list.split(',').any(|n| n.trim() == name))
        .unwrap_or(false)
}

/// A shortage of descriptors, processes or memory: it says nothing of the kernel.
fn shortage(errno: i32) -> bool {
    matches!(
        errno,
        libc::EMFILE | libc::ENFILE | libc::EAGAIN | libc::ENOMEM | libc::ENOBUFS
    )
}

/// A probe's answer: success, or the errno.
fn outcome<T>(result: &std::io::Result<T>) -> Result<(), i32> {
    result
        .as_ref()
        .map(drop)
        .map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))
}

/// Probes every capability. The flag says a probe met a shortage: that capability counts as
/// present for now (the call itself then reports the shortage), and nothing is remembered.
fn detect() -> (NativeFeatures, bool) {
    let mut short = false;
    let mut works = |result: Result<(), i32>| match result {
        Ok(()) => true,
        Err(errno) if shortage(errno) => {
            short = true;
            true
        }
        Err(_) => false,
    };
    let me = sys::getpid();
    let own = sys::pidfd_open(me);
    let pidfd_open = works(outcome(&own));
    let own = own.ok();
    let info = own
        .as_ref()
        .map(|fd| sys::pidfd_get_info(fd.as_fd(), sys::PIDFD_INFO_EXIT));
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut version = release
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse::<u32>().ok());
    let (major, minor) = (version.next().unwrap_or(0), version.next().unwrap_or(0));

    // Without our own pidfd (a shortage) the probes below cannot run: optimistic, unremembered.
    let mut with_own =
        |probe: &dyn Fn(std::os::fd::BorrowedFd<'_>) -> std::io::Result<()>| match &own {
            Some(fd) => works(outcome(&probe(fd.as_fd()))),
            None => pidfd_open,
        };
    // Our own process is not our child: ECHILD means P_PIDFD is understood (EINVAL: not).
    let waitid_pidfd = with_own(&|fd| match sys::waitid_pidfd(fd, false) {
        Err(e) if e.raw_os_error() == Some(libc::ECHILD) => Ok(()),
        Err(e) => Err(e),
        Ok(_) => Err(std::io::Error::from_raw_os_error(libc::EINVAL)),
    });
    let send_signal = with_own(&|fd| sys::pidfd_send_signal(fd, 0));
    let get_fd = with_own(&|fd| sys::pidfd_getfd(fd, fd.as_raw_fd()).map(drop));
    let namespaces = with_own(&|fd| sys::pidfd_namespace(fd, 10).map(drop));
    let get_info = match &info {
        Some(result) => works(outcome(result)),
        None => pidfd_open,
    };
    let pidfd_nonblock = works(outcome(&sys::pidfd_open_flags(me, libc::O_NONBLOCK)));

    let f = NativeFeatures {
        pidfd_open,
        waitid_pidfd,
        pidfd_nonblock,
        send_signal,
        get_fd,
        get_info,
        // Filled only at reap, so it cannot be probed on a live process: the kernel version
        // says, given that PIDFD_GET_INFO itself works.
        info_exit: get_info && (major, minor) >= (6, 15),
        namespaces,
        // Cannot be probed without a process to reap: the kernel version says (commit
        // 43f0df54c96f, Linux 6.9), given that pidfds work at all.
        reap_wakeup: pidfd_open && (major, minor) >= (6, 9),
        // A probe would make a child: the kernel version says, and the spawn helper remembers a
        // refusal (a seccomp filter) at the first try and falls back to cgroup.procs.
        clone_into_cgroup: (major, minor) >= (5, 7),
    };
    let features = NativeFeatures {
        pidfd_open: f.pidfd_open && !disabled("pidfdOpen"),
        waitid_pidfd: f.waitid_pidfd && !disabled("waitidPidfd"),
        pidfd_nonblock: f.pidfd_nonblock && !disabled("pidfdNonblock"),
        send_signal: f.send_signal && !disabled("sendSignal"),
        get_fd: f.get_fd && !disabled("getFd"),
        get_info: f.get_info && !disabled("getInfo"),
        info_exit: f.info_exit && !disabled("infoExit") && !disabled("getInfo"),
        namespaces: f.namespaces && !disabled("namespaces"),
        reap_wakeup: f.reap_wakeup && !disabled("reapWakeup"),
        clone_into_cgroup: f.clone_into_cgroup && !disabled("cloneIntoCgroup"),
    };
    (features, short)
}

/// The capabilities of this kernel, detected on first use and remembered once every probe
/// gave a real answer (a shortage of descriptors at the first call must not mark pidfds
/// unsupported for good).
pub fn get() -> NativeFeatures {
    static FEATURES: OnceLock<NativeFeatures> = OnceLock::new();
    if let Some(f) = FEATURES.get() {
        return *f;
    }
    let (features, short) = detect();
    if !short {
        let _ = FEATURES.set(features);
    }
    features
}

/// Whether a pidfd can be put in an epoll set, as every wait of the package needs: a seccomp
/// filter may refuse `epoll_ctl` (EPERM, ENOSYS) where pidfds themselves work. Remembered once
/// the probe gave a real answer.
pub fn epoll_usable() -> bool {
    static USABLE: OnceLock<bool> = OnceLock::new();
    if let Some(&usable) = USABLE.get() {
        return usable;
    }
    let probe = sys::pidfd_open(sys::getpid()).and_then(|own| {
        let epoll = sys::epoll_create()?;
        sys::epoll_add(epoll.as_fd(), own.as_fd(), 0)
    });
    match probe {
        Err(e) if e.raw_os_error().is_some_and(shortage) => true,
        other => *USABLE.get_or_init(|| {
            !matches!(
                other.map_err(|e| e.raw_os_error()),
                Err(Some(libc::EPERM | libc::ENOSYS))
            )
        }),
    }
}

/// The switches a test or a user can set through the environment (`NAME=0` turns one off),
/// read once: they sit on the spawn and wait paths.
pub struct Switches {
    /// `PIDFD_SPAWN_HELPER`: spawn through the helper (off: `posix_spawn` in-process).
    pub spawn_helper: bool,
    /// `PIDFD_SPAWN_MEMFD`: run the helper from a memfd (off: the file beside the `.node`).
    pub spawn_memfd: bool,
    /// `PIDFD_LOOP_PEEK`: also peek from the event loop (off: the watcher thread alone).
    pub loop_peek: bool,
    /// `PIDFD_LOOP_REAP`: a spawned child is collected by its environment's event loop, which
    /// calls JavaScript directly (off: by the watcher thread, through the channel).
    pub loop_reap: bool,
}

pub fn switches() -> &'static Switches {
    static SWITCHES: OnceLock<Switches> = OnceLock::new();
    SWITCHES.get_or_init(|| {
        let on = |name: &str| std::env::var_os(name).is_none_or(|v| v != "0");
        Switches {
            spawn_helper: on("PIDFD_SPAWN_HELPER"),
            spawn_memfd: on("PIDFD_SPAWN_MEMFD"),
            loop_peek: on("PIDFD_LOOP_PEEK"),
            loop_reap: on("PIDFD_LOOP_REAP"),
        }
    })
}

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
#[derive(Clone, Debug)]
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
        _ => "a newer kernel",
    }
}

/// ERR_PIDFD_UNSUPPORTED for `what`, which needs `feature`.
pub fn unsupported(what: &str, feature: &str) -> napi::Error<String> {
    js_error(
        "ERR_PIDFD_UNSUPPORTED",
        format!(
            "{what} needs {} ({feature}), which this kernel does not offer (or a seccomp filter refuses)",
            needs(feature)
        ),
    )
}

fn disabled(name: &str) -> bool {
    std::env::var("PIDFD_DISABLE")
        .map(|list| list.split(',').any(|n| n.trim() == name))
        .unwrap_or(false)
}

fn detect() -> NativeFeatures {
    let me = sys::getpid();
    let own = sys::pidfd_open(me).ok();
    let with_own = |probe: &dyn Fn(std::os::fd::BorrowedFd<'_>) -> bool| {
        own.as_ref().is_some_and(|fd| probe(fd.as_fd()))
    };
    let info = own
        .as_ref()
        .map(|fd| sys::pidfd_get_info(fd.as_fd(), sys::PIDFD_INFO_EXIT));
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut version = release
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse::<u32>().ok());
    let (major, minor) = (version.next().unwrap_or(0), version.next().unwrap_or(0));

    let f = NativeFeatures {
        pidfd_open: own.is_some(),
        // Our own process is not our child: ECHILD means P_PIDFD is understood (EINVAL: not).
        waitid_pidfd: with_own(
            &|fd| matches!(sys::waitid_pidfd(fd, false), Err(e) if e.raw_os_error() == Some(libc::ECHILD)),
        ),
        pidfd_nonblock: sys::pidfd_open_flags(me, libc::O_NONBLOCK).is_ok(),
        send_signal: with_own(&|fd| sys::pidfd_send_signal(fd, 0).is_ok()),
        get_fd: with_own(&|fd| sys::pidfd_getfd(fd, fd.as_raw_fd()).is_ok()),
        get_info: matches!(info, Some(Ok(_))),
        // Filled only at reap, so it cannot be probed on a live process: the kernel version
        // says, given that PIDFD_GET_INFO itself works.
        info_exit: matches!(info, Some(Ok(_))) && (major, minor) >= (6, 15),
        namespaces: with_own(&|fd| sys::pidfd_namespace(fd, 10).is_ok()),
    };
    NativeFeatures {
        pidfd_open: f.pidfd_open && !disabled("pidfdOpen"),
        waitid_pidfd: f.waitid_pidfd && !disabled("waitidPidfd"),
        pidfd_nonblock: f.pidfd_nonblock && !disabled("pidfdNonblock"),
        send_signal: f.send_signal && !disabled("sendSignal"),
        get_fd: f.get_fd && !disabled("getFd"),
        get_info: f.get_info && !disabled("getInfo"),
        info_exit: f.info_exit && !disabled("infoExit") && !disabled("getInfo"),
        namespaces: f.namespaces && !disabled("namespaces"),
    }
}

/// The capabilities of this kernel, detected on first use.
pub fn get() -> &'static NativeFeatures {
    static FEATURES: OnceLock<NativeFeatures> = OnceLock::new();
    FEATURES.get_or_init(detect)
}

/// The switches a test or a user can turn off through the environment (`NAME=0`), read once:
/// they sit on the spawn and wait paths.
pub struct Switches {
    /// `PIDFD_SPAWN_HELPER`: spawn through the helper (off: `posix_spawn` in-process).
    pub spawn_helper: bool,
    /// `PIDFD_SPAWN_MEMFD`: run the helper from a memfd (off: the file beside the `.node`).
    pub spawn_memfd: bool,
    /// `PIDFD_LOOP_PEEK`: also peek from the event loop (off: the watcher thread alone).
    pub loop_peek: bool,
}

pub fn switches() -> &'static Switches {
    static SWITCHES: OnceLock<Switches> = OnceLock::new();
    SWITCHES.get_or_init(|| {
        let on = |name: &str| std::env::var_os(name).is_none_or(|v| v != "0");
        Switches {
            spawn_helper: on("PIDFD_SPAWN_HELPER"),
            spawn_memfd: on("PIDFD_SPAWN_MEMFD"),
            loop_peek: on("PIDFD_LOOP_PEEK"),
        }
    })
}

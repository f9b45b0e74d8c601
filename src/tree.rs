//! The process tree of a command, for `pidfd time`: this process as a child subreaper, the
//! children reparented to it (orphans the command left), and their reaping with rusage. Never a
//! child this package spawned (its reaper is owed that exit) nor the spawn helper.

use std::fs;

use napi_derive::napi;

use crate::error::{at, Result};
use crate::exit::NativeExit;
use crate::{helper, process, sys};

/// An orphan reaped here, and how it ended (with its rusage).
#[napi(object)]
pub struct NativeOrphan {
    pub pid: i32,
    pub exit: NativeExit,
}

pub fn set_subreaper(on: bool) -> Result<()> {
    sys::set_child_subreaper(on).map_err(at("prctl"))
}

/// This process's children that are nobody else's to reap here: not spawned by the package
/// (nor being spawned: the registry holds a child from its birth, on the calling thread), and
/// not the spawn helper. From `/proc/self/task/*/children` (Linux 3.5, CONFIG_PROC_CHILDREN).
pub fn orphans() -> Vec<i32> {
    let helper = helper::pid();
    let mut pids = Vec::new();
    let Ok(tasks) = fs::read_dir("/proc/self/task") else {
        return pids;
    };
    for task in tasks.flatten() {
        let Ok(list) = fs::read_to_string(task.path().join("children")) else {
            continue;
        };
        for pid in list
            .split_whitespace()
            .filter_map(|p| p.parse::<i32>().ok())
        {
            if Some(pid) != helper && !process::is_spawned(pid) && !pids.contains(&pid) {
                pids.push(pid);
            }
        }
    }
    pids
}

/// Reaps every orphan that has exited, with its rusage. Each is first looked at with `WNOWAIT`
/// and checked again against the package's registry, so an exit the package is owed is never
/// taken.
pub fn reap_orphans() -> Result<Vec<NativeOrphan>> {
    let mut reaped = Vec::new();
    for pid in orphans() {
        match sys::child_exited(pid) {
            Ok(true) => {}
            Ok(false) => continue,
            // Gone meanwhile (reaped by someone else): nothing to take.
            Err(e) if e.raw_os_error() == Some(libc::ECHILD) => continue,
            Err(e) => return Err(crate::error::SysError::from_io("waitid", e)),
        }
        if process::is_spawned(pid) {
            continue;
        }
        if let Some((status, usage)) = sys::reap_child(pid).map_err(at("wait4"))? {
            let mut exit = NativeExit::from_wait_status(status);
            exit.rusage = Some((&usage).into());
            reaped.push(NativeOrphan { pid, exit });
        }
    }
    Ok(reaped)
}

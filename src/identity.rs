//! Who a child would be if this thread forked it now: credentials, supplementary groups,
//! capabilities, no_new_privs, seccomp filters, CPU affinity, cgroup, nice value and scheduling
//! policy. The spawn helper is long-lived and gives its children its own; it is replaced when
//! this differs from what it started with (a `process.setuid()`, an `os.setPriority()`, a move
//! to another cgroup), so a child starts as a `child_process` child would.

use crate::sys;

/// A snapshot, compared whole. Read on every spawn: one `/proc` read that the umask needed
/// anyway, one more for the cgroup, and two syscalls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The lines of the calling thread's `status` that a child inherits.
    status: Vec<u8>,
    cgroup: Vec<u8>,
    nice: i32,
    sched: Option<(u32, u32)>,
}

/// The `status` lines that describe what a child inherits (the thread's own view: a worker
/// spawns as itself).
const INHERITED: &[&[u8]] = &[
    b"Uid:",
    b"Gid:",
    b"Groups:",
    b"NoNewPrivs:",
    b"Seccomp:",
    b"Seccomp_filters:",
    b"CapInh:",
    b"CapPrm:",
    b"CapEff:",
    b"CapBnd:",
    b"CapAmb:",
    b"Cpus_allowed:",
];

/// The calling thread's identity (`None` where `/proc` cannot be read now, out of descriptors:
/// unknown, not changed), and its process's umask (from the same read).
pub fn current() -> (Option<Identity>, u32) {
    let Ok(status) = read_proc("/proc/thread-self/status") else {
        return (None, sys::umask_fallback());
    };
    let Ok(cgroup) = read_proc("/proc/self/cgroup") else {
        return (None, sys::umask_fallback());
    };
    let mut kept = Vec::with_capacity(512);
    let mut umask = None;
    for line in status.split(|&b| b == b'\n') {
        if let Some(v) = line.strip_prefix(b"Umask:") {
            umask = std::str::from_utf8(v)
                .ok()
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok());
        } else if INHERITED.iter().any(|p| line.starts_with(p)) {
            kept.extend_from_slice(line);
            kept.push(b'\n');
        }
    }
    let identity = Identity {
        status: kept,
        cgroup,
        nice: sys::nice(),
        sched: sys::sched_policy(),
    };
    (Some(identity), umask.unwrap_or_else(sys::umask_fallback))
}

/// A small `/proc` file, read whole in one `read` where it fits 4 KiB: `fs::read` sizes its
/// buffer from the file's size, which `/proc` reports as 0, and so reads it 32 bytes at first,
/// doubling (eight reads for `status`, on every spawn).
fn read_proc(path: &str) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::with_capacity(4096);
    std::fs::File::open(path)?.read_to_end(&mut bytes)?;
    Ok(bytes)
}

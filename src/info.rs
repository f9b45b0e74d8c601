//! Looking into a process through its pidfd: its ids and credentials (`PIDFD_GET_INFO`, or
//! `/proc` on older kernels), its namespaces, and its descriptors (`pidfd_getfd`).

use std::os::fd::{IntoRawFd, RawFd};
use std::os::unix::fs::MetadataExt;

use napi::bindgen_prelude::BigInt;
use napi_derive::napi;

use crate::error::{at, JsResult, SysError};
use crate::exit::NativeExit;
use crate::features::{self, unsupported};
use crate::process::Process;
use crate::sys;

const INFO_PID: u64 = 1;
const INFO_CREDS: u64 = 1 << 1;
const INFO_CGROUPID: u64 = 1 << 2;

/// Ids and credentials. Once the process is reaped, the ids and credentials read -1 and `exit`
/// holds its exit where the kernel keeps it (Linux 6.15).
#[napi(object)]
pub struct NativeInfo {
    pub pid: i32,
    pub tgid: i32,
    pub ppid: i32,
    pub ruid: i64,
    pub rgid: i64,
    pub euid: i64,
    pub egid: i64,
    pub suid: i64,
    pub sgid: i64,
    pub fsuid: i64,
    pub fsgid: i64,
    /// The cgroup v2 id (its directory's inode); None where it cannot be had.
    pub cgroup_id: Option<BigInt>,
    pub exit: Option<NativeExit>,
    /// `ioctl` (PIDFD_GET_INFO) or `proc` (the fallback).
    pub source: String,
}

fn gone(pid: i32, source: &str, cgroup_id: Option<BigInt>, exit: Option<NativeExit>) -> NativeInfo {
    NativeInfo {
        pid: -1,
        tgid: -1,
        ppid: -1,
        ruid: -1,
        rgid: -1,
        euid: -1,
        egid: -1,
        suid: -1,
        sgid: -1,
        fsuid: -1,
        fsgid: -1,
        cgroup_id,
        exit,
        source: format!("{source} (process {pid} reaped)"),
    }
}

pub fn info(process: &Process) -> JsResult<NativeInfo> {
    if features::get().get_info {
        from_ioctl(process)
    } else {
        from_proc(process)
    }
}

fn from_ioctl(process: &Process) -> JsResult<NativeInfo> {
    let want = INFO_PID | INFO_CREDS | INFO_CGROUPID | sys::PIDFD_INFO_EXIT;
    let i = match sys::pidfd_get_info(process.fd(), want) {
        Ok(i) => i,
        // Linux 6.13 and 6.14 answer ESRCH for a reaped process (6.15 answers with the exit):
        // the same record of -1s as elsewhere.
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {
            return Ok(gone(process.pid(), "ioctl", None, None))
        }
        Err(e) => return Err(SysError::from_io("ioctl", e).into()),
    };
    let cgroup_id = (i.mask & INFO_CGROUPID != 0).then(|| BigInt::from(i.cgroupid));
    if i.mask & INFO_PID == 0 {
        let exit =
            (i.mask & sys::PIDFD_INFO_EXIT != 0).then(|| NativeExit::from_wait_status(i.exit_code));
        return Ok(gone(process.pid(), "ioctl", cgroup_id, exit));
    }
    Ok(NativeInfo {
        pid: i.pid as i32,
        tgid: i.tgid as i32,
        ppid: i.ppid as i32,
        ruid: i.ruid.into(),
        rgid: i.rgid.into(),
        euid: i.euid.into(),
        egid: i.egid.into(),
        suid: i.suid.into(),
        sgid: i.sgid.into(),
        fsuid: i.fsuid.into(),
        fsgid: i.fsgid.into(),
        cgroup_id,
        exit: None,
        source: "ioctl".into(),
    })
}

/// The `Pid:` line of our pidfd's fdinfo: the pid in our namespace, -1 once reaped.
fn fdinfo_pid(fd: RawFd) -> Result<i32, SysError> {
    let text = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).map_err(at("open"))?;
    text.lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| {
            SysError::new("read", libc::EINVAL).with_detail("no Pid: line in the pidfd's fdinfo")
        })
}

fn ids(status: &str, key: &str) -> Option<Vec<i64>> {
    let line = status.lines().find_map(|l| l.strip_prefix(key))?;
    line.split_whitespace().map(|v| v.parse().ok()).collect()
}

/// The cgroup v2 id of `pid`: the inode of its directory, under whichever cgroup2 mount holds it
/// (found in /proc/self/mountinfo, never assumed at /sys/fs/cgroup: a hybrid host mounts v2 at
/// /sys/fs/cgroup/unified, beside v1, and its root's inode there is a tmpfs's).
fn cgroup_id_of(pid: i32) -> Option<BigInt> {
    let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let path = cgroups.lines().find_map(|l| l.strip_prefix("0::"))?;
    let dir = cgroup2_place_here(path).dir?;
    let meta = std::fs::metadata(dir).ok()?;
    Some(BigInt::from(meta.ino()))
}

/// Where a cgroup v2 path (as /proc/<pid>/cgroup names it) is: the first cgroup2 mount whose
/// root holds it and its directory there; where none does, the first cgroup2 mount, if any.
#[napi(object)]
pub struct Cgroup2Place {
    pub mount: Option<String>,
    pub dir: Option<String>,
}

/// `path`'s place among this process's cgroup2 mounts (/proc/self/mountinfo; none where it
/// cannot be read).
pub fn cgroup2_place_here(path: &str) -> Cgroup2Place {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    cgroup2_place(&mountinfo, path)
}

/// `path`'s place among the cgroup2 mounts of `mountinfo` (the text of /proc/self/mountinfo).
fn cgroup2_place(mountinfo: &str, path: &str) -> Cgroup2Place {
    let mut first = None;
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        if right.split(' ').next() != Some("cgroup2") {
            continue;
        }
        let fields: Vec<&str> = left.split(' ').collect();
        let (Some(root), Some(point)) = (fields.get(3), fields.get(4)) else {
            continue;
        };
        let (root, point) = (unescape(root), unescape(point));
        first.get_or_insert_with(|| point.clone());
        let rel = if root == "/" {
            Some(path)
        } else if path == root {
            Some("/")
        } else {
            path.strip_prefix(root.as_str())
                .filter(|rest| rest.starts_with('/'))
        };
        let Some(rel) = rel else { continue };
        // "/x (deleted)": a cgroup removed under its process cannot hold another.
        let dir = if rel == "/" {
            point.clone()
        } else {
            format!("{}{rel}", point.trim_end_matches('/'))
        };
        return Cgroup2Place {
            mount: Some(point),
            dir: Some(dir),
        };
    }
    Cgroup2Place {
        mount: first,
        dir: None,
    }
}

/// mountinfo's octal escapes (`\040` for a space).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        // Three octal digits for one byte (at most \377); anything else stays as it is.
        let escaped = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)))
            .map(|d| d.iter().fold(0u32, |n, b| n * 8 + u32::from(b - b'0')))
            .and_then(|n| u8::try_from(n).ok());
        match (bytes[i], escaped) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Without PIDFD_GET_INFO: fdinfo names the pid; `/proc/<pid>/status` is read, then fdinfo
/// again: the pid still being ours means the status was read while the process lived, so it
/// was this process's (a pid cannot be reused before its process is reaped).
fn from_proc(process: &Process) -> JsResult<NativeInfo> {
    let fd = process.raw_fd();
    let pid = fdinfo_pid(fd)?;
    if pid < 0 {
        return Ok(gone(process.pid(), "proc", None, None));
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"));
    let cgroup_id = cgroup_id_of(pid);
    if fdinfo_pid(fd)? != pid {
        return Ok(gone(process.pid(), "proc", None, None));
    }
    let status = status.map_err(at("open"))?;
    let field = |key: &str| ids(&status, key).and_then(|v| v.first().copied());
    let (uid, gid) = (ids(&status, "Uid:"), ids(&status, "Gid:"));
    let (Some(uid), Some(gid), Some(tgid), Some(ppid)) = (uid, gid, field("Tgid:"), field("PPid:"))
    else {
        return Err(SysError::new("read", libc::EINVAL)
            .with_detail(format!("/proc/{pid}/status lacks Uid, Gid, Tgid or PPid"))
            .into());
    };
    let at4 = |v: &Vec<i64>, i: usize| v.get(i).copied().unwrap_or(-1);
    Ok(NativeInfo {
        pid,
        tgid: tgid as i32,
        ppid: ppid as i32,
        ruid: at4(&uid, 0),
        euid: at4(&uid, 1),
        suid: at4(&uid, 2),
        fsuid: at4(&uid, 3),
        rgid: at4(&gid, 0),
        egid: at4(&gid, 1),
        sgid: at4(&gid, 2),
        fsgid: at4(&gid, 3),
        cgroup_id,
        exit: None,
        source: "proc".into(),
    })
}

/// The namespaces `namespace()` takes, in the order of their ioctl numbers (1 to 10).
pub const NAMESPACES: [&str; 10] = [
    "cgroup",
    "ipc",
    "mnt",
    "net",
    "pid",
    "pid_for_children",
    "time",
    "time_for_children",
    "user",
    "uts",
];

/// A close-on-exec descriptor for one of the process's namespaces, owned by the caller.
pub fn namespace(process: &Process, kind: &str) -> JsResult<RawFd> {
    let Some(index) = NAMESPACES.iter().position(|k| *k == kind) else {
        return Err(crate::error::js_error(
            "ERR_INVALID_ARG_VALUE",
            format!(
                "The argument 'kind' must be one of {}. Received '{kind}'",
                NAMESPACES.join(", ")
            ),
        ));
    };
    if features::get().namespaces {
        let ns = sys::pidfd_namespace(process.fd(), index as u32 + 1).map_err(at("ioctl"))?;
        return Ok(ns.into_raw_fd());
    }
    // /proc/<pid>/ns/<kind>, checked as in `from_proc`.
    let pid = fdinfo_pid(process.raw_fd())?;
    if pid < 0 {
        return Err(SysError::new("open", libc::ESRCH).into());
    }
    let path = std::ffi::CString::new(format!("/proc/{pid}/ns/{kind}"))
        .map_err(|_| SysError::new("open", libc::EINVAL))?;
    let ns = sys::open_cloexec(&path).map_err(at("open"))?;
    if fdinfo_pid(process.raw_fd())? != pid {
        return Err(SysError::new("open", libc::ESRCH).into());
    }
    Ok(ns.into_raw_fd())
}

/// A duplicate of descriptor `target` of the process (close-on-exec), owned by the caller.
pub fn get_fd(process: &Process, target: i32) -> JsResult<RawFd> {
    if !features::get().get_fd {
        return Err(unsupported("getFd", "getFd"));
    }
    let fd = sys::pidfd_getfd(process.fd(), target).map_err(at("pidfd_getfd"))?;
    Ok(fd.into_raw_fd())
}

//! `spawn`: start a program through the spawn helper (so its maxRSS is its own), or in-process
//! with `posix_spawn` where the helper cannot run; hold its pidfd from birth and register it as
//! ours, so the package reaps it (and keeps its rusage) whoever else looks at it.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, IntoRawFd, OwnedFd, RawFd};
use std::sync::Arc;

use napi_derive::napi;

use crate::error::{at, Result, SysError};
use crate::process::Process;
use crate::{features, helper, sys, watch};

/// Stdio codes as the JS layer passes them; a value `>= 0` is a descriptor of ours to hand over.
pub const STDIO_PIPE: i32 = -1;
pub const STDIO_INHERIT: i32 = -2;
pub const STDIO_IGNORE: i32 = -3;

/// What the JS layer resolved from `spawn(file, args, options)`.
#[napi(object)]
pub struct NativeSpawnOptions {
    /// The program, searched in the child's `PATH` unless it has a slash.
    pub file: String,
    /// The whole argv, `argv[0]` included.
    pub argv: Vec<String>,
    /// `KEY=value` entries; `None`: this process's environment (the main thread's
    /// `process.env`, which is the process's own).
    pub env: Option<Vec<String>>,
    pub cwd: Option<String>,
    /// One entry per child descriptor: -1 pipe, -2 inherit, -3 ignore, or one of ours.
    pub stdio: Vec<i32>,
    pub detached: bool,
    /// Start the child as the leader of a new process group (`setpgid(0, 0)`).
    pub process_group: Option<bool>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// A cgroup v2 directory the child must start in (it runs nothing outside it).
    pub cgroup: Option<String>,
    /// `SO_RCVBUF` and `SO_SNDBUF` for both ends of each pipe, as the running Node's libuv sets
    /// them (1.51 and later: 64 KiB); `None`: the kernel's default.
    pub pipe_buffer: Option<u32>,
}

pub struct Spawned {
    pub process: Arc<Process>,
    /// Our end of each `'pipe'` (`None` elsewhere).
    pub stdio: Vec<Option<OwnedFd>>,
    /// How the child went into the cgroup the options named.
    pub cgroup: Option<helper::CgroupVia>,
}

impl Spawned {
    /// Our ends of the pipes as numbers for JavaScript (-1 where there is none), the caller's
    /// to close.
    pub fn into_raw_stdio(self) -> (Arc<Process>, Vec<RawFd>, Option<helper::CgroupVia>) {
        let stdio = self
            .stdio
            .into_iter()
            .map(|fd| fd.map_or(-1, IntoRawFd::into_raw_fd))
            .collect();
        (self.process, stdio, self.cgroup)
    }
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

/// `on_loop`: the completion channel of the calling environment, whose event loop collects the
/// child where it can (the watcher thread otherwise).
pub fn spawn(opts: NativeSpawnOptions, on_loop: Option<&watch::Channel>) -> Result<Spawned> {
    if opts.file.is_empty() {
        return Err(SysError::new("spawn", libc::ENOENT));
    }
    // The watcher thread must exist before there is a child to watch.
    watch::ensure_runtime()?;

    let argv = opts
        .argv
        .into_iter()
        .map(|a| cstring("an argument", a))
        .collect::<Result<Vec<_>>>()?;
    let envp = match opts.env {
        Some(env) => env
            .into_iter()
            .map(|e| cstring("an environment entry", e))
            .collect::<Result<Vec<_>>>()?,
        None => sys::environment(),
    };
    let paths = candidates(&opts.file, &envp)
        .into_iter()
        .map(|p| cstring("the file name", p))
        .collect::<Result<Vec<_>>>()?;
    let cwd = opts.cwd.map(|c| cstring("cwd", c)).transpose()?;
    // Opened here, so a cgroup that is not there (or not a directory) fails the spawn before
    // any child exists.
    let cgroup = match opts.cgroup {
        Some(path) => Some(
            sys::open_dir(&cstring("the cgroup path", path)?).map_err(|e| {
                SysError::from_io("open", e).with_detail("cannot open the cgroup directory")
            })?,
        ),
        None => None,
    };

    // Every source descriptor is close-on-exec and above the child's stdio range, so the
    // child's dup2s can neither clobber a later source nor leak a temporary. `map[i]` is the
    // index of child descriptor `i`'s source (one /dev/null serves every 'ignore').
    let n = opts.stdio.len().max(3) as RawFd;
    let dup = |fd: RawFd| sys::dup_cloexec_at_least(fd, n);
    let mut ours: Vec<Option<OwnedFd>> = Vec::with_capacity(opts.stdio.len());
    let mut sources: Vec<OwnedFd> = Vec::with_capacity(opts.stdio.len());
    let mut map: Vec<Option<usize>> = Vec::with_capacity(opts.stdio.len());
    let mut null: Option<usize> = None;
    for (i, &kind) in opts.stdio.iter().enumerate() {
        let mut parent = None;
        let source = match kind {
            // As libuv: 'ignore' beyond stdio leaves the descriptor closed.
            STDIO_IGNORE if i >= 3 => None,
            STDIO_IGNORE => {
                if null.is_none() {
                    let fd = sys::open_dev_null().map_err(at("open"))?;
                    let fd = if fd.as_raw_fd() < n {
                        dup(fd.as_raw_fd()).map_err(at("dup"))?
                    } else {
                        fd
                    };
                    sources.push(fd);
                    null = Some(sources.len() - 1);
                }
                ours.push(None);
                map.push(null);
                continue;
            }
            STDIO_PIPE => {
                let (ours, theirs) = sys::socketpair().map_err(at("socketpair"))?;
                // Best effort, as libuv sets them: a refusal (a seccomp filter) leaves the
                // kernel's default, and the spawn goes on.
                if let Some(bytes) = opts.pipe_buffer {
                    for end in [&ours, &theirs] {
                        let _ = sys::set_socket_buffers(end.as_fd(), bytes);
                    }
                }
                parent = Some(ours);
                Some(dup(theirs.as_raw_fd()).map_err(at("dup"))?)
            }
            // A descriptor we do not have open is EBADF, as child_process throws it.
            STDIO_INHERIT => Some(dup(i as RawFd).map_err(at("dup"))?),
            fd if fd >= 0 => Some(dup(fd).map_err(at("dup"))?),
            _ => return Err(SysError::new("spawn", libc::EINVAL).with_detail("bad stdio entry")),
        };
        ours.push(parent);
        map.push(source.map(|fd| {
            sources.push(fd);
            sources.len() - 1
        }));
    }

    // A detached child leads a new session, and with it a new process group: a setpgid after
    // its setsid is refused (EPERM, a session leader), so `processGroup` adds nothing to it.
    let process_group = opts.process_group.unwrap_or(false) && !opts.detached;
    if features::switches().spawn_helper {
        // The child starts in our cwd as it is now, not as it was when the helper started: a
        // descriptor of it, so a deleted cwd or a path that is not text works as for
        // child_process (whose child simply inherits it).
        let here = match &cwd {
            Some(_) => None,
            None => Some(sys::open_cwd().map_err(at("open"))?),
        };
        let reply = {
            let mut passed: Vec<_> = sources.iter().map(|fd| fd.as_fd()).collect();
            let cwd = match (&here, &cwd) {
                (Some(fd), _) => {
                    passed.push(fd.as_fd());
                    helper::Cwd::Inherit(passed.len() - 1)
                }
                (None, path) => helper::Cwd::Path(path.as_deref().unwrap_or_default()),
            };
            let cgroup_source = cgroup.as_ref().map(|fd| {
                passed.push(fd.as_fd());
                passed.len() - 1
            });
            let fd_map: Vec<i32> = map.iter().map(|m| m.map_or(-1, |i| i as i32)).collect();
            helper::spawn(&helper::Request {
                paths: &paths,
                argv: &argv,
                envp: &envp,
                cwd,
                sources: &passed,
                fd_map: &fd_map,
                detached: opts.detached,
                process_group,
                uid: opts.uid,
                gid: opts.gid,
                cgroup: cgroup_source,
            })?
        };
        if let Some(reply) = reply {
            // Our copies of the child's descriptors go first: where this process is out of
            // descriptors (its pidfd could not come with the reply), they make the room to
            // open it, and the child that already runs is adopted rather than killed.
            drop(here);
            drop(sources);
            drop(cgroup);
            return adopt_reply(reply, ours, on_loop);
        }
    }

    // posix_spawn cannot put the child in a cgroup before its exec (glibc 2.41's
    // posix_spawnattr_setcgroup_np could): refused rather than run outside it.
    if cgroup.is_some() {
        return Err(SysError::new("spawn", libc::ENOSYS)
            .with_detail("the cgroup option needs the spawn helper, which cannot run here"));
    }
    if opts.uid.is_some() || opts.gid.is_some() {
        return Err(SysError::new("spawn", libc::ENOSYS)
            .with_detail("uid and gid need the spawn helper, which cannot run here"));
    }
    if cwd.is_some() && sys::addchdir_np().is_none() {
        return Err(SysError::new("spawn", libc::ENOSYS).with_detail(
            "the cwd option needs the spawn helper or glibc 2.29 (posix_spawn_file_actions_addchdir_np)",
        ));
    }
    let child_fds: Vec<_> = map.iter().map(|m| m.map(|i| sources[i].as_fd())).collect();
    // The helper makes the child's stdio blocking in the child; posix_spawn cannot, so here.
    for fd in child_fds.iter().take(3).flatten() {
        sys::set_blocking(*fd).map_err(at("fcntl"))?;
    }
    // As execvp: try each candidate; EACCES from one is reported if none succeeds.
    let mut saw_eacces = false;
    for path in &paths {
        let req = sys::SpawnRequest {
            path,
            argv: &argv,
            envp: &envp,
            cwd: cwd.as_deref(),
            child_fds: &child_fds,
            setsid: opts.detached,
            setpgid: process_group,
        };
        match sys::posix_spawn(&req) {
            Ok(pid) => return adopt(pid, ours, on_loop),
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

fn into_spawned(
    process: Arc<Process>,
    ours: Vec<Option<OwnedFd>>,
    cgroup: Option<helper::CgroupVia>,
    on_loop: Option<&watch::Channel>,
) -> Spawned {
    watch::start_reaper(&process, on_loop);
    Spawned {
        process,
        stdio: ours,
        cgroup,
    }
}

/// The helper made the child (or tried): its pidfd came with the reply, so nobody could have
/// reaped it; or, where it did not come (a clone without CLONE_PIDFD, no room for it here), it
/// is opened now: the child is our unreaped child, so its pid names it still. A child whose exec
/// failed is still ours to reap.
fn adopt_reply(
    reply: helper::Reply,
    ours: Vec<Option<OwnedFd>>,
    on_loop: Option<&watch::Channel>,
) -> Result<Spawned> {
    let pidfd = match reply.pidfd {
        Some(fd) => fd,
        None => match sys::pidfd_open(reply.pid) {
            Ok(fd) => fd,
            Err(e) => {
                abandon(reply.pid);
                return Err(SysError::from_io("pidfd_open", e));
            }
        },
    };
    let process = Process::adopt(reply.pid, pidfd);
    let Some((errno, stage)) = reply.error else {
        return Ok(into_spawned(process, ours, reply.cgroup, on_loop));
    };
    watch::start_reaper(&process, None);
    let err = SysError::new("spawn", errno);
    Err(match helper::stage_name(stage) {
        "execve" => err,
        stage => err.with_detail(format!("{stage} failed in the child")),
    })
}

/// Opens the pidfd at once: the child cannot be reaped (nor its pid reused) before we do.
fn adopt(
    pid: i32,
    ours: Vec<Option<OwnedFd>>,
    on_loop: Option<&watch::Channel>,
) -> Result<Spawned> {
    let fd = match sys::pidfd_open(pid) {
        Ok(fd) => fd,
        Err(e) => {
            abandon(pid);
            return Err(SysError::from_io("pidfd_open", e));
        }
    };
    Ok(into_spawned(Process::adopt(pid, fd), ours, None, on_loop))
}

/// Kills our unreaped child `pid` and has the package reap it (it cannot be anyone else's:
/// nobody else reaps a child of ours that libuv does not know).
pub fn abandon(pid: i32) {
    match sys::pidfd_open(pid) {
        Ok(fd) => {
            let process = Process::adopt(pid, fd);
            let _ = process.kill(libc::SIGKILL);
            watch::start_reaper(&process, None);
        }
        // Reaped by someone else already: the pid may name another process now.
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
        Err(_) => sys::kill_and_reap(pid),
    }
}

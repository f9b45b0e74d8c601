//! Every raw syscall and every `unsafe` block of the crate lives here.
//!
//! The rest of the crate sees safe functions over `OwnedFd`/`BorrowedFd` and plain structs.

use std::ffi::{CStr, CString};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Instant;

/// What `waitid` reported for a child that changed state.
#[derive(Clone, Copy, Debug)]
pub struct SigInfo {
    pub signo: i32,
    pub code: i32,
    pub pid: i32,
    pub uid: u32,
    pub status: i32,
}

/// Result of `errno`-style calls.
fn cvt(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Retries a call interrupted by a signal handler.
fn retry<T>(mut f: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match f() {
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            other => return other,
        }
    }
}

/// `pidfd_open(2)`: a close-on-exec pidfd for `pid` (Linux ≥ 5.3).
pub fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with integer arguments.
    let fd = cvt(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })?;
    // SAFETY: the kernel returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// `pidfd_send_signal(2)` with no siginfo (Linux ≥ 5.1).
pub fn pidfd_send_signal(fd: BorrowedFd<'_>, signal: i32) -> io::Result<()> {
    // SAFETY: a null siginfo pointer is allowed; fd is a live descriptor.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            signal,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    })
    .map(drop)
}

/// `waitid(P_PIDFD, fd, …, WEXITED | WNOHANG [| WNOWAIT], &rusage)` through the raw syscall,
/// which (unlike the libc wrapper) fills the rusage of the waited process.
/// `Ok(None)`: the process has not exited yet.
pub fn waitid_pidfd(fd: BorrowedFd<'_>, reap: bool) -> io::Result<Option<(SigInfo, libc::rusage)>> {
    let mut info = MaybeUninit::<libc::siginfo_t>::zeroed();
    let mut usage = MaybeUninit::<libc::rusage>::zeroed();
    let mut options = libc::WEXITED | libc::WNOHANG;
    if !reap {
        options |= libc::WNOWAIT;
    }
    retry(|| {
        // SAFETY: both out-pointers point to zeroed storage of the right type.
        cvt(unsafe {
            libc::syscall(
                libc::SYS_waitid,
                libc::P_PIDFD,
                fd.as_raw_fd(),
                info.as_mut_ptr(),
                options,
                usage.as_mut_ptr(),
            )
        })
    })?;
    // SAFETY: zero-initialised and possibly filled by the kernel: valid either way.
    let (info, usage) = unsafe { (info.assume_init(), usage.assume_init()) };
    // SAFETY: for SIGCHLD (or a zeroed struct) the sigchld union member is the one to read.
    let (pid, uid, status) = unsafe { (info.si_pid(), info.si_uid(), info.si_status()) };
    if pid == 0 {
        return Ok(None);
    }
    Ok(Some((
        SigInfo {
            signo: info.si_signo,
            code: info.si_code,
            pid,
            uid,
            status,
        },
        usage,
    )))
}

/// `struct pidfd_info`, first published size (`PIDFD_INFO_SIZE_VER0`, Linux ≥ 6.13).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct PidfdInfo {
    pub mask: u64,
    pub cgroupid: u64,
    pub pid: u32,
    pub tgid: u32,
    pub ppid: u32,
    pub ruid: u32,
    pub rgid: u32,
    pub euid: u32,
    pub egid: u32,
    pub suid: u32,
    pub sgid: u32,
    pub fsuid: u32,
    pub fsgid: u32,
    pub exit_code: i32,
}

pub const PIDFD_INFO_EXIT: u64 = 1 << 3;

/// `_IOWR(PIDFS_IOCTL_MAGIC, 11, struct pidfd_info)` for the 64-byte struct.
const PIDFD_GET_INFO: libc::c_ulong =
    (3 << 30) | ((std::mem::size_of::<PidfdInfo>() as libc::c_ulong) << 16) | (0xFF << 8) | 11;

/// `ioctl(PIDFD_GET_INFO)` asking for `mask`. The caller must check the returned mask.
pub fn pidfd_get_info(fd: BorrowedFd<'_>, mask: u64) -> io::Result<PidfdInfo> {
    let mut info = PidfdInfo {
        mask,
        ..PidfdInfo::default()
    };
    // SAFETY: the ioctl writes at most size_of::<PidfdInfo>() bytes, encoded in the request.
    cvt(unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            PIDFD_GET_INFO as _,
            &mut info as *mut PidfdInfo,
        )
    } as libc::c_long)?;
    Ok(info)
}

/// Blocks until `fd` is readable (a pidfd: the process has exited), or `timeout_ms` passes
/// (-1: no limit). Whether it is readable.
pub fn poll_readable(fd: BorrowedFd<'_>, timeout_ms: libc::c_int) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    retry(|| poll_raw(std::slice::from_mut(&mut pfd), timeout_ms)).map(|n| n > 0)
}

/// A copy of this process's environment (`KEY=value` entries), as `environ` holds it now.
/// Called on the JS thread, the only one that changes it (through `process.env`).
pub fn environment() -> Vec<CString> {
    extern "C" {
        static environ: *const *const libc::c_char;
    }
    let mut out = Vec::new();
    // SAFETY: `environ` is a NULL-terminated array of NUL-terminated strings, not changed while
    // this thread (the one that changes it) reads it.
    unsafe {
        let mut p = environ;
        while !p.is_null() && !(*p).is_null() {
            out.push(CStr::from_ptr(*p).to_owned());
            p = p.add(1);
        }
    }
    out
}

pub fn getpid() -> i32 {
    // SAFETY: no arguments, cannot fail.
    unsafe { libc::getpid() }
}

/// A connected `AF_UNIX` stream socket pair, both ends close-on-exec (libuv's stdio pipes).
pub fn socketpair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1; 2];
    // SAFETY: fds has room for two descriptors.
    cvt(unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    } as libc::c_long)?;
    // SAFETY: the kernel returned two new descriptors.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// `SO_RCVBUF` and `SO_SNDBUF` of a socket set to `bytes` (the kernel doubles it for its own
/// bookkeeping, as it does for libuv's).
pub fn set_socket_buffers(fd: BorrowedFd<'_>, bytes: u32) -> io::Result<()> {
    let value =
        libc::c_int::try_from(bytes).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    for option in [libc::SO_RCVBUF, libc::SO_SNDBUF] {
        // SAFETY: value lives across the call, and its size is the one given.
        cvt(unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                option,
                (&value as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        } as libc::c_long)?;
    }
    Ok(())
}

/// `fcntl(F_DUPFD_CLOEXEC, min)`: a close-on-exec duplicate numbered at least `min`.
/// Takes a raw number because it may name a descriptor the caller does not own (stdio).
pub fn dup_cloexec_at_least(fd: RawFd, min: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: fcntl on an arbitrary number is safe; EBADF is reported.
    let new = cvt(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, min) } as libc::c_long)?;
    // SAFETY: a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(new as RawFd) })
}

/// Opens `/dev/null` read-write, close-on-exec.
pub fn open_dev_null() -> io::Result<OwnedFd> {
    let path = c"/dev/null";
    // SAFETY: a NUL-terminated path.
    let fd =
        cvt(unsafe { libc::open(path.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) } as libc::c_long)?;
    // SAFETY: a new descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// A directory opened for reading (`O_RDONLY | O_DIRECTORY`, close-on-exec): a cgroup v2
/// directory, which clone3's `CLONE_INTO_CGROUP` takes (an `O_PATH` descriptor it refuses).
pub fn open_dir(path: &CStr) -> io::Result<OwnedFd> {
    // SAFETY: a NUL-terminated path.
    let fd = cvt(unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    } as libc::c_long)?;
    // SAFETY: a new descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// What a `posix_spawn` needs, all already resolved and NUL-checked.
pub struct SpawnRequest<'a> {
    pub path: &'a CStr,
    pub argv: &'a [CString],
    pub envp: &'a [CString],
    pub cwd: Option<&'a CStr>,
    /// `child_fds[i]` becomes descriptor `i` of the child; `None` leaves it closed.
    /// Every source must be close-on-exec and numbered at least `child_fds.len()`.
    pub child_fds: &'a [Option<BorrowedFd<'a>>],
    /// Start a new session (`detached`).
    pub setsid: bool,
    /// Start a new process group (`processGroup`).
    pub setpgid: bool,
}

struct FileActions(libc::posix_spawn_file_actions_t);
impl Drop for FileActions {
    fn drop(&mut self) {
        // SAFETY: initialised in `posix_spawn`.
        unsafe { libc::posix_spawn_file_actions_destroy(&mut self.0) };
    }
}
struct SpawnAttr(libc::posix_spawnattr_t);
impl Drop for SpawnAttr {
    fn drop(&mut self) {
        // SAFETY: initialised in `posix_spawn`.
        unsafe { libc::posix_spawnattr_destroy(&mut self.0) };
    }
}

type AddChdir =
    unsafe extern "C" fn(*mut libc::posix_spawn_file_actions_t, *const libc::c_char) -> libc::c_int;

/// `posix_spawn_file_actions_addchdir_np`, looked up at run time: glibc has it only since 2.29,
/// and a direct reference would keep the module from loading at all on an older glibc.
pub fn addchdir_np() -> Option<AddChdir> {
    static ADDCHDIR: std::sync::OnceLock<Option<AddChdir>> = std::sync::OnceLock::new();
    *ADDCHDIR.get_or_init(|| {
        // SAFETY: dlsym with a NUL-terminated name; a non-null result is that libc function,
        // whose C signature is `AddChdir`.
        unsafe {
            let f = libc::dlsym(
                libc::RTLD_DEFAULT,
                c"posix_spawn_file_actions_addchdir_np".as_ptr(),
            );
            (!f.is_null()).then(|| std::mem::transmute::<*mut libc::c_void, AddChdir>(f))
        }
    })
}

fn check_spawn(ret: libc::c_int) -> io::Result<()> {
    if ret == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(ret))
    }
}

/// Sets signal `sig`'s bit in `set` directly: `sigaddset` refuses the C library's own signals.
/// On Linux a `sigset_t` is an array of unsigned longs (glibc and musl), signal n at bit n − 1.
fn add_signal_bit(set: &mut libc::sigset_t, sig: usize) {
    let bits = 8 * std::mem::size_of::<libc::c_ulong>();
    let len = std::mem::size_of::<libc::sigset_t>() / std::mem::size_of::<libc::c_ulong>();
    // SAFETY: `set` is a whole sigset_t, `len` unsigned longs long, borrowed mutably here.
    let words = unsafe {
        std::slice::from_raw_parts_mut((set as *mut libc::sigset_t).cast::<libc::c_ulong>(), len)
    };
    words[(sig - 1) / bits] |= 1 << ((sig - 1) % bits);
}

/// `posix_spawn` with every signal reset to its default action and an empty signal mask,
/// as libuv gives its children. Returns the pid. glibc and musl report exec failures here.
pub fn posix_spawn(req: &SpawnRequest<'_>) -> io::Result<i32> {
    let mut argv: Vec<*mut libc::c_char> = req.argv.iter().map(|a| a.as_ptr() as _).collect();
    argv.push(std::ptr::null_mut());
    let mut envp: Vec<*mut libc::c_char> = req.envp.iter().map(|a| a.as_ptr() as _).collect();
    envp.push(std::ptr::null_mut());

    // SAFETY: every pointer handed to libc below outlives the call: `req` borrows them,
    // argv/envp are NULL-terminated, and the actions/attr wrappers are initialised before use
    // and destroyed on drop.
    unsafe {
        let mut actions = FileActions(std::mem::zeroed());
        check_spawn(libc::posix_spawn_file_actions_init(&mut actions.0))?;
        let mut attr = SpawnAttr(std::mem::zeroed());
        check_spawn(libc::posix_spawnattr_init(&mut attr.0))?;

        for (target, source) in req.child_fds.iter().enumerate() {
            match source {
                Some(fd) => check_spawn(libc::posix_spawn_file_actions_adddup2(
                    &mut actions.0,
                    fd.as_raw_fd(),
                    target as libc::c_int,
                ))?,
                None => check_spawn(libc::posix_spawn_file_actions_addclose(
                    &mut actions.0,
                    target as libc::c_int,
                ))?,
            }
        }
        if let Some(cwd) = req.cwd {
            let addchdir =
                addchdir_np().ok_or_else(|| io::Error::from_raw_os_error(libc::ENOSYS))?;
            check_spawn(addchdir(&mut actions.0, cwd.as_ptr()))?;
        }

        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        // The C library's own signals (glibc's 32 and 33, musl's 32 to 34) are left out of a
        // filled set, and its posix_spawn ignores them in the child unless they are in this
        // one: the program would start with them ignored. libuv's children start with none.
        for internal in 32..=34 {
            add_signal_bit(&mut all, internal);
        }
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        check_spawn(libc::posix_spawnattr_setsigdefault(&mut attr.0, &all))?;
        check_spawn(libc::posix_spawnattr_setsigmask(&mut attr.0, &none))?;
        let mut flags = libc::POSIX_SPAWN_SETSIGDEF | libc::POSIX_SPAWN_SETSIGMASK;
        if req.setsid {
            flags |= libc::POSIX_SPAWN_SETSID as libc::c_int;
        }
        if req.setpgid {
            flags |= libc::POSIX_SPAWN_SETPGROUP as libc::c_int;
            check_spawn(libc::posix_spawnattr_setpgroup(&mut attr.0, 0))?;
        }
        check_spawn(libc::posix_spawnattr_setflags(
            &mut attr.0,
            flags as libc::c_short,
        ))?;

        let mut pid: libc::pid_t = 0;
        check_spawn(libc::posix_spawn(
            &mut pid,
            req.path.as_ptr(),
            &actions.0,
            &attr.0,
            argv.as_ptr(),
            envp.as_ptr(),
        ))?;
        Ok(pid)
    }
}

/// Last resort after a spawn whose pidfd could not be opened: no handle, so no zombie either.
pub fn kill_and_reap(pid: i32) {
    // SAFETY: `pid` is our unreaped child, so it cannot name another process.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        let mut status = 0;
        while libc::waitpid(pid, &mut status, 0) < 0
            && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
        {}
    }
}

/// Keeps the owner of a descriptor inside the `AsyncFd` that watches it.
pub struct Watched<T>(T);

impl<T: AsFd> AsRawFd for Watched<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// Registers `owner`'s descriptor for readability with the current tokio reactor.
/// `owner` must hand out the same descriptor every time (an `Arc` of an `OwnedFd` holder does).
pub fn watch_readable<T: AsFd>(owner: T) -> io::Result<tokio::io::unix::AsyncFd<Watched<T>>> {
    // SAFETY: the AsyncFd owns `owner`, which owns the descriptor, so the descriptor stays open
    // and names the same file until the AsyncFd is dropped (which deregisters it first).
    unsafe {
        tokio::io::unix::AsyncFd::register_with_interest(
            Watched(owner),
            tokio::io::Interest::READABLE,
        )
    }
    .map_err(|e| e.into_parts().1)
}

/// The numbers of a `Float64Array` passed to a native call, to write into.
pub fn js_numbers<'a>(
    array: &'a mut napi::bindgen_prelude::Float64ArraySlice<'_>,
) -> &'a mut [f64] {
    // SAFETY: JavaScript cannot run (and so cannot touch or detach the buffer) while the native
    // call that received the array runs on its thread; the slice does not outlive the call.
    unsafe { array.as_mut() }
}

/// `struct sched_attr`, first published size (`SCHED_ATTR_SIZE_VER0`).
#[repr(C)]
#[derive(Default)]
struct SchedAttrRaw {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
}

fn sched_attr_get() -> Option<SchedAttrRaw> {
    let mut attr = SchedAttrRaw::default();
    let size = std::mem::size_of::<SchedAttrRaw>() as libc::c_uint;
    // SAFETY: the kernel writes at most `size` bytes into `attr`, for the calling thread (0).
    let ok = unsafe { libc::syscall(libc::SYS_sched_getattr, 0, &mut attr, size, 0) } == 0;
    ok.then_some(attr)
}

/// The calling thread's scheduling policy and its static priority (`None`: not to be read).
pub fn sched_policy() -> Option<(u32, u32)> {
    sched_attr_get().map(|a| (a.policy, a.priority))
}

/// The calling thread's nice value.
pub fn nice() -> i32 {
    // SAFETY: getpriority reads; -1 is also a valid nice value, which is fine for a comparison.
    unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }
}

/// Gives the calling thread a scheduler slice of `ns` (EEVDF custom slice, Linux 6.12; 0: the
/// default), keeping its policy, priority and nice value: only a thread of the fair class
/// (SCHED_OTHER, SCHED_BATCH, SCHED_IDLE) has a slice; a real-time one is left alone. A thread
/// with a short slice may preempt the one running where it wakes. Best effort: older kernels
/// refuse or ignore it.
pub fn set_thread_slice(ns: u64) {
    let Some(mut attr) = sched_attr_get() else {
        return;
    };
    if !matches!(
        attr.policy as i32,
        libc::SCHED_OTHER | libc::SCHED_BATCH | libc::SCHED_IDLE
    ) {
        return;
    }
    attr.size = std::mem::size_of::<SchedAttrRaw>() as u32;
    attr.flags = 0;
    attr.runtime = ns;
    // SAFETY: sched_setattr reads a fully initialized struct of the size it is told, for the
    // calling thread (pid 0).
    unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr, 0) };
}

/// A new close-on-exec epoll set.
pub fn epoll_create() -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with a flag.
    let fd = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) } as libc::c_long)?;
    // SAFETY: a new descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Adds `fd` to `epoll`, edge-triggered for readability (and hang-up), reported as `key`.
pub fn epoll_add(epoll: BorrowedFd<'_>, fd: BorrowedFd<'_>, key: u64) -> io::Result<()> {
    let mut event = libc::epoll_event {
        events: (libc::EPOLLIN | libc::EPOLLET) as u32,
        u64: key,
    };
    // SAFETY: two live descriptors and a valid event.
    cvt(unsafe {
        libc::epoll_ctl(
            epoll.as_raw_fd(),
            libc::EPOLL_CTL_ADD,
            fd.as_raw_fd(),
            &mut event,
        )
    } as libc::c_long)
    .map(drop)
}

/// Removes `fd` from `epoll`.
pub fn epoll_del(epoll: BorrowedFd<'_>, fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: two live descriptors; DEL ignores the event (non-null for kernels before 2.6.9).
    let mut event = libc::epoll_event { events: 0, u64: 0 };
    cvt(unsafe {
        libc::epoll_ctl(
            epoll.as_raw_fd(),
            libc::EPOLL_CTL_DEL,
            fd.as_raw_fd(),
            &mut event,
        )
    } as libc::c_long)
    .map(drop)
}

/// The keys of the descriptors of `epoll` that are ready now (up to 64, without waiting);
/// empty when none is.
pub fn epoll_ready(epoll: BorrowedFd<'_>, keys: &mut Vec<u64>, timeout_ms: i32) -> io::Result<()> {
    keys.clear();
    let mut events = [libc::epoll_event { events: 0, u64: 0 }; 64];
    let n = retry(|| epoll_pwait(epoll, &mut events, timeout_ms))?;
    keys.extend(events[..n].iter().map(|e| e.u64));
    Ok(())
}

/// Waits up to `timeout_ms` (-1: no limit) for events of `epoll` into `events`; how many came.
/// `epoll_pwait`, not `epoll_wait`: a seccomp profile traced from Node allows the one libuv calls.
fn epoll_pwait(
    epoll: BorrowedFd<'_>,
    events: &mut [libc::epoll_event],
    timeout_ms: i32,
) -> io::Result<usize> {
    // SAFETY: a buffer of `events.len()` events; no signal mask.
    cvt(unsafe {
        libc::epoll_pwait(
            epoll.as_raw_fd(),
            events.as_mut_ptr(),
            events.len() as libc::c_int,
            timeout_ms,
            std::ptr::null(),
        )
    } as libc::c_long)
    .map(|n| n as usize)
}

/// Whether `epoll_wait` (libc's, the one tokio's reactor calls) is refused with EPERM or ENOSYS,
/// as a seccomp profile that allows only `epoll_pwait` refuses it. Asked of an epoll set of its
/// own, without waiting; a set it cannot make says nothing of the refusal.
pub fn epoll_wait_refused() -> bool {
    let Ok(epoll) = epoll_create() else {
        return false;
    };
    let mut event = libc::epoll_event { events: 0, u64: 0 };
    // SAFETY: room for one event; a timeout of 0 returns at once.
    let r = unsafe { libc::epoll_wait(epoll.as_raw_fd(), &mut event, 1, 0) };
    r < 0
        && matches!(
            io::Error::last_os_error().raw_os_error(),
            Some(libc::EPERM | libc::ENOSYS)
        )
}

/// `memfd_create`, close-on-exec, executable where the kernel asks (MFD_EXEC, Linux ≥ 6.3).
pub fn memfd_create_exec(name: &CStr) -> io::Result<OwnedFd> {
    const MFD_EXEC: libc::c_uint = 0x10;
    let create = |flags: libc::c_uint| {
        // SAFETY: a NUL-terminated name and plain flags.
        cvt(unsafe { libc::memfd_create(name.as_ptr(), flags) } as libc::c_long)
    };
    let fd = match create(libc::MFD_CLOEXEC | MFD_EXEC) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => create(libc::MFD_CLOEXEC)?,
        other => other?,
    };
    // SAFETY: a new descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Writes all of `bytes`.
pub fn write_all(fd: BorrowedFd<'_>, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        let n = retry(|| {
            // SAFETY: a valid buffer of the given length.
            cvt(
                unsafe { libc::write(fd.as_raw_fd(), bytes.as_ptr().cast(), bytes.len()) }
                    as libc::c_long,
            )
        })?;
        bytes = &bytes[n as usize..];
    }
    Ok(())
}

/// The kernel's `SCM_MAX_FD`: descriptors one message can carry.
pub const FDS_PER_MESSAGE: usize = 253;

/// Waits until `fd` has one of `events`, or `deadline` passes (`ETIMEDOUT`).
fn poll_until(fd: BorrowedFd<'_>, events: libc::c_short, deadline: Instant) -> io::Result<()> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        // Rounded up, so a wait never ends before the deadline.
        let ms = left.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int;
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events,
            revents: 0,
        };
        match poll_raw(std::slice::from_mut(&mut pfd), ms) {
            Ok(0) if ms == 0 => return Err(io::Error::from_raw_os_error(libc::ETIMEDOUT)),
            Ok(0) => continue,
            Ok(_) => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// One `sendmsg` of `bytes` (not waiting), with `fds` as SCM_RIGHTS on them; the count sent.
fn send_once(sock: BorrowedFd<'_>, bytes: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<usize> {
    let raw: Vec<RawFd> = fds.iter().map(|f| f.as_raw_fd()).collect();
    let data_len = std::mem::size_of_val(raw.as_slice());
    // SAFETY: CMSG_SPACE is arithmetic.
    let space = unsafe { libc::CMSG_SPACE(data_len as u32) } as usize;
    let mut control = vec![0u64; space.div_ceil(8)];
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr() as *mut libc::c_void,
        iov_len: bytes.len(),
    };
    // SAFETY: msghdr is plain data; zeroed is a valid start.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if !raw.is_empty() {
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        // SAFETY: the control buffer has room for one header and `data_len` bytes of data.
        unsafe {
            let c = libc::CMSG_FIRSTHDR(&msg);
            (*c).cmsg_level = libc::SOL_SOCKET;
            (*c).cmsg_type = libc::SCM_RIGHTS;
            (*c).cmsg_len = libc::CMSG_LEN(data_len as u32) as _;
            std::ptr::copy_nonoverlapping(raw.as_ptr().cast::<u8>(), libc::CMSG_DATA(c), data_len);
        }
    }
    retry(|| {
        // SAFETY: msg points at live buffers.
        cvt(unsafe {
            libc::sendmsg(
                sock.as_raw_fd(),
                &msg,
                libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
            )
        } as libc::c_long)
    })
    .map(|n| n as usize)
}

/// One `sendmsg` of `bytes` on the stream socket `sock` (not waiting, no SIGPIPE) with the
/// descriptor `fd` as SCM_RIGHTS: how Node passes a handle over its IPC channel. The count of
/// bytes sent (the descriptor goes with the first). Raw numbers: both belong to JavaScript
/// objects (the channel's socket, the handle), which keep them open across the call.
pub fn send_with_fd(sock: RawFd, bytes: &[u8], fd: RawFd) -> io::Result<usize> {
    if sock < 0 || fd < 0 {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    // SAFETY: the caller's objects hold both descriptors open for the duration of the call.
    let (sock, fd) = unsafe { (BorrowedFd::borrow_raw(sock), BorrowedFd::borrow_raw(fd)) };
    send_once(sock, bytes, &[fd])
}

/// Sends all of `bytes` on a stream socket before `deadline` (`ETIMEDOUT` after it), with `fds`
/// as SCM_RIGHTS: at most `FDS_PER_MESSAGE` a message, the first batch on the first `first`
/// bytes, each later batch on one more byte. `bytes` must be long enough for every batch.
pub fn send_until(
    sock: BorrowedFd<'_>,
    bytes: &[u8],
    first: usize,
    fds: &[BorrowedFd<'_>],
    deadline: Instant,
) -> io::Result<()> {
    let mut batches = fds.chunks(FDS_PER_MESSAGE);
    let mut sent = 0;
    let mut pending: Option<(&[BorrowedFd<'_>], usize)> = batches.next().map(|b| (b, first));
    while sent < bytes.len() {
        // Bytes up to `end` go in this sendmsg; a batch rides on its own range.
        let (batch, end) = match pending {
            Some((batch, len)) => (batch, (sent + len).min(bytes.len())),
            None => (&[][..], bytes.len()),
        };
        match send_once(sock, &bytes[sent..end], batch) {
            Ok(n) => {
                sent += n;
                // Once any byte of its range went, the batch went with it.
                pending = batches.next().map(|b| (b, 1));
            }
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {
                poll_until(sock, libc::POLLOUT, deadline)?
            }
            Err(e) => return Err(e),
        }
    }
    if pending.is_some() {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    Ok(())
}

/// What one `recv_until` got.
pub struct Received {
    /// Bytes read; 0 at EOF.
    pub len: usize,
    /// A descriptor that came with them (close-on-exec). `None` also where one was sent but
    /// this process had no room for it (`MSG_CTRUNC`): the caller opens the pidfd itself then.
    pub fd: Option<OwnedFd>,
}

/// Reads what a stream socket has (waiting for it until `deadline`, `ETIMEDOUT` after it),
/// keeping at most one descriptor that came with it.
pub fn recv_until(sock: BorrowedFd<'_>, buf: &mut [u8], deadline: Instant) -> io::Result<Received> {
    // SAFETY: CMSG_SPACE is arithmetic.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) } as usize;
    let mut control = vec![0u64; space.div_ceil(8)];
    loop {
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: msghdr is plain data.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        let n = retry(|| {
            // SAFETY: msg points at live buffers.
            cvt(unsafe {
                libc::recvmsg(
                    sock.as_raw_fd(),
                    &mut msg,
                    libc::MSG_CMSG_CLOEXEC | libc::MSG_DONTWAIT,
                )
            } as libc::c_long)
        });
        let n = match n {
            Ok(n) => n as usize,
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {
                poll_until(sock, libc::POLLIN, deadline)?;
                continue;
            }
            Err(e) => return Err(e),
        };
        let mut fd = None;
        // SAFETY: the kernel filled msg; walking its control messages is what CMSG_* is for,
        // and every descriptor it carries is new and ours (extra ones are closed on drop).
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                    let count = ((*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize)
                        / std::mem::size_of::<RawFd>();
                    for i in 0..count {
                        let raw =
                            std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<RawFd>().add(i));
                        let owned = OwnedFd::from_raw_fd(raw);
                        if fd.is_none() {
                            fd = Some(owned);
                        }
                    }
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
        return Ok(Received { len: n, fd });
    }
}

/// A descriptor of this process's working directory (`O_PATH`, close-on-exec): a child can
/// `fchdir` to it even where its path is gone (deleted) or is not text.
pub fn open_cwd() -> io::Result<OwnedFd> {
    // SAFETY: a NUL-terminated path.
    let fd = cvt(unsafe {
        libc::open(
            c".".as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    } as libc::c_long)?;
    // SAFETY: a new descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// The first call the spawn helper's exchange needs that a seccomp filter refuses (EPERM or
/// ENOSYS), asked on a socket pair of its own: `socketpair`, `sendmsg` with a descriptor, a wait,
/// `recvmsg`, and `fchdir` (to this process's own directory, which changes nothing). The helper
/// inherits the filter, so its answer is the same. A shortage says nothing: `None`.
pub fn helper_calls_refused() -> Option<&'static str> {
    let refused = |call: &'static str| {
        move |e: io::Error| {
            matches!(e.raw_os_error(), Some(libc::EPERM | libc::ENOSYS)).then_some(call)
        }
    };
    let soon = Instant::now() + std::time::Duration::from_millis(100);
    let (a, b) = match socketpair() {
        Ok(pair) => pair,
        Err(e) => return refused("socketpair")(e),
    };
    if let Err(e) = send_once(a.as_fd(), b"x", &[b.as_fd()]) {
        return refused("sendmsg")(e);
    }
    if let Err(e) = poll_until(b.as_fd(), libc::POLLIN, soon) {
        return refused("epoll_pwait")(e);
    }
    if let Err(e) = recv_until(b.as_fd(), &mut [0u8; 1], soon) {
        return refused("recvmsg")(e);
    }
    let cwd = open_cwd().ok()?;
    // SAFETY: a descriptor we hold, of the directory this process is in already.
    if let Err(e) = cvt(unsafe { libc::fchdir(cwd.as_raw_fd()) } as libc::c_long) {
        return refused("fchdir")(e);
    }
    None
}

/// `kill(2)`. Only for a pid that cannot name another process: our own unreaped child.
pub fn kill_child(pid: i32, signal: i32) -> io::Result<()> {
    // SAFETY: plain syscall with integer arguments.
    cvt(unsafe { libc::kill(pid, signal) } as libc::c_long).map(drop)
}

/// Every resource limit of this process: (resource, soft, hard).
pub fn rlimits() -> Vec<(u32, u64, u64)> {
    // RLIMIT_CPU (0) to RLIMIT_RTTIME (15): the sixteen Linux has had since 2.6.25.
    (0..16u32)
        .filter_map(|resource| {
            let mut lim = libc::rlimit64 {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: a valid out-pointer.
            let ok = unsafe { libc::getrlimit64(resource as _, &mut lim) } == 0;
            ok.then_some((resource, lim.rlim_cur, lim.rlim_max))
        })
        .collect()
}

/// The process umask (set and restored at once where /proc cannot tell it).
pub fn umask_fallback() -> u32 {
    // SAFETY: umask cannot fail.
    unsafe {
        let old = libc::umask(0o022);
        libc::umask(old);
        old
    }
}

/// The path of the shared object that contains this code (the `.node` file).
pub fn own_module_path() -> Option<std::path::PathBuf> {
    // SAFETY: dladdr on an address inside this module; the returned name is a C string owned
    // by the loader, copied out at once.
    unsafe {
        let mut info: libc::Dl_info = std::mem::zeroed();
        if libc::dladdr(own_module_path as *const libc::c_void, &mut info) == 0
            || info.dli_fname.is_null()
        {
            return None;
        }
        let name = CStr::from_ptr(info.dli_fname);
        Some(std::path::PathBuf::from(
            std::ffi::OsStr::from_encoded_bytes_unchecked(name.to_bytes()),
        ))
    }
}

/// A libuv poll watcher on a Node event loop, for peeking at an exit inside the loop's own I/O
/// phase: libuv runs I/O callbacks of an epoll batch before it handles SIGCHLD (and reaps), so
/// a peek from here beats libuv's reap for every exit in that batch. libuv's functions are
/// looked up at run time, so the module still loads where they do not exist (then `None`).
pub struct UvPoll {
    handle: std::ptr::NonNull<u8>,
}

type UvHandleSize = unsafe extern "C" fn(libc::c_int) -> libc::size_t;
type UvPollInit = unsafe extern "C" fn(*mut libc::c_void, *mut u8, libc::c_int) -> libc::c_int;
type UvPollCb = extern "C" fn(*mut u8, libc::c_int, libc::c_int);
type UvPollStart = unsafe extern "C" fn(*mut u8, libc::c_int, UvPollCb) -> libc::c_int;
type UvCloseCb = extern "C" fn(*mut u8);
type UvClose = unsafe extern "C" fn(*mut u8, Option<UvCloseCb>);
type UvUnref = unsafe extern "C" fn(*mut u8);

struct UvApi {
    handle_size: UvHandleSize,
    poll_init: UvPollInit,
    poll_start: UvPollStart,
    close: UvClose,
    unref: UvUnref,
    refer: UvUnref,
}

fn uv_api() -> Option<&'static UvApi> {
    static API: std::sync::OnceLock<Option<UvApi>> = std::sync::OnceLock::new();
    API.get_or_init(|| {
        // SAFETY: dlsym with NUL-terminated names; each non-null result is the libuv function of
        // that name, whose C signature is the one it is transmuted to (libuv's stable ABI).
        unsafe {
            let sym = |name: &CStr| {
                let f = libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr());
                (!f.is_null()).then_some(f)
            };
            Some(UvApi {
                handle_size: std::mem::transmute::<*mut libc::c_void, UvHandleSize>(sym(
                    c"uv_handle_size",
                )?),
                poll_init: std::mem::transmute::<*mut libc::c_void, UvPollInit>(sym(
                    c"uv_poll_init",
                )?),
                poll_start: std::mem::transmute::<*mut libc::c_void, UvPollStart>(sym(
                    c"uv_poll_start",
                )?),
                close: std::mem::transmute::<*mut libc::c_void, UvClose>(sym(c"uv_close")?),
                unref: std::mem::transmute::<*mut libc::c_void, UvUnref>(sym(c"uv_unref")?),
                refer: std::mem::transmute::<*mut libc::c_void, UvUnref>(sym(c"uv_ref")?),
            })
        }
    })
    .as_ref()
}

const UV_POLL: libc::c_int = 8;
const UV_READABLE: libc::c_int = 1;

type PollCallback = Box<dyn FnMut()>;

/// What `handle.data` (the first field of every uv handle) points to.
struct PollData {
    callback: PollCallback,
    size: usize,
}

extern "C" fn uv_poll_fired(handle: *mut u8, _status: libc::c_int, _events: libc::c_int) {
    // SAFETY: `data` was set to a live `PollData` in `UvPoll::start` and is freed only in
    // `uv_poll_closed`, after which libuv calls nothing on this handle.
    unsafe {
        let data = *(handle as *mut *mut PollData);
        if !data.is_null() {
            ((*data).callback)();
        }
    }
}

extern "C" fn uv_poll_closed(handle: *mut u8) {
    // SAFETY: libuv is done with the handle; both allocations were made in `UvPoll::start`.
    unsafe {
        let data = Box::from_raw(*(handle as *mut *mut PollData));
        let layout = std::alloc::Layout::from_size_align_unchecked(data.size, 16);
        std::alloc::dealloc(handle, layout);
    }
}

impl UvPoll {
    /// Watches `fd` for readability on the event loop of `env` (the current thread's), unref'd,
    /// calling `callback` on that thread. `None` where libuv or the loop is not to be had.
    pub fn start(
        env: napi::sys::napi_env,
        fd: BorrowedFd<'_>,
        callback: PollCallback,
    ) -> Option<UvPoll> {
        let api = uv_api()?;
        // SAFETY: `env` is the live env of this thread; the handle is allocated with the size
        // libuv reports, 16-aligned, and `data` (its first field) is set before any callback
        // can run; on failure after init the handle is closed through libuv as it requires.
        unsafe {
            let mut uv_loop: *mut napi::sys::uv_loop_s = std::ptr::null_mut();
            if napi::sys::napi_get_uv_event_loop(env, &mut uv_loop) != napi::sys::Status::napi_ok
                || uv_loop.is_null()
            {
                return None;
            }
            let size = (api.handle_size)(UV_POLL).max(std::mem::size_of::<*mut u8>());
            let layout = std::alloc::Layout::from_size_align(size, 16).ok()?;
            let handle = std::alloc::alloc_zeroed(layout);
            let handle = std::ptr::NonNull::new(handle)?;
            // uv_poll_init makes the descriptor non-blocking, on the open file the caller's
            // handle shares: where it was blocking, it is made so again (libuv only waits for
            // readiness on it, never reads), or a blocking waitid on `handle.fd` gets EAGAIN.
            let was_blocking = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) & libc::O_NONBLOCK == 0;
            if (api.poll_init)(uv_loop.cast(), handle.as_ptr(), fd.as_raw_fd()) != 0 {
                std::alloc::dealloc(handle.as_ptr(), layout);
                return None;
            }
            if was_blocking {
                let _ = set_blocking(fd);
            }
            let data = Box::into_raw(Box::new(PollData { callback, size }));
            *(handle.as_ptr() as *mut *mut PollData) = data;
            (api.unref)(handle.as_ptr());
            let poll = UvPoll { handle };
            if (api.poll_start)(handle.as_ptr(), UV_READABLE, uv_poll_fired) != 0 {
                poll.close();
                return None;
            }
            Some(poll)
        }
    }

    /// Whether the watcher keeps the event loop alive (it starts unref'd).
    pub fn set_ref(&self, on: bool) {
        if let Some(api) = uv_api() {
            // SAFETY: a handle started in `start` and not closed yet (`close` consumes it).
            unsafe { (if on { api.refer } else { api.unref })(self.handle.as_ptr()) };
        }
    }

    /// Stops watching and frees the handle (once libuv has closed it).
    pub fn close(self) {
        if let Some(api) = uv_api() {
            // SAFETY: a handle started in `start` and not closed before (`self` is consumed).
            unsafe { (api.close)(self.handle.as_ptr(), Some(uv_poll_closed)) };
        }
    }
}

/// A JavaScript function called straight from a callback of its environment's event loop (a
/// `UvPoll`'s), as Node calls its own I/O callbacks: through `napi_make_callback`, so the
/// promise reactions and ticks it queues run before control returns to the loop; what it throws
/// is an uncaught exception, as from any event. With it, a `Float64Array` of the same
/// environment that the caller fills before each call.
pub struct JsCall {
    env: napi::sys::napi_env,
    func: napi::sys::napi_ref,
    slots: napi::sys::napi_ref,
    context: napi::sys::napi_async_context,
}

impl JsCall {
    /// Holds `func` and `slots` (a function and a `Float64Array` of `env`), during a native call
    /// on the environment's thread.
    pub fn new(
        env: napi::sys::napi_env,
        func: napi::sys::napi_value,
        slots: napi::sys::napi_value,
    ) -> Option<JsCall> {
        use napi::sys::{self as n, Status};
        // SAFETY: `env` is the live env of this thread, `func` and `slots` its values; the
        // references and the async context are released in `release`, on the same thread.
        unsafe {
            let mut call = JsCall {
                env,
                func: std::ptr::null_mut(),
                slots: std::ptr::null_mut(),
                context: std::ptr::null_mut(),
            };
            let mut name = std::ptr::null_mut();
            if n::napi_create_reference(env, func, 1, &mut call.func) != Status::napi_ok {
                return None;
            }
            if n::napi_create_reference(env, slots, 1, &mut call.slots) != Status::napi_ok {
                n::napi_delete_reference(env, call.func);
                return None;
            }
            if n::napi_create_string_utf8(env, c"pidfd".as_ptr(), 5, &mut name) != Status::napi_ok
                || n::napi_async_init(env, std::ptr::null_mut(), name, &mut call.context)
                    != Status::napi_ok
            {
                n::napi_delete_reference(env, call.func);
                n::napi_delete_reference(env, call.slots);
                return None;
            }
            Some(call)
        }
    }

    /// Has `fill` write into the numbers of the `Float64Array` (nothing is called where they
    /// cannot be had), then calls the function with one array of numbers. Only from a callback
    /// of the environment's own event loop (no JavaScript on the stack), on its thread.
    pub fn call_with(&self, numbers: &[u32], fill: &mut dyn FnMut(&mut [f64])) {
        use napi::sys::{self as n, Status};
        // SAFETY: on the env's thread, from its loop: a handle scope is opened for the values
        // made here and closed after the call; the references are live until `release`; the
        // typed array's numbers are written while no JavaScript runs (it cannot detach them).
        unsafe {
            let env = self.env;
            let mut scope = std::ptr::null_mut();
            if n::napi_open_handle_scope(env, &mut scope) != Status::napi_ok {
                return;
            }
            let (mut func, mut global, mut array, mut result) = (
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            );
            let (mut slots, mut kind, mut len, mut data, mut buffer, mut offset) = (
                std::ptr::null_mut(),
                0,
                0usize,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                0usize,
            );
            // JavaScript does not run while the slice lives (it ends before the call below).
            let filled = n::napi_get_reference_value(env, self.slots, &mut slots)
                == Status::napi_ok
                && !slots.is_null()
                && n::napi_get_typedarray_info(
                    env,
                    slots,
                    &mut kind,
                    &mut len,
                    &mut data,
                    &mut buffer,
                    &mut offset,
                ) == Status::napi_ok
                && kind == n::TypedarrayType::float64_array
                && !data.is_null()
                && {
                    fill(std::slice::from_raw_parts_mut(data.cast::<f64>(), len));
                    true
                };
            let ready = filled
                && n::napi_get_reference_value(env, self.func, &mut func) == Status::napi_ok
                && !func.is_null()
                && n::napi_get_global(env, &mut global) == Status::napi_ok
                && n::napi_create_array_with_length(env, numbers.len(), &mut array)
                    == Status::napi_ok
                && numbers.iter().enumerate().all(|(i, &v)| {
                    let mut value = std::ptr::null_mut();
                    n::napi_create_uint32(env, v, &mut value) == Status::napi_ok
                        && n::napi_set_element(env, array, i as u32, value) == Status::napi_ok
                });
            let mut callback_scope = std::ptr::null_mut();
            // In the channel's async context, as a threadsafe function's call is; an exception
            // is raised as uncaught while that context is still current (not after the scope is
            // closed), so whoever maps errors to async contexts (node:test fails the test that
            // spawned) still finds whose it is, and nothing hangs waiting for it.
            if ready
                && n::napi_open_callback_scope(env, global, self.context, &mut callback_scope)
                    == Status::napi_ok
            {
                let args = [array];
                let status =
                    n::napi_call_function(env, global, func, 1, args.as_ptr(), &mut result);
                if status == Status::napi_pending_exception {
                    let mut error = std::ptr::null_mut();
                    if n::napi_get_and_clear_last_exception(env, &mut error) == Status::napi_ok {
                        n::napi_fatal_exception(env, error);
                    }
                }
                n::napi_close_callback_scope(env, callback_scope);
            }
            n::napi_close_handle_scope(env, scope);
        }
    }

    /// Lets go of the function (at the environment's teardown, on its thread).
    pub fn release(self) {
        // SAFETY: made in `new` on this env, released once (`self` is consumed).
        unsafe {
            napi::sys::napi_async_destroy(self.env, self.context);
            napi::sys::napi_delete_reference(self.env, self.func);
            napi::sys::napi_delete_reference(self.env, self.slots);
        }
    }
}

/// `pidfd_open(2)` with flags (`PIDFD_NONBLOCK` is `O_NONBLOCK`, Linux ≥ 5.10).
pub fn pidfd_open_flags(pid: i32, flags: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with integer arguments.
    let fd = cvt(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, flags) })?;
    // SAFETY: a new descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// `pidfd_getfd(2)` (Linux ≥ 5.6): a close-on-exec duplicate of `target` in that process.
pub fn pidfd_getfd(fd: BorrowedFd<'_>, target: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with integer arguments.
    let new = cvt(unsafe { libc::syscall(libc::SYS_pidfd_getfd, fd.as_raw_fd(), target, 0) })?;
    // SAFETY: a new descriptor (the kernel sets close-on-exec).
    Ok(unsafe { OwnedFd::from_raw_fd(new as RawFd) })
}

/// `ioctl(PIDFD_GET_<kind>_NAMESPACE)` (Linux ≥ 6.11), `nr` 1 to 10.
pub fn pidfd_namespace(fd: BorrowedFd<'_>, nr: u32) -> io::Result<OwnedFd> {
    let request = (0xFF << 8) | nr as libc::c_ulong;
    // SAFETY: the namespace ioctls take no argument (it must be 0).
    let ns = cvt(unsafe { libc::ioctl(fd.as_raw_fd(), request as _, 0) } as libc::c_long)?;
    // SAFETY: a new descriptor (the kernel's open_namespace() makes it close-on-exec).
    Ok(unsafe { OwnedFd::from_raw_fd(ns as RawFd) })
}

/// Opens a path read-only and close-on-exec (a `/proc/<pid>/ns/<kind>` link).
pub fn open_cloexec(path: &CStr) -> io::Result<OwnedFd> {
    // SAFETY: a NUL-terminated path.
    let fd = cvt(
        unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) } as libc::c_long,
    )?;
    // SAFETY: a new descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// The poll events a pidfd has now: `POLLIN` once the process exited, `POLLHUP` once reaped.
pub fn poll_now(fd: BorrowedFd<'_>) -> io::Result<libc::c_short> {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    retry(|| poll_raw(std::slice::from_mut(&mut pfd), 0))?;
    Ok(pfd.revents)
}

/// Blocks until a pidfd hangs up (the process has been reaped, by whoever is its parent), or
/// `timeout_ms` passes (-1: no limit). Kernels before 6.9 never hang a pidfd up at the reap.
pub fn poll_hangup(fd: BorrowedFd<'_>, timeout_ms: libc::c_int) -> io::Result<()> {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: 0, // POLLHUP is always reported
        revents: 0,
    };
    retry(|| poll_raw(std::slice::from_mut(&mut pfd), timeout_ms)).map(drop)
}

/// The `Pid:` a pidfd's fdinfo shows: the process's pid in our namespace, or -1 once it has been
/// released (reaped) (Linux 5.10). `None` where the field is missing.
pub fn pidfd_fdinfo_pid(fd: BorrowedFd<'_>) -> io::Result<Option<i32>> {
    let text = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd()))?;
    Ok(text
        .lines()
        .find_map(|line| line.strip_prefix("Pid:"))
        .and_then(|v| v.trim().parse().ok()))
}

/// Clears `O_NONBLOCK` on an open file (shared by every descriptor of it), as libuv does for a
/// child's stdio.
pub fn set_blocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: fcntl on a live descriptor.
    let flags =
        cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) } as libc::c_long)? as libc::c_int;
    if flags & libc::O_NONBLOCK != 0 {
        // SAFETY: as above.
        cvt(
            unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK) }
                as libc::c_long,
        )?;
    }
    Ok(())
}

/// `poll(2)` on several descriptors for up to `timeout_ms` (-1: no limit); the number ready.
/// A signal handler's interruption counts as nothing ready (the caller looks at its clock again).
pub fn poll_fds(fds: &mut [libc::pollfd], timeout_ms: libc::c_int) -> io::Result<usize> {
    match poll_raw(fds, timeout_ms) {
        Err(e) if e.raw_os_error() == Some(libc::EINTR) => Ok(0),
        other => other,
    }
}

/// Set once `poll` is refused (EPERM, ENOSYS: a seccomp filter traced from Node, which never
/// calls it): every later wait asks an epoll set instead.
static POLL_REFUSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `poll(2)` on `fds`: the count of entries with events. Where `poll` is refused, the same answer
/// from an epoll set of its own, waited on with `epoll_pwait` (which libuv itself needs).
fn poll_raw(fds: &mut [libc::pollfd], timeout_ms: libc::c_int) -> io::Result<usize> {
    use std::sync::atomic::Ordering::Relaxed;
    if !POLL_REFUSED.load(Relaxed) {
        // SAFETY: `fds` is a live slice of pollfd of the length given.
        let r = cvt(
            unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) }
                as libc::c_long,
        );
        match r {
            Err(e) if matches!(e.raw_os_error(), Some(libc::EPERM | libc::ENOSYS)) => {
                POLL_REFUSED.store(true, Relaxed)
            }
            other => return other.map(|n| n as usize),
        }
    }
    let epoll = epoll_create()?;
    for (i, pfd) in fds.iter_mut().enumerate() {
        pfd.revents = 0;
        // poll's and epoll's event bits are the same numbers; level-triggered, as poll is.
        let mut event = libc::epoll_event {
            events: pfd.events as u16 as u32,
            u64: i as u64,
        };
        // SAFETY: a live epoll descriptor, the caller's descriptor and a valid event.
        cvt(
            unsafe { libc::epoll_ctl(epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, pfd.fd, &mut event) }
                as libc::c_long,
        )?;
    }
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; fds.len().max(1)];
    let n = epoll_pwait(epoll.as_fd(), &mut events, timeout_ms)?;
    for event in &events[..n] {
        if let Some(pfd) = fds.get_mut(event.u64 as usize) {
            pfd.revents = event.events as u16 as libc::c_short;
        }
    }
    Ok(n)
}

/// One `recv` on a stream socket without waiting: the bytes read (0 at EOF), EAGAIN if none.
pub fn recv_nowait(sock: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    retry(|| {
        // SAFETY: a valid buffer of the given length.
        cvt(unsafe {
            libc::recv(
                sock.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        } as libc::c_long)
    })
    .map(|n| n as usize)
}

/// One `send` on a stream socket without waiting and without SIGPIPE: the bytes the socket took
/// (EAGAIN if none, EPIPE once nobody can read them).
pub fn send_nowait(sock: BorrowedFd<'_>, bytes: &[u8]) -> io::Result<usize> {
    retry(|| {
        // SAFETY: a valid buffer of the given length.
        cvt(unsafe {
            libc::send(
                sock.as_raw_fd(),
                bytes.as_ptr().cast(),
                bytes.len(),
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            )
        } as libc::c_long)
    })
    .map(|n| n as usize)
}

/// `shutdown(SHUT_WR)`: the reader at the other end sees EOF once it has read what was sent.
pub fn shutdown_write(sock: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: shutdown on a live descriptor.
    cvt(unsafe { libc::shutdown(sock.as_raw_fd(), libc::SHUT_WR) } as libc::c_long).map(drop)
}

/// `prctl(PR_SET_CHILD_SUBREAPER)`: descendants orphaned by their parents are reparented to
/// this process instead of init.
pub fn set_child_subreaper(on: bool) -> io::Result<()> {
    // SAFETY: PR_SET_CHILD_SUBREAPER takes an integer and no pointer.
    cvt(unsafe {
        libc::prctl(
            libc::PR_SET_CHILD_SUBREAPER,
            libc::c_ulong::from(on),
            0,
            0,
            0,
        )
    }
    .into())
    .map(drop)
}

/// Whether the child `pid` has exited, without reaping it
/// (`waitid(P_PID, pid, WEXITED | WNOHANG | WNOWAIT)`).
pub fn child_exited(pid: i32) -> io::Result<bool> {
    let mut info = MaybeUninit::<libc::siginfo_t>::zeroed();
    retry(|| {
        // SAFETY: the out-pointer points to zeroed storage of the right type.
        cvt(unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                info.as_mut_ptr(),
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            )
        }
        .into())
    })?;
    // SAFETY: zeroed, then possibly filled by the kernel; the sigchld member is the one set.
    Ok(unsafe { info.assume_init().si_pid() } != 0)
}

/// Reaps the child `pid` if it has exited (`wait4(pid, WNOHANG)`): its wait-status and rusage.
pub fn reap_child(pid: i32) -> io::Result<Option<(i32, libc::rusage)>> {
    let mut status = 0;
    let mut usage = MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: both out-pointers point to storage of the right type.
    let got = retry(|| {
        cvt(unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, usage.as_mut_ptr()) }.into())
    })?;
    if got == 0 {
        return Ok(None);
    }
    // SAFETY: zeroed, then filled by the kernel.
    Ok(Some((status, unsafe { usage.assume_init() })))
}

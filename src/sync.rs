//! `spawnSync`: start a program through `spawn::spawn` (the helper: its maxRSS is its own), then,
//! on the calling thread and without the event loop, feed its stdin, drain its output pipes with
//! `poll`, enforce the timeout and maxBuffer, and collect its exit with the process's blocking
//! wait. The exit is the package's record (the watcher thread or this wait reaps it, once).
//!
//! As Node's `spawnSync` (src/spawn_sync.cc): the call returns once the child has exited AND
//! every output pipe has reached EOF (a grandchild holding stdout keeps it reading); the timeout
//! and maxBuffer both "kill" once: the child gets `killSignal` unless it has exited, every pipe
//! is closed (what was read is kept), and the exit is waited for without a limit. The first
//! error wins (spawn, ETIMEDOUT, ENOBUFS, a refused signal); a pipe's error (EPIPE: the child
//! did not read all its input) is reported only where there is no other.

use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use crate::error::{Result, SysError};
use crate::exit::NativeExit;
use crate::process::Process;
use crate::spawn::{self, NativeSpawnOptions};
use crate::sys;

/// What `spawnSync` adds to a spawn, as the JS layer resolved it.
#[napi(object)]
pub struct NativeSyncOptions {
    /// Kill the child after this many milliseconds (`None` or 0: never).
    pub timeout: Option<f64>,
    /// Kill the child once its pipes have given more than this many bytes in all (`None` or 0:
    /// no limit).
    pub max_buffer: Option<f64>,
    /// The signal of both kills.
    pub kill_signal: i32,
}

/// What came of it, for the JS layer to shape as Node's result.
#[napi(object)]
pub struct NativeSyncResult {
    /// 0 when the program could not be started.
    pub pid: i32,
    /// The (positive) errno of what went wrong, if anything.
    pub errno: Option<i32>,
    /// Per child descriptor: what it wrote into its pipe (`None` for stdin and for descriptors
    /// that are not pipes). `None` when the program could not be started.
    pub output: Option<Vec<Option<Buffer>>>,
    /// `None` when the program could not be started.
    pub exit: Option<NativeExit>,
}

/// Bytes read at a time, as Node's (so what maxBuffer lets through is alike).
const CHUNK: usize = 64 * 1024;

/// The child's stdin while there is input left to write.
struct Input<'a> {
    fd: OwnedFd,
    left: &'a [u8],
}

struct Output {
    /// `None` once at EOF or closed.
    fd: Option<OwnedFd>,
    data: Vec<u8>,
}

struct Drain<'a> {
    process: &'a Process,
    input: Option<Input<'a>>,
    /// Our end of the stdin pipe once written (or never to be): kept open until the end, as Node
    /// keeps it, so the child's own writes to it do not fail.
    stdin_done: Option<OwnedFd>,
    /// By child descriptor; `None` where it is not an output pipe.
    outputs: Vec<Option<Output>>,
    total: f64,
    max_buffer: Option<f64>,
    deadline: Option<Instant>,
    kill_signal: i32,
    killed: bool,
    error: Option<i32>,
    pipe_error: Option<i32>,
}

/// Runs the program to its end. `Err` only for what Node would not survive either (a failing
/// `waitid`); a program that cannot start, or a `poll` refused while it runs, is a result with
/// its errno.
pub fn spawn_sync(
    options: NativeSpawnOptions,
    sync: NativeSyncOptions,
    input: Option<&[u8]>,
) -> Result<NativeSyncResult> {
    // The clock starts before the spawn, as Node's timer does.
    let deadline = sync
        .timeout
        .filter(|&ms| ms > 0.0)
        .and_then(|ms| Duration::try_from_secs_f64(ms / 1000.0).ok())
        .and_then(|d| Instant::now().checked_add(d));
    let spawned = match spawn::spawn(options, None) {
        Ok(s) => s,
        Err(e) => {
            return Ok(NativeSyncResult {
                pid: 0,
                errno: Some(e.errno),
                output: None,
                exit: None,
            })
        }
    };
    let process = spawned.process;
    let mut stdio = spawned.stdio.into_iter();
    let (input, stdin_done) = match stdio.next().flatten() {
        Some(fd) => match input.filter(|i| !i.is_empty()) {
            Some(left) => (Some(Input { fd, left }), None),
            None => (None, Some(fd)),
        },
        None => (None, None),
    };
    let mut outputs = vec![None];
    outputs.extend(stdio.map(|fd| {
        fd.map(|fd| Output {
            fd: Some(fd),
            data: Vec::new(),
        })
    }));
    let mut drain = Drain {
        process: &process,
        input,
        stdin_done: None,
        outputs,
        total: 0.0,
        max_buffer: sync.max_buffer.filter(|&m| m > 0.0),
        deadline,
        kill_signal: sync.kill_signal,
        killed: false,
        error: None,
        pipe_error: None,
    };
    if let Some(fd) = stdin_done {
        drain.end_input(fd);
    }
    drain.pump()?;
    let exit = drain.exit()?;
    Ok(NativeSyncResult {
        pid: process.pid(),
        errno: drain.error.or(drain.pipe_error),
        output: Some(
            drain
                .outputs
                .into_iter()
                .map(|o| o.map(|o| Buffer::from(o.data)))
                .collect(),
        ),
        exit: Some(exit),
    })
}

/// Milliseconds left until `deadline`, rounded up (-1: none).
fn ms_left(deadline: Option<Instant>) -> libc::c_int {
    match deadline {
        None => -1,
        Some(d) => d
            .saturating_duration_since(Instant::now())
            .as_micros()
            .div_ceil(1000)
            .min(i32::MAX as u128) as libc::c_int,
    }
}

/// Which descriptor a pollfd entry watches.
#[derive(Clone, Copy)]
enum Slot {
    Input,
    Output(usize),
}

impl Drain<'_> {
    fn set_error(&mut self, errno: i32) {
        self.error.get_or_insert(errno);
    }

    fn set_pipe_error(&mut self, errno: i32) {
        self.pipe_error.get_or_insert(errno);
    }

    /// All input written (or none to write): the child reads EOF after it.
    fn end_input(&mut self, fd: OwnedFd) {
        match sys::shutdown_write(fd.as_fd()) {
            // The child's end is gone already: nothing to tell it.
            Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => {}
            Err(e) => self.set_pipe_error(e.raw_os_error().unwrap_or(libc::EIO)),
            Ok(()) => {}
        }
        self.stdin_done = Some(fd);
    }

    /// Signals the child once (unless it has exited), closes every pipe and drops the deadline.
    /// A signal the kernel refuses is the error, and SIGKILL goes instead (as Node does).
    fn kill(&mut self) {
        if self.killed {
            return;
        }
        self.killed = true;
        match self.process.kill(self.kill_signal) {
            Ok(()) => {}
            Err(e) if e.errno == libc::ESRCH => {}
            Err(e) => {
                self.set_error(e.errno);
                let _ = self.process.kill(libc::SIGKILL);
            }
        }
        self.input = None;
        self.stdin_done = None;
        for output in self.outputs.iter_mut().flatten() {
            output.fd = None;
        }
        self.deadline = None;
    }

    /// Writes input and reads output until every output pipe is at EOF and the input is
    /// written, or a kill closes them.
    fn pump(&mut self) -> Result<()> {
        let mut buf = vec![0u8; CHUNK];
        let mut fds = Vec::new();
        let mut slots = Vec::new();
        loop {
            fds.clear();
            slots.clear();
            if let Some(input) = &self.input {
                fds.push(pollfd(&input.fd, libc::POLLOUT));
                slots.push(Slot::Input);
            }
            for (i, output) in self.outputs.iter().enumerate() {
                if let Some(fd) = output.as_ref().and_then(|o| o.fd.as_ref()) {
                    fds.push(pollfd(fd, libc::POLLIN));
                    slots.push(Slot::Output(i));
                }
            }
            if fds.is_empty() {
                return Ok(());
            }
            let wait = ms_left(self.deadline);
            if wait == 0 {
                self.set_error(libc::ETIMEDOUT);
                self.kill();
                return Ok(());
            }
            match sys::poll_fds(&mut fds, wait) {
                Ok(0) => continue, // the deadline is looked at again
                Ok(_) => {}
                // Refused (a seccomp filter) or failing: the child cannot be heard. It is ended
                // and collected, and the result carries the errno, as a failed spawn's does.
                Err(e) => {
                    self.set_error(e.raw_os_error().unwrap_or(libc::EIO));
                    self.kill();
                    return Ok(());
                }
            }
            for (pfd, &slot) in fds.iter().zip(&slots) {
                if pfd.revents == 0 {
                    continue;
                }
                match slot {
                    Slot::Input => self.write_input(),
                    Slot::Output(i) => self.read_output(i, &mut buf),
                }
                if self.killed {
                    return Ok(());
                }
            }
        }
    }

    /// As much input as the pipe takes now; EOF after the last byte.
    fn write_input(&mut self) {
        let Some(input) = &mut self.input else { return };
        match sys::send_nowait(input.fd.as_fd(), input.left) {
            Ok(n) => {
                input.left = &input.left[n..];
                if input.left.is_empty() {
                    if let Some(input) = self.input.take() {
                        self.end_input(input.fd);
                    }
                }
            }
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {}
            // EPIPE: nobody reads the child's stdin any more.
            Err(e) => {
                self.set_pipe_error(e.raw_os_error().unwrap_or(libc::EIO));
                // The pipe stays open until the end, as Node's does.
                self.stdin_done = self.input.take().map(|i| i.fd);
            }
        }
    }

    /// One chunk of output; over maxBuffer in all, the kill (the chunk is kept, as Node's).
    fn read_output(&mut self, i: usize, buf: &mut [u8]) {
        let Some(output) = self.outputs.get_mut(i).and_then(Option::as_mut) else {
            return;
        };
        let Some(fd) = &output.fd else { return };
        match sys::recv_nowait(fd.as_fd(), buf) {
            Ok(0) => output.fd = None,
            Ok(n) => {
                output.data.extend_from_slice(&buf[..n]);
                self.total += n as f64;
                if self.max_buffer.is_some_and(|max| self.total > max) {
                    self.set_error(libc::ENOBUFS);
                    self.kill();
                }
            }
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {}
            Err(e) => {
                output.fd = None;
                self.set_pipe_error(e.raw_os_error().unwrap_or(libc::EIO));
            }
        }
    }

    /// The exit, with the deadline still in force unless a kill has come; past it, the kill,
    /// then the exit however long it takes.
    fn exit(&mut self) -> Result<NativeExit> {
        if !self.killed {
            if let Some(exit) = self.process.wait(self.deadline)? {
                return Ok(exit);
            }
            self.set_error(libc::ETIMEDOUT);
            self.kill();
        }
        self.process
            .wait(None)?
            .ok_or_else(|| SysError::new("waitid", libc::EIO))
    }
}

fn pollfd(fd: &OwnedFd, events: libc::c_short) -> libc::pollfd {
    use std::os::fd::AsRawFd;
    libc::pollfd {
        fd: fd.as_raw_fd(),
        events,
        revents: 0,
    }
}

//! Readiness and completion: every watched pidfd in one epoll set, which one tokio `AsyncFd`
//! task on a single background thread waits on, and one completion channel (a threadsafe
//! function) per JavaScript environment.
//!
//! The task collects the exit the moment a pidfd turns readable (for a `child_process` child
//! this races libuv's reap, so it must not wait for JavaScript), caches it in the `Process`, then
//! tells every subscribed environment the id of the handle to settle.

use std::cell::RefCell;
use std::collections::HashMap;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::{JsResult, SysError};
use crate::process::{lock, Process};
use crate::{features, sys};
use napi::bindgen_prelude::{FnArgs, Function};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status};
use napi_derive::napi;
use tokio::io::unix::AsyncFd;

/// What a channel carries: the handle id and, if watching failed, the error.
struct Notification {
    id: u32,
    error: Option<SysError>,
}

/// The callback's arguments, spread: `(id, errorCode, errorMessage)`.
type NotifyArgs = FnArgs<(u32, Option<String>, Option<String>)>;
type Tsfn = ThreadsafeFunction<Notification, (), NotifyArgs, Status, false, true>;

struct ChannelInner {
    /// `None` once the environment is torn down.
    tsfn: Mutex<Option<Tsfn>>,
}

impl ChannelInner {
    fn notify(&self, note: Notification) {
        if let Some(tsfn) = &*lock(&self.tsfn) {
            // Closing (environment gone) or a full queue cannot happen for a live env with an
            // unbounded queue; either way there is nobody left to tell.
            let _ = tsfn.call(note, ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
}

/// The completion channel of one JavaScript environment (main thread or worker).
#[napi]
pub struct Channel {
    inner: Arc<ChannelInner>,
    polls: Rc<Polls>,
    /// The host's event loop is Node's libuv, so the loop may peek (Bun's N-API reports a loop,
    /// but its `uv_*` functions are stubs that abort the process).
    libuv: bool,
}

/// The libuv poll watchers of one environment's peeking handles, by key; closed at the latest
/// when the environment is torn down (a worker's loop must have no handle of ours left).
/// Only ever touched on the environment's own thread.
#[derive(Default)]
pub struct Polls(RefCell<HashMap<u64, sys::UvPoll>>);

impl Polls {
    /// Stops and frees one watcher, if it is still there.
    pub fn close(&self, key: u64) {
        let poll = self.0.borrow_mut().remove(&key);
        if let Some(poll) = poll {
            poll.close();
        }
    }

    fn close_all(&self) {
        let polls: Vec<_> = self.0.borrow_mut().drain().map(|(_, p)| p).collect();
        for poll in polls {
            poll.close();
        }
    }
}

#[napi]
impl Channel {
    /// `callback(id, errorCode, errorMessage)` runs on the environment's thread. The channel
    /// starts unref'd: `ref()` while a ref'd wait is pending. `libuv`: the host is Node, whose
    /// event loop may be watched through libuv (elsewhere the watcher thread alone serves).
    #[napi(constructor, catch_unwind)]
    #[allow(clippy::type_complexity)] // spelled out so the generated typings name each argument
    pub fn new(
        env: Env,
        callback: Function<FnArgs<(u32, Option<String>, Option<String>)>, ()>,
        libuv: bool,
    ) -> napi::Result<Self> {
        let tsfn = callback
            .build_threadsafe_function::<Notification>()
            .callee_handled::<false>()
            .weak::<true>()
            .build_callback(|ctx| {
                let (code, message) = match ctx.value.error {
                    Some(e) => {
                        let e = napi::Error::<String>::from(e);
                        (Some(e.status.clone()), Some(e.reason.clone()))
                    }
                    None => (None, None),
                };
                Ok(NotifyArgs::from((ctx.value.id, code, message)))
            })?;
        let inner = Arc::new(ChannelInner {
            tsfn: Mutex::new(Some(tsfn)),
        });
        let polls = Rc::new(Polls::default());
        env.add_env_cleanup_hook((inner.clone(), polls.clone()), |(inner, polls)| {
            polls.close_all();
            #[allow(deprecated)]
            if let Some(tsfn) = lock(&inner.tsfn).take() {
                let _ = tsfn.abort();
            }
        })?;
        Ok(Self {
            inner,
            polls,
            libuv,
        })
    }

    /// Keeps the event loop alive (a ref'd wait is pending).
    #[napi(js_name = "ref", catch_unwind)]
    pub fn refer(&self, env: Env) -> napi::Result<()> {
        #[allow(deprecated)]
        match &mut *lock(&self.inner.tsfn) {
            Some(tsfn) => tsfn.refer(&env),
            None => Ok(()),
        }
    }

    /// Lets the event loop end (no ref'd wait is pending).
    #[napi(catch_unwind)]
    pub fn unref(&self, env: Env) -> napi::Result<()> {
        #[allow(deprecated)]
        match &mut *lock(&self.inner.tsfn) {
            Some(tsfn) => tsfn.unref(&env),
            None => Ok(()),
        }
    }
}

struct Subscriber {
    key: u64,
    channel: Arc<ChannelInner>,
    id: u32,
}

/// Per-process watcher state, guarded by `Process::watch`.
#[derive(Default)]
pub struct WatchState {
    /// The key of the pidfd in the watcher's epoll set, while it is there.
    watched: Option<u64>,
    /// The exit is cached: nothing more to watch.
    done: bool,
    subscribers: Vec<Subscriber>,
}

/// Every watched pidfd sits in one epoll set (edge-triggered, by key). One tokio task on the
/// "pidfd-watch" thread waits for that set to turn readable through an `AsyncFd`, and collects
/// the exit of each ready process. Adding a process is one `epoll_ctl` on the caller's thread:
/// no task, no wake-up of the watcher thread, a few bytes per process.
struct Watcher {
    epoll: OwnedFd,
    watched: Mutex<HashMap<u64, Arc<Process>>>,
    /// Exited processes that are not ours to reap, on a kernel that will not announce their reap
    /// (before Linux 6.9): looked at again every `LINGER_MS` until reaped or no longer watched.
    lingering: Mutex<Vec<Arc<Process>>>,
    /// Wakes the lingering task when the list stops being empty.
    linger: tokio::sync::Notify,
}

impl Watcher {
    fn linger(&self, process: &Arc<Process>) {
        let mut list = lock(&self.lingering);
        if !list.iter().any(|p| Arc::ptr_eq(p, process)) {
            list.push(process.clone());
            self.linger.notify_one();
        }
    }
}

impl AsFd for Watcher {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.epoll.as_fd()
    }
}

/// The epoll set, made once. Only success is remembered: a shortage of descriptors at the
/// first spawn fails that spawn, not every later one.
static WATCHER: OnceLock<Watcher> = OnceLock::new();

fn watcher() -> Result<&'static Watcher, SysError> {
    let watcher = match WATCHER.get() {
        Some(w) => w,
        None => {
            let made = Watcher {
                epoll: sys::epoll_create().map_err(|e| SysError::from_io("epoll_create1", e))?,
                watched: Mutex::default(),
                lingering: Mutex::default(),
                linger: tokio::sync::Notify::new(),
            };
            // A racing caller may have set it first: theirs is kept, ours closed.
            let _ = WATCHER.set(made);
            WATCHER
                .get()
                .ok_or_else(|| SysError::new("epoll_create1", libc::EIO))?
        }
    };
    start_thread(watcher)?;
    Ok(watcher)
}

/// Starts the watcher thread once it can: its tokio runtime and the one task that collects
/// exits. A failure (no thread, no descriptor for the runtime) is this call's; the next one
/// tries again.
fn start_thread(watcher: &'static Watcher) -> Result<(), SysError> {
    static STARTED: Mutex<bool> = Mutex::new(false);
    let mut started = lock(&STARTED);
    if *started {
        return Ok(());
    }
    let failed = |e: std::io::Error| {
        SysError::from_io("pthread_create", e)
            .with_detail("could not start the pidfd watcher thread")
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(failed)?;
    // Registered here, so a failure is reported to the caller rather than lost.
    let ready = {
        let _context = rt.enter();
        sys::watch_readable(watcher).map_err(|e| SysError::from_io("epoll_ctl", e))?
    };
    rt.spawn(collect(watcher, ready));
    rt.spawn(linger(watcher));
    std::thread::Builder::new()
        .name("pidfd-watch".into())
        .spawn(move || {
            // Woken by an exit on a busy CPU, collect it now rather than after the running
            // task's slice (a `child_process` child's rusage is at stake).
            sys::set_thread_slice(100 * 1000);
            rt.block_on(std::future::pending::<()>())
        })
        .map_err(failed)?;
    *started = true;
    Ok(())
}

/// Starts the watcher thread if it is not running yet.
pub fn ensure_runtime() -> Result<(), SysError> {
    watcher().map(drop)
}

/// The watcher task: whenever the epoll set turns readable, collects the exit of every ready
/// process. A process that is not ours and not yet reaped by its parent stays in the set: its
/// reap is the next edge.
async fn collect(watcher: &'static Watcher, ready: AsyncFd<sys::Watched<&'static Watcher>>) {
    let mut keys = Vec::with_capacity(64);
    loop {
        let Ok(mut guard) = ready.readable().await else {
            return; // the runtime is shutting down
        };
        loop {
            if sys::epoll_ready(watcher.epoll.as_fd(), &mut keys).is_err() || keys.is_empty() {
                guard.clear_ready();
                break;
            }
            for key in &keys {
                let process = lock(&watcher.watched).get(key).cloned();
                let Some(process) = process else { continue };
                match process.try_wait() {
                    // Exited, not yet reaped by its parent: the reap is the next edge, except
                    // on a kernel that does not announce it.
                    Ok(None) if process.lingers() => watcher.linger(&process),
                    Ok(None) => {}
                    Ok(Some(_)) => complete(&process, Ok(())),
                    Err(e) => complete(&process, Err(e)),
                }
            }
        }
    }
}

/// Before Linux 6.9 a reap wakes nobody: the processes that exited and wait for their parent to
/// reap them are looked at again at a short interval, until reaped or no longer watched. Idle
/// (no timer) while there are none.
async fn linger(watcher: &'static Watcher) {
    let interval = std::time::Duration::from_millis(crate::process::LINGER_MS as u64);
    loop {
        if lock(&watcher.lingering).is_empty() {
            watcher.linger.notified().await;
            continue;
        }
        tokio::time::sleep(interval).await;
        let list = std::mem::take(&mut *lock(&watcher.lingering));
        let mut keep = Vec::with_capacity(list.len());
        for process in list {
            if lock(&process.watch).watched.is_none() {
                continue; // nobody waits any more
            }
            match process.try_wait() {
                Ok(None) => keep.push(process),
                Ok(Some(_)) => complete(&process, Ok(())),
                Err(e) => complete(&process, Err(e)),
            }
        }
        lock(&watcher.lingering).extend(keep);
    }
}

/// Puts the process in the watcher's set (the caller holds its watch state).
fn watch(process: &Arc<Process>, w: &mut WatchState) -> Result<(), SysError> {
    if w.watched.is_some() || w.done {
        return Ok(());
    }
    let watcher = watcher()?;
    let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
    lock(&watcher.watched).insert(key, process.clone());
    if let Err(e) = sys::epoll_add(watcher.epoll.as_fd(), process.fd(), key) {
        lock(&watcher.watched).remove(&key);
        return Err(SysError::from_io("epoll_ctl", e));
    }
    w.watched = Some(key);
    Ok(())
}

/// Takes the process out of the watcher's set, if it is there.
fn unwatch(process: &Process, w: &mut WatchState) {
    if let (Some(key), Some(watcher)) = (w.watched.take(), WATCHER.get()) {
        let _ = sys::epoll_del(watcher.epoll.as_fd(), process.fd());
        lock(&watcher.watched).remove(&key);
    }
}

/// Starts watching a process this package spawned: it is reaped whether or not anyone waits.
/// The caller made sure the watcher runs (`ensure_runtime`).
pub fn start_reaper(process: &Arc<Process>) {
    // The watcher runs, so only a failing epoll_ctl (ENOMEM) can fail here; a waiter would
    // then get that error from `subscribe`.
    let _ = watch(process, &mut lock(&process.watch));
}

static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

/// Asks for `channel` to be told `id` once the exit of `process` is cached.
/// `None`: it already is (the caller reads it now). `Some(key)`: subscribed.
pub fn subscribe(process: &Arc<Process>, channel: &Channel, id: u32) -> JsResult<Option<u64>> {
    let mut w = lock(&process.watch);
    if w.done {
        return Ok(None);
    }
    watch(process, &mut w)?;
    let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
    w.subscribers.push(Subscriber {
        key,
        channel: channel.inner.clone(),
        id,
    });
    Ok(Some(key))
}

/// Also peeks from this environment's own event loop for a process whose exit is read with
/// `WNOWAIT` (a `child_process` child): libuv runs the I/O callbacks of an epoll batch before it
/// reaps on SIGCHLD, so this peek beats libuv for every exit in that batch, and the watcher
/// thread covers the rest. The first to collect keeps the record and tells the subscribers.
/// (For a process the package reaps there is no race to win, and measured here the extra
/// watcher cost more than the hop through the watcher thread it saves.) Returns its key.
pub fn peek_from_loop(
    env: &Env,
    process: &Arc<Process>,
    channel: &Channel,
) -> Option<(Weak<Polls>, u64)> {
    if !channel.libuv
        || process.reaps()
        || lock(&process.watch).done
        || !features::switches().loop_peek
    {
        return None;
    }
    let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
    let peeker = process.clone();
    let polls = Rc::downgrade(&channel.polls);
    let on_ready = polls.clone();
    let poll = sys::UvPoll::start(
        env.raw(),
        process.fd(),
        Box::new(move || {
            // Collects (and caches) the exit if it can be had now; a process that is not ours
            // and not yet reaped, and every error, are the watcher thread's to report.
            if let Ok(Some(_)) = peeker.try_wait() {
                complete(&peeker, Ok(()));
            }
            if let Some(polls) = on_ready.upgrade() {
                polls.close(key);
            }
        }),
    )?;
    channel.polls.0.borrow_mut().insert(key, poll);
    Some((polls, key))
}

/// Drops a subscription; a process nobody waits for any more (and that this package does not
/// reap) leaves the watcher's set, so its handle can let go of the pidfd.
pub fn unsubscribe(process: &Process, key: u64) {
    let mut w = lock(&process.watch);
    w.subscribers.retain(|s| s.key != key);
    if w.subscribers.is_empty() && !process.owned() {
        unwatch(process, &mut w);
    }
}

/// Tells every subscriber, once: whoever learns the exit first (the watcher thread, or an
/// event loop's poll watcher) takes the process out of the set and drains the list.
fn complete(process: &Process, outcome: Result<(), SysError>) {
    let subscribers = {
        let mut w = lock(&process.watch);
        w.done |= outcome.is_ok();
        unwatch(process, &mut w);
        std::mem::take(&mut w.subscribers)
    };
    for s in subscribers {
        s.channel.notify(Notification {
            id: s.id,
            error: outcome.clone().err(),
        });
    }
}

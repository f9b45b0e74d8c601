//! Readiness and completion: one tokio `AsyncFd` task per watched process on a single background
//! thread, and one completion channel (a threadsafe function) per JavaScript environment.
//!
//! A task collects the exit the moment the pidfd turns readable (for a `child_process` child this
//! races libuv's reap, so it must not wait for JavaScript), caches it in the `Process`, then tells
//! every subscribed environment the id of the handle to settle.

use std::cell::RefCell;
use std::collections::HashMap;
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
    /// starts unref'd: `ref()` while a ref'd wait is pending.
    #[napi(constructor, catch_unwind)]
    #[allow(clippy::type_complexity)] // spelled out so the generated typings name each argument
    pub fn new(
        env: Env,
        callback: Function<FnArgs<(u32, Option<String>, Option<String>)>, ()>,
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
        Ok(Self { inner, polls })
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
    running: bool,
    /// The exit is cached: nothing more to watch.
    done: bool,
    subscribers: Vec<Subscriber>,
}

fn runtime() -> Result<&'static tokio::runtime::Handle, SysError> {
    static RUNTIME: OnceLock<Option<tokio::runtime::Handle>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .build()
                .ok()?;
            let handle = rt.handle().clone();
            std::thread::Builder::new()
                .name("pidfd-watch".into())
                .spawn(move || rt.block_on(std::future::pending::<()>()))
                .ok()?;
            Some(handle)
        })
        .as_ref()
        .ok_or_else(|| {
            SysError::new("pthread_create", libc::EAGAIN)
                .with_detail("could not start the pidfd watcher thread")
        })
}

/// Starts the watcher thread if it is not running yet.
pub fn ensure_runtime() -> Result<(), SysError> {
    runtime().map(drop)
}

/// Starts the watcher of a process this package spawned: it reaps whether or not anyone waits.
/// The caller made sure the runtime runs (`ensure_runtime`).
pub fn start_reaper(process: &Arc<Process>) {
    let mut w = lock(&process.watch);
    if let (false, Ok(rt)) = (w.running || w.done, runtime()) {
        rt.spawn(run(process.clone()));
        w.running = true;
    }
}

static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

/// Asks for `channel` to be told `id` once the exit of `process` is cached.
/// `None`: it already is (the caller reads it now). `Some(key)`: subscribed.
pub fn subscribe(process: &Arc<Process>, channel: &Channel, id: u32) -> JsResult<Option<u64>> {
    let mut w = lock(&process.watch);
    if w.done {
        return Ok(None);
    }
    if !w.running {
        runtime()?.spawn(run(process.clone()));
        w.running = true;
    }
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
    if process.reaps() || lock(&process.watch).done || !features::switches().loop_peek {
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

/// Drops a subscription; a watcher nobody needs any more (not a reaper) stops and lets go of
/// the pidfd.
pub fn unsubscribe(process: &Process, key: u64) {
    let mut w = lock(&process.watch);
    w.subscribers.retain(|s| s.key != key);
    if w.subscribers.is_empty() && !process.owned() {
        process.cancel.notify_one();
    }
}

async fn run(process: Arc<Process>) {
    let Some(outcome) = watch_until_exit(process.clone()).await else {
        return;
    };
    lock(&process.watch).running = false;
    complete(&process, outcome);
}

/// Tells every subscriber, once: whoever learns the exit first (the watcher thread, or an
/// event loop's poll watcher) drains the list.
fn complete(process: &Process, outcome: Result<(), SysError>) {
    let subscribers = {
        let mut w = lock(&process.watch);
        w.done |= outcome.is_ok();
        std::mem::take(&mut w.subscribers)
    };
    for s in subscribers {
        s.channel.notify(Notification {
            id: s.id,
            error: outcome.clone().err(),
        });
    }
}

/// `Some(Ok)`: the exit is cached. `Some(Err)`: collecting it failed. `None`: cancelled.
/// The `AsyncFd` is deregistered before this returns, so a later watcher can register again.
async fn watch_until_exit(owner: Arc<Process>) -> Option<Result<(), SysError>> {
    let afd = match sys::watch_readable(owner.clone()) {
        Ok(afd) => afd,
        Err(e) => return Some(Err(SysError::from_io("epoll_ctl", e))),
    };
    let process = &*owner;
    loop {
        tokio::select! {
            ready = afd.readable() => match ready {
                Ok(mut guard) => match process.try_wait() {
                    Ok(Some(_)) => return Some(Ok(())),
                    Ok(None) => guard.clear_ready(),
                    Err(e) => return Some(Err(e)),
                },
                Err(e) => return Some(Err(SysError::from_io("epoll_wait", e))),
            },
            _ = process.cancel.notified() => {
                let mut w = lock(&process.watch);
                if w.subscribers.is_empty() && !process.owned() {
                    // No new subscriber can come: a non-owned process has one handle, now closed.
                    w.running = false;
                    return None;
                }
            }
        }
    }
}

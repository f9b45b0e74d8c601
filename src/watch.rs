//! Readiness and completion: every watched pidfd in one epoll set, which one tokio `AsyncFd`
//! task on a single background thread waits on, and one completion channel (a threadsafe
//! function) per JavaScript environment.
//!
//! The task collects the exit the moment a pidfd turns readable (for a `child_process` child
//! this races libuv's reap, so it must not wait for JavaScript), caches it in the `Process`, then
//! tells every subscribed environment the id of the handle to settle.
//!
//! A child this package spawned, once a Node environment waits for it, moves to that
//! environment's own epoll set, which its event loop watches (one libuv poll watcher per
//! environment): the loop wakes once, reaps the ready children and calls into JavaScript with
//! their ids directly, with no hop through the watcher thread. At the environment's teardown its
//! set's children go back to the watcher thread, which also serves every other case (Bun, the
//! children nobody waits for yet, processes that are not ours).

use std::cell::RefCell;
use std::collections::HashMap;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::{JsResult, SysError};
use crate::exit::EXIT_SLOTS;
use crate::process::{lock, Process};
use crate::{features, sys};
use napi::bindgen_prelude::{Float64ArraySlice, FnArgs, Function, JsValue};
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

pub struct ChannelInner {
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
    /// The environment's own epoll set of its spawned children, watched by its event loop.
    on_loop: Option<Rc<LoopReaper>>,
}

/// How many exits one call into JavaScript carries: the records of a batch fill the channel's
/// `Float64Array` of `EXIT_SLOTS × EXITS_PER_CALL` numbers.
pub const EXITS_PER_CALL: usize = 64;

/// An environment's own epoll set of the children it waits for, watched by one libuv poll
/// watcher on its event loop, which reaps the ready ones and calls JavaScript with their ids.
/// Only touched on the environment's thread (the set itself is shared with the processes).
struct LoopReaper {
    set: Arc<Set>,
    channel: Arc<ChannelInner>,
    poll: RefCell<Option<sys::UvPoll>>,
    call: RefCell<Option<sys::JsCall>>,
}

impl LoopReaper {
    /// `None` where the loop cannot be watched: the set is not made then.
    fn start(
        env: &Env,
        channel: &Arc<ChannelInner>,
        on_exits: napi::sys::napi_value,
        exits: napi::sys::napi_value,
    ) -> Option<Rc<Self>> {
        let set = Arc::new(Set::new().ok()?);
        let call = sys::JsCall::new(env.raw(), on_exits, exits)?;
        let reaper = Rc::new(LoopReaper {
            set,
            channel: channel.clone(),
            poll: RefCell::new(None),
            call: RefCell::new(Some(call)),
        });
        let weak = Rc::downgrade(&reaper);
        let poll = sys::UvPoll::start(
            env.raw(),
            reaper.set.epoll.as_fd(),
            Box::new(move || {
                if let Some(reaper) = weak.upgrade() {
                    reaper.collect();
                }
            }),
        );
        let Some(poll) = poll else {
            if let Some(call) = reaper.call.borrow_mut().take() {
                call.release();
            }
            return None;
        };
        *reaper.poll.borrow_mut() = Some(poll);
        Some(reaper)
    }

    /// The loop saw the set readable: reaps every ready child, then tells this environment's
    /// waiters in one call per batch, each id with its exit record (other environments' through
    /// their channels).
    fn collect(&self) {
        let mut keys = Vec::with_capacity(64);
        let mut told = Vec::new();
        // A short batch emptied the set: no second look (the loop calls again while it is readable).
        let mut more = true;
        while more && sys::epoll_ready(self.set.epoll.as_fd(), &mut keys, 0).is_ok() {
            more = keys.len() >= 64; // epoll_ready gives 64 at most
            for key in &keys {
                let Some(process) = self.set.get(*key) else {
                    continue;
                };
                match process.try_wait() {
                    Ok(None) => {}
                    Ok(Some(exit)) => {
                        let mut ids = Vec::new();
                        complete_here(&process, Ok(()), Some((&self.channel, &mut ids)));
                        told.extend(ids.into_iter().map(|id| (id, exit.clone())));
                    }
                    Err(e) => complete(&process, Err(e)),
                }
            }
        }
        let call = self.call.borrow();
        let Some(call) = &*call else { return };
        for batch in told.chunks(EXITS_PER_CALL) {
            let ids: Vec<u32> = batch.iter().map(|(id, _)| *id).collect();
            call.call_with(&ids, &mut |slots| {
                for ((_, exit), out) in batch.iter().zip(slots.chunks_exact_mut(EXIT_SLOTS)) {
                    exit.write_to(out);
                }
            });
        }
    }

    /// At the environment's teardown: the loop stops watching, and the children still in the
    /// set go back to the watcher thread, which reaps them whenever they end.
    fn stop(&self) {
        if let Some(poll) = self.poll.borrow_mut().take() {
            poll.close();
        }
        // Torn down from inside the call into JavaScript, the call is still borrowed: its
        // references go with the environment.
        if let Some(call) = self.call.try_borrow_mut().ok().and_then(|mut c| c.take()) {
            call.release();
        }
        let left: Vec<_> = lock(&self.set.watched).values().cloned().collect();
        for process in left {
            let mut w = lock(&process.watch);
            if matches!(&w.watched, Some((_, Some(set))) if Arc::ptr_eq(set, &self.set)) {
                unwatch(&process, &mut w);
                let _ = watch(&process, &mut w);
            }
        }
    }

    fn set_ref(&self, on: bool) {
        if let Some(poll) = &*self.poll.borrow() {
            poll.set_ref(on);
        }
    }
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
    /// event loop may be watched through libuv (elsewhere the watcher thread alone serves);
    /// there, `onExits(ids)` is called straight from the loop with the ids of the spawned
    /// children it reaped, their exit records written into `exits` (`EXIT_SLOTS` numbers each,
    /// in the order of `ids`; room for `EXITS_PER_CALL`).
    #[napi(constructor, catch_unwind)]
    #[allow(clippy::type_complexity)] // spelled out so the generated typings name each argument
    pub fn new(
        env: Env,
        callback: Function<FnArgs<(u32, Option<String>, Option<String>)>, ()>,
        on_exits: Function<Vec<u32>, ()>,
        exits: Float64ArraySlice,
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
        let room = exits.len() >= EXIT_SLOTS * EXITS_PER_CALL;
        let on_loop = (libuv && room && features::switches().loop_reap)
            .then(|| LoopReaper::start(&env, &inner, on_exits.value().value, exits.value().value))
            .flatten();
        env.add_env_cleanup_hook(
            (inner.clone(), polls.clone(), on_loop.clone()),
            |(inner, polls, on_loop)| {
                polls.close_all();
                if let Some(reaper) = on_loop {
                    reaper.stop();
                }
                #[allow(deprecated)]
                if let Some(tsfn) = lock(&inner.tsfn).take() {
                    let _ = tsfn.abort();
                }
            },
        )?;
        Ok(Self {
            inner,
            polls,
            libuv,
            on_loop,
        })
    }

    /// Keeps the event loop alive (a ref'd wait is pending).
    #[napi(js_name = "ref", catch_unwind)]
    pub fn refer(&self, env: Env) -> napi::Result<()> {
        if let Some(reaper) = &self.on_loop {
            reaper.set_ref(true);
        }
        #[allow(deprecated)]
        match &mut *lock(&self.inner.tsfn) {
            Some(tsfn) => tsfn.refer(&env),
            None => Ok(()),
        }
    }

    /// Lets the event loop end (no ref'd wait is pending).
    #[napi(catch_unwind)]
    pub fn unref(&self, env: Env) -> napi::Result<()> {
        if let Some(reaper) = &self.on_loop {
            reaper.set_ref(false);
        }
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
    /// The key of the pidfd in an epoll set, while it is there: the watcher thread's (`None`),
    /// or an environment's own.
    watched: Option<(u64, Option<Arc<Set>>)>,
    /// The exit is cached: nothing more to watch.
    done: bool,
    subscribers: Vec<Subscriber>,
}

/// An epoll set of pidfds (edge-triggered, by key) and the processes in it.
pub struct Set {
    epoll: OwnedFd,
    watched: Mutex<HashMap<u64, Arc<Process>>>,
}

impl Set {
    fn new() -> Result<Self, SysError> {
        Ok(Set {
            epoll: sys::epoll_create().map_err(|e| SysError::from_io("epoll_create1", e))?,
            watched: Mutex::default(),
        })
    }

    fn add(&self, process: &Arc<Process>, key: u64) -> Result<(), SysError> {
        lock(&self.watched).insert(key, process.clone());
        if let Err(e) = sys::epoll_add(self.epoll.as_fd(), process.fd(), key) {
            lock(&self.watched).remove(&key);
            return Err(SysError::from_io("epoll_ctl", e));
        }
        Ok(())
    }

    fn remove(&self, process: &Process, key: u64) {
        let _ = sys::epoll_del(self.epoll.as_fd(), process.fd());
        lock(&self.watched).remove(&key);
    }

    fn get(&self, key: u64) -> Option<Arc<Process>> {
        lock(&self.watched).get(&key).cloned()
    }
}

/// Every watched pidfd sits in one epoll set (edge-triggered, by key). One tokio task on the
/// "pidfd-watch" thread waits for that set to turn readable through an `AsyncFd`, and collects
/// the exit of each ready process. Adding a process is one `epoll_ctl` on the caller's thread:
/// no task, no wake-up of the watcher thread, a few bytes per process.
struct Watcher {
    set: Set,
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
        self.set.epoll.as_fd()
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
                set: Set::new()?,
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
/// tries again. Where a seccomp filter refuses `epoll_wait`, which tokio's reactor calls, and
/// would then end it, the thread waits on the set itself with `epoll_pwait` instead.
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
    let thread = std::thread::Builder::new().name("pidfd-watch".into());
    // Woken by an exit on a busy CPU, collect it now rather than after the running task's
    // slice (a `child_process` child's rusage is at stake).
    let slice = || sys::set_thread_slice(100 * 1000);
    if sys::epoll_wait_refused() {
        thread
            .spawn(move || {
                slice();
                watch_without_tokio(watcher)
            })
            .map_err(failed)?;
        *started = true;
        return Ok(());
    }
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
    thread
        .spawn(move || {
            slice();
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
/// process.
async fn collect(watcher: &'static Watcher, ready: AsyncFd<sys::Watched<&'static Watcher>>) {
    let mut keys = Vec::with_capacity(64);
    loop {
        let Ok(mut guard) = ready.readable().await else {
            return; // the runtime is shutting down
        };
        while let Ok(true) = collect_ready(watcher, &mut keys, 0) {}
        guard.clear_ready();
    }
}

/// Collects the exit of each process the set says is ready (up to 64, waiting `timeout_ms` for
/// one); `Ok(false)` when none is. A process that is not ours and not yet reaped by its parent
/// stays in the set: its reap is the next edge, except on a kernel that does not announce it
/// (it then lingers).
fn collect_ready(
    watcher: &'static Watcher,
    keys: &mut Vec<u64>,
    timeout_ms: i32,
) -> std::io::Result<bool> {
    sys::epoll_ready(watcher.set.epoll.as_fd(), keys, timeout_ms)?;
    if keys.is_empty() {
        return Ok(false);
    }
    for key in keys.iter() {
        let Some(process) = watcher.set.get(*key) else {
            continue;
        };
        match process.try_wait() {
            Ok(None) if process.lingers() => watcher.linger(&process),
            Ok(None) => {}
            Ok(Some(_)) => complete(&process, Ok(())),
            Err(e) => complete(&process, Err(e)),
        }
    }
    Ok(true)
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
        linger_pass(watcher);
    }
}

/// Looks again at each lingering process: collects those reaped, forgets those nobody waits for.
fn linger_pass(watcher: &'static Watcher) {
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

/// The watcher thread where `epoll_wait` is refused: it blocks in `epoll_pwait` on the set
/// itself, for `LINGER_MS` while a process lingers (only this thread adds one), else until an
/// exit. What it collects, and how, is the tokio tasks' own.
fn watch_without_tokio(watcher: &'static Watcher) {
    let mut keys = Vec::with_capacity(64);
    loop {
        let lingering = !lock(&watcher.lingering).is_empty();
        let timeout = if lingering {
            crate::process::LINGER_MS
        } else {
            -1
        };
        // This batch, then whatever became ready meanwhile.
        let mut wait = collect_ready(watcher, &mut keys, timeout);
        while let Ok(true) = wait {
            wait = collect_ready(watcher, &mut keys, 0);
        }
        if let Err(e) = wait {
            // Refused too: nothing can wait on the set. Say it once and stop, not spin.
            eprintln!("pidfd: the watcher thread cannot wait on its epoll set: {e}");
            return;
        }
        if lingering {
            linger_pass(watcher);
        }
    }
}

/// Puts the process in the watcher's set (the caller holds its watch state).
fn watch(process: &Arc<Process>, w: &mut WatchState) -> Result<(), SysError> {
    if w.watched.is_some() || w.done {
        return Ok(());
    }
    let watcher = watcher()?;
    let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
    watcher.set.add(process, key)?;
    w.watched = Some((key, None));
    Ok(())
}

/// Moves a child this package spawned from the watcher thread's set into `reaper`'s (the
/// caller holds its watch state): its environment's loop collects it from now on. One that is
/// in an environment's set already stays there. Added while already readable, the pidfd is
/// reported at once (an `EPOLL_CTL_ADD` looks at the present state); should the thread have
/// taken it first, its `complete` waits for this lock and then takes it out of the new set.
fn watch_on_loop(
    process: &Arc<Process>,
    w: &mut WatchState,
    reaper: &LoopReaper,
) -> Result<(), SysError> {
    if w.done || matches!(w.watched, Some((_, Some(_)))) {
        return Ok(());
    }
    unwatch(process, w);
    let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
    match reaper.set.add(process, key) {
        Ok(()) => {
            w.watched = Some((key, Some(reaper.set.clone())));
            Ok(())
        }
        Err(_) => watch(process, w),
    }
}

/// Takes the process out of the set it is in, if any.
fn unwatch(process: &Process, w: &mut WatchState) {
    match w.watched.take() {
        Some((key, Some(set))) => set.remove(process, key),
        Some((key, None)) => {
            if let Some(watcher) = WATCHER.get() {
                watcher.set.remove(process, key);
            }
        }
        None => {}
    }
}

/// Starts watching a process this package spawned: it is reaped whether or not anyone waits;
/// by the event loop of `on_loop`'s environment where it has one (from the first instant, so
/// even a child that ends before its spawn call returns is collected there), by the watcher
/// thread otherwise. The caller made sure the watcher runs (`ensure_runtime`).
pub fn start_reaper(process: &Arc<Process>, on_loop: Option<&Channel>) {
    // The watcher runs, so only a failing epoll_ctl (ENOMEM) can fail here; a waiter would
    // then get that error from `subscribe`.
    let mut w = lock(&process.watch);
    let _ = match on_loop.and_then(|c| c.on_loop.as_deref()) {
        Some(reaper) => watch_on_loop(process, &mut w, reaper),
        None => watch(process, &mut w),
    };
}

static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

/// Asks for `channel` to be told `id` once the exit of `process` is cached.
/// `None`: it already is (the caller reads it now). `Some(key)`: subscribed.
pub fn subscribe(process: &Arc<Process>, channel: &Channel, id: u32) -> JsResult<Option<u64>> {
    let mut w = lock(&process.watch);
    if w.done {
        return Ok(None);
    }
    // Waited for from another environment than the one whose loop collects it: the watcher
    // thread serves them all (one loop may be blocked while the other waits).
    let ours = |set: &Arc<Set>| {
        channel
            .on_loop
            .as_ref()
            .is_some_and(|r| Arc::ptr_eq(&r.set, set))
    };
    let shared = w
        .subscribers
        .iter()
        .any(|s| !Arc::ptr_eq(&s.channel, &channel.inner));
    if matches!(&w.watched, Some((_, Some(set))) if !ours(set)) {
        unwatch(process, &mut w);
    }
    match &channel.on_loop {
        Some(reaper) if process.owned() && process.reaps() && !shared => {
            watch_on_loop(process, &mut w, reaper)?
        }
        _ => watch(process, &mut w)?,
    }
    let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
    // Room for the first only: a process has one subscriber as a rule (a `Vec`'s first push would
    // make room for four, 96 bytes where 24 do, for each live child). Later pushes grow as a
    // `Vec` does (an exact reserve at each would copy the list at every new subscriber).
    if w.subscribers.capacity() == 0 {
        w.subscribers.reserve_exact(1);
    }
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
    complete_here(process, outcome, None);
}

/// As `complete`; `here`: the channel of the environment whose loop runs this, whose ids go into
/// the list for the caller to tell in one call, rather than through the channel.
fn complete_here(
    process: &Process,
    outcome: Result<(), SysError>,
    mut here: Option<(&Arc<ChannelInner>, &mut Vec<u32>)>,
) {
    let subscribers = {
        let mut w = lock(&process.watch);
        w.done |= outcome.is_ok();
        unwatch(process, &mut w);
        std::mem::take(&mut w.subscribers)
    };
    for s in subscribers {
        match &mut here {
            Some((channel, ids)) if outcome.is_ok() && Arc::ptr_eq(channel, &s.channel) => {
                ids.push(s.id)
            }
            _ => s.channel.notify(Notification {
                id: s.id,
                error: outcome.clone().err(),
            }),
        }
    }
}

//! Fault injection for the package's own tests. Set only by a call from JavaScript in this
//! process (`setTestHooks`, reached through `lib/native.js` by path, which no public export
//! leads to): an inherited environment cannot turn it on, so an app never meets it.

use std::ffi::CString;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// How long one exchange with the spawn helper may take before the helper is killed.
const HELPER_DEADLINE: Duration = Duration::from_secs(5);

/// 0: the default deadline.
static DEADLINE_MS: AtomicU64 = AtomicU64::new(0);
static PAUSE: Mutex<Option<CString>> = Mutex::new(None);
static PAUSE_TAKEN: AtomicBool = AtomicBool::new(false);

/// `pause` (`request|exec|reply[:N]`): the next helper this process starts stops itself at that
/// step of its Nth request (default the first), so a test can inject a fault there; once.
/// `deadline_ms`: the helper deadline instead of 5 s. Anything else in `pause` is refused.
pub fn set(pause: Option<String>, deadline_ms: Option<u32>) -> Result<(), String> {
    let pause = match pause {
        None => None,
        Some(s) => {
            let step = s.split(':').next().unwrap_or_default();
            let count_ok = s
                .split_once(':')
                .is_none_or(|(_, n)| n.parse::<u32>().is_ok());
            if !matches!(step, "request" | "exec" | "reply") || !count_ok {
                return Err(format!("pause: '{s}' is not request|exec|reply[:N]"));
            }
            Some(CString::new(s).map_err(|e| e.to_string())?)
        }
    };
    *PAUSE.lock().unwrap_or_else(|e| e.into_inner()) = pause;
    PAUSE_TAKEN.store(false, Ordering::Relaxed);
    DEADLINE_MS.store(u64::from(deadline_ms.unwrap_or(0)), Ordering::Relaxed);
    Ok(())
}

/// The deadline of one exchange with the spawn helper.
pub fn helper_deadline() -> Duration {
    match DEADLINE_MS.load(Ordering::Relaxed) {
        0 => HELPER_DEADLINE,
        ms => Duration::from_millis(ms),
    }
}

/// The pause for the helper about to start, if a test set one and no helper has taken it.
pub fn take_pause() -> Option<CString> {
    let pause = PAUSE.lock().unwrap_or_else(|e| e.into_inner()).clone()?;
    (!PAUSE_TAKEN.swap(true, Ordering::Relaxed)).then_some(pause)
}

//! How a process ended: `waitid`'s siginfo and rusage, or a wait-status from `PIDFD_INFO_EXIT`,
//! turned into the plain record handed to JavaScript.

use napi_derive::napi;

use crate::sys::SigInfo;

/// The sigchld part of `siginfo_t` as `waitid` filled it.
#[napi(object)]
#[derive(Clone, Debug)]
pub struct NativeSigInfo {
    pub signo: i32,
    pub si_code: i32,
    pub pid: i32,
    pub uid: u32,
    pub status: i32,
}

/// `struct rusage` with the names and units of `process.resourceUsage()`
/// (CPU times in microseconds, maxRSS in KiB).
#[napi(object)]
#[derive(Clone, Debug)]
pub struct NativeResourceUsage {
    #[napi(js_name = "userCPUTime")]
    pub user_cpu_time: f64,
    #[napi(js_name = "systemCPUTime")]
    pub system_cpu_time: f64,
    #[napi(js_name = "maxRSS")]
    pub max_rss: f64,
    pub shared_memory_size: f64,
    pub unshared_data_size: f64,
    pub unshared_stack_size: f64,
    pub minor_page_fault: f64,
    pub major_page_fault: f64,
    pub swapped_out: f64,
    pub fs_read: f64,
    pub fs_write: f64,
    pub ipc_sent: f64,
    pub ipc_received: f64,
    pub signals_count: f64,
    pub voluntary_context_switches: f64,
    pub involuntary_context_switches: f64,
}

/// The exit record; the JS layer adds signal names.
#[napi(object)]
#[derive(Clone, Debug)]
pub struct NativeExit {
    /// `exited`, `signaled` or `unknown`.
    pub status: String,
    pub code: Option<i32>,
    pub signal_number: Option<i32>,
    pub core_dumped: Option<bool>,
    pub siginfo: Option<NativeSigInfo>,
    pub rusage: Option<NativeResourceUsage>,
}

/// How many numbers `NativeExit::write_to` fills.
pub const EXIT_SLOTS: usize = 27;

fn micros(tv: libc::timeval) -> f64 {
    tv.tv_sec as f64 * 1e6 + tv.tv_usec as f64
}

impl From<&libc::rusage> for NativeResourceUsage {
    fn from(r: &libc::rusage) -> Self {
        Self {
            user_cpu_time: micros(r.ru_utime),
            system_cpu_time: micros(r.ru_stime),
            max_rss: r.ru_maxrss as f64,
            shared_memory_size: r.ru_ixrss as f64,
            unshared_data_size: r.ru_idrss as f64,
            unshared_stack_size: r.ru_isrss as f64,
            minor_page_fault: r.ru_minflt as f64,
            major_page_fault: r.ru_majflt as f64,
            swapped_out: r.ru_nswap as f64,
            fs_read: r.ru_inblock as f64,
            fs_write: r.ru_oublock as f64,
            ipc_sent: r.ru_msgsnd as f64,
            ipc_received: r.ru_msgrcv as f64,
            signals_count: r.ru_nsignals as f64,
            voluntary_context_switches: r.ru_nvcsw as f64,
            involuntary_context_switches: r.ru_nivcsw as f64,
        }
    }
}

impl NativeExit {
    fn exited(code: i32) -> Self {
        Self {
            status: "exited".into(),
            code: Some(code),
            signal_number: None,
            core_dumped: Some(false),
            siginfo: None,
            rusage: None,
        }
    }

    fn signaled(signal: i32, core_dumped: bool) -> Self {
        Self {
            status: "signaled".into(),
            code: None,
            signal_number: Some(signal),
            core_dumped: Some(core_dumped),
            siginfo: None,
            rusage: None,
        }
    }

    /// An exit the kernel cannot describe (a reaped process, without `PIDFD_INFO_EXIT`).
    pub fn unknown() -> Self {
        Self {
            status: "unknown".into(),
            code: None,
            signal_number: None,
            core_dumped: None,
            siginfo: None,
            rusage: None,
        }
    }

    /// From `waitid`: `si_code` says how it ended, `si_status` is the code or the signal.
    pub fn from_waitid(info: &SigInfo, usage: &libc::rusage) -> Self {
        let mut exit = match info.code {
            libc::CLD_EXITED => Self::exited(info.status),
            libc::CLD_KILLED => Self::signaled(info.status, false),
            libc::CLD_DUMPED => Self::signaled(info.status, true),
            _ => Self::unknown(),
        };
        exit.siginfo = Some(NativeSigInfo {
            signo: info.signo,
            si_code: info.code,
            pid: info.pid,
            uid: info.uid,
            status: info.status,
        });
        exit.rusage = Some(usage.into());
        exit
    }

    /// Writes the record as numbers into `out` (`EXIT_SLOTS` of them), which is cheaper to hand
    /// to JavaScript than an object of 27 named properties. Absent values are NaN. Layout (read
    /// by `exitFromSlots` in lib/exit.ts): 0 status (1 exited, 2 signaled, 3 unknown), 1 code,
    /// 2 signal number, 3 core dumped (0/1), 4 siginfo present (0/1), 5–9 signo, si_code, pid,
    /// uid, status, 10 rusage present (0/1), 11–26 the rusage fields in declaration order.
    pub fn write_to(&self, out: &mut [f64]) {
        let opt = |v: Option<i32>| v.map_or(f64::NAN, f64::from);
        out[0] = match self.status.as_str() {
            "exited" => 1.0,
            "signaled" => 2.0,
            _ => 3.0,
        };
        out[1] = opt(self.code);
        out[2] = opt(self.signal_number);
        out[3] = self
            .core_dumped
            .map_or(f64::NAN, |c| f64::from(u8::from(c)));
        out[4] = f64::from(u8::from(self.siginfo.is_some()));
        if let Some(s) = &self.siginfo {
            out[5..10].copy_from_slice(&[
                f64::from(s.signo),
                f64::from(s.si_code),
                f64::from(s.pid),
                f64::from(s.uid),
                f64::from(s.status),
            ]);
        }
        out[10] = f64::from(u8::from(self.rusage.is_some()));
        if let Some(r) = &self.rusage {
            out[11..27].copy_from_slice(&[
                r.user_cpu_time,
                r.system_cpu_time,
                r.max_rss,
                r.shared_memory_size,
                r.unshared_data_size,
                r.unshared_stack_size,
                r.minor_page_fault,
                r.major_page_fault,
                r.swapped_out,
                r.fs_read,
                r.fs_write,
                r.ipc_sent,
                r.ipc_received,
                r.signals_count,
                r.voluntary_context_switches,
                r.involuntary_context_switches,
            ]);
        }
    }

    /// From a wait-status (`PIDFD_INFO_EXIT`'s `exit_code`): no siginfo, no rusage.
    pub fn from_wait_status(status: i32) -> Self {
        if libc::WIFSIGNALED(status) {
            Self::signaled(libc::WTERMSIG(status), libc::WCOREDUMP(status))
        } else {
            Self::exited(libc::WEXITSTATUS(status))
        }
    }
}

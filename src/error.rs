//! Errors as they cross into JavaScript: `code` is the errno as a number (`E3`) or a package
//! code (`ERR_PIDFD_CLOSED`); the message starts with the syscall (`pidfd_open E3`). The JS layer
//! (`fromNative` in lib/errors.ts) names the errno (`ESRCH`) and gives Node's `errno`/`syscall`
//! properties and message.

use std::io;

pub type Result<T> = std::result::Result<T, SysError>;

#[derive(Clone, Debug)]
pub struct SysError {
    pub syscall: &'static str,
    pub errno: i32,
    /// Why, where the errno alone would mislead.
    pub detail: Option<String>,
}

impl SysError {
    pub fn new(syscall: &'static str, errno: i32) -> Self {
        Self {
            syscall,
            errno,
            detail: None,
        }
    }

    pub fn from_io(syscall: &'static str, err: io::Error) -> Self {
        Self::new(syscall, err.raw_os_error().unwrap_or(libc::EIO))
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// This error as a failed spawn reports it (libuv's `uv_spawn` says only "spawn", whatever
    /// step failed): the step goes into the detail.
    pub fn in_spawn(self) -> Self {
        if self.syscall == "spawn" {
            return self;
        }
        let detail = match &self.detail {
            Some(d) => format!("{}: {d}", self.syscall),
            None => format!("{} failed", self.syscall),
        };
        SysError::new("spawn", self.errno).with_detail(detail)
    }
}

/// `map_err` helper: `sys::call().map_err(at("pidfd_open"))`.
pub fn at(syscall: &'static str) -> impl Fn(io::Error) -> SysError {
    move |e| SysError::from_io(syscall, e)
}

/// What every export returns: a JS error whose `code` is a string of ours.
pub type JsResult<T> = napi::Result<T, String>;

impl From<SysError> for napi::Error<String> {
    fn from(e: SysError) -> Self {
        // The number alone: the JS layer names it from the runtime's own table (libuv's, then
        // the OS constants), as Node names it; a second table here could only disagree (it once
        // called 95 EOPNOTSUPP where Node says ENOTSUP).
        let code = format!("E{}", e.errno);
        let mut message = format!("{} {}", e.syscall, code);
        if let Some(detail) = &e.detail {
            message.push_str(" (");
            message.push_str(detail);
            message.push(')');
        }
        napi::Error::new(code, message)
    }
}

/// A package error (`ERR_PIDFD_CLOSED`, `ERR_INVALID_ARG_VALUE`, …) for JavaScript.
pub fn js_error(code: &str, message: impl Into<String>) -> napi::Error<String> {
    napi::Error::new(code.to_owned(), message.into())
}

//! Errors as they cross into JavaScript: `code` is the errno name (`ESRCH`) or a package code
//! (`ERR_PIDFD_CLOSED`); the message starts with the syscall (`pidfd_open ESRCH`), which the
//! JS layer turns into Node's `errno`/`syscall` properties.

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

/// The errno names this crate most often produces, as libuv and Node spell them; any other
/// goes to JavaScript as `E<number>`, which the JS layer names from Node's own table (which
/// calls 95 `ENOTSUP`, not `EOPNOTSUPP`: no arm for it here).
fn errno_name(errno: i32) -> Option<&'static str> {
    Some(match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::E2BIG => "E2BIG",
        libc::ENOEXEC => "ENOEXEC",
        libc::EBADF => "EBADF",
        libc::ECHILD => "ECHILD",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::ENOTTY => "ENOTTY",
        libc::ETXTBSY => "ETXTBSY",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ENOSYS => "ENOSYS",
        libc::ELOOP => "ELOOP",
        libc::EPIPE => "EPIPE",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::EPROTO => "EPROTO",
        _ => return None,
    })
}

/// What every export returns: a JS error whose `code` is a string of ours.
pub type JsResult<T> = napi::Result<T, String>;

impl From<SysError> for napi::Error<String> {
    fn from(e: SysError) -> Self {
        let code = errno_name(e.errno)
            .map(str::to_owned)
            .unwrap_or_else(|| format!("E{}", e.errno));
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

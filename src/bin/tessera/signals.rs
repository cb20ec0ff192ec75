//! Ctrl-C (SIGINT) and SIGTERM cancel the compute in progress instead of killing the
//! process, so its spill files, staging and runtime directory are removed on the way
//! out; the process then exits with the conventional 128 + signal number.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::OnceLock;
use tessera::CancelToken;

static TOKEN: OnceLock<CancelToken> = OnceLock::new();
static CAUGHT: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    // Only atomics here (async-signal-safe): record the signal, cancel, and let a second
    // signal of the same kind kill the process the default way.
    CAUGHT.store(sig, Ordering::SeqCst);
    if let Some(t) = TOKEN.get() {
        t.cancel();
    }
    // SAFETY: restoring the default disposition is async-signal-safe.
    unsafe { libc::signal(sig, libc::SIG_DFL) };
}

/// Installs the handlers and returns the token every compute of this process is given.
pub fn install() -> CancelToken {
    let token = TOKEN.get_or_init(CancelToken::new).clone();
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only touches atomics and re-installs SIG_DFL.
        unsafe { libc::signal(sig, handler) };
    }
    token
}

/// The exit code for a signal caught so far (130 for SIGINT, 143 for SIGTERM), if any.
pub fn exit_code() -> Option<i32> {
    match CAUGHT.load(Ordering::SeqCst) {
        0 => None,
        sig => Some(128 + sig),
    }
}

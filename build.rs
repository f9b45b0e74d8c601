//! Builds the napi module, and the spawn helper (`helper/pidfd-helper.c`) as a small static
//! executable for the target, which `src/helper.rs` embeds and execs from a memfd.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    napi_build::setup();

    let sources = ["helper/pidfd-helper.c", "helper/guard.c"];
    println!("cargo:rerun-if-changed=helper");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let exe = out.join("pidfd-helper");
    // PIDFD_HELPER_CC, when set, is the command that compiles the helper, its words split on
    // spaces: a release build gives `zig cc -target <arch>-linux-musl` for every target, since a
    // static helper needs no glibc (and zig links none statically). Otherwise cc finds the C
    // compiler for the target (CC_<target>, a cross gcc, zig cc, …).
    println!("cargo:rerun-if-env-changed=PIDFD_HELPER_CC");
    let mut command = match std::env::var("PIDFD_HELPER_CC") {
        Ok(words) if !words.trim().is_empty() => {
            let mut words = words.split_whitespace();
            let mut command = Command::new(words.next().expect("a word"));
            command.args(words);
            command
        }
        _ => Command::new(cc::Build::new().opt_level_str("s").get_compiler().path()),
    };
    let status = command
        .args([
            "-static",
            "-Os",
            "-s",
            "-std=gnu11",
            "-Wall",
            "-Wextra",
            "-Werror",
        ])
        .arg("-o")
        .arg(&exe)
        .args(sources)
        .status()
        .expect("run the C compiler for the spawn helper");
    assert!(status.success(), "building the spawn helper failed");
}

//! Builds the napi module, and the spawn helper (`helper/pidfd-helper.c`) as a small static
//! executable for the target, which `src/helper.rs` embeds and execs from a memfd.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    napi_build::setup();

    let source = "helper/pidfd-helper.c";
    println!("cargo:rerun-if-changed={source}");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let exe = out.join("pidfd-helper");
    // cc finds the C compiler for the target (CC_<target>, a cross gcc, zig cc, …).
    let compiler = cc::Build::new().opt_level_str("s").get_compiler();
    let status = Command::new(compiler.path())
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
        .arg(source)
        .status()
        .expect("run the C compiler for the spawn helper");
    assert!(status.success(), "building the spawn helper failed");
}

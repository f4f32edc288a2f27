//! Known container-runtime escapes, one test each: a malicious bundle or
//! container process attacks the runtime, and the test asserts that the
//! attack failed and that the host is unchanged (see tests/README.md).

#[path = "../common/mod.rs"]
mod common;

mod devices;
mod paths;
mod process;
mod runtime_binary;

use common::*;
use std::path::Path;
use std::time::{Duration, Instant};

/// Poll (bounded) until `path` exists.
#[track_caller]
fn wait_for_file(path: &Path) {
    let deadline = Instant::now() + STATUS_TIMEOUT;
    while !path.exists() {
        assert!(Instant::now() < deadline, "{path:?} never appeared");
        std::thread::sleep(Duration::from_millis(5));
    }
}

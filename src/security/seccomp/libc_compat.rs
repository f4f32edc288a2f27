//! What the C library must do for the filter's load, on glibc and on musl.
//!
//! libseccomp frees its BPF program once the filter is in, and Rust frees
//! what is dropped after it: neither may give memory back to the kernel
//! (munmap, brk) under a profile that does not allow it. The process
//! execs soon, so after `keep_memory` nothing is given back.

/// From here to the exec, freed memory stays with the process.
pub fn keep_memory() {
    crate::heap::keep_memory();
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only changes malloc's tunables of this process.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, libc::c_int::MAX);
    }
    #[cfg(target_env = "musl")]
    musl::KEEP.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// musl's malloc has no tunables, but a static program may replace `free`
/// (musl calls its own as `__libc_free`): until `keep_memory`, this one
/// passes every pointer on; after it, none.
#[cfg(target_env = "musl")]
mod musl {
    use std::sync::atomic::{AtomicBool, Ordering};

    pub(super) static KEEP: AtomicBool = AtomicBool::new(false);

    extern "C" {
        fn __libc_free(ptr: *mut libc::c_void);
    }

    /// # Safety
    /// As C's free: `ptr` is null or came from malloc and is freed once.
    #[no_mangle]
    pub unsafe extern "C" fn free(ptr: *mut libc::c_void) {
        if !KEEP.load(Ordering::Relaxed) {
            // SAFETY: the caller's promise, passed on.
            unsafe { __libc_free(ptr) }
        }
    }

    /// Debian's libseccomp.a is built against glibc, whose fortified
    /// fprintf its PFC text export (`seccomp_export_pfc`) calls. hull never
    /// exports PFC; should anything call it, it writes nothing and fails.
    #[no_mangle]
    extern "C" fn __fprintf_chk(
        _stream: *mut libc::c_void,
        _flag: libc::c_int,
        _format: *const libc::c_char,
    ) -> libc::c_int {
        // SAFETY: errno is this thread's own.
        unsafe { *libc::__errno_location() = libc::ENOSYS };
        -1
    }
}

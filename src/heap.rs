//! The Rust heap: dlmalloc, not the C library's malloc.
//!
//! A hull process is short and allocates in bursts: `create` makes about
//! a thousand allocations before the clone, and musl's malloc spends some
//! 200 instructions on each (a third of create's user time,
//! docs/performance.md, change 14). dlmalloc takes memory from the kernel
//! in 64 KiB pieces and hands it out from free lists. C code (libseccomp)
//! keeps using the C library's malloc.
//!
//! After [`keep_memory`] (the seccomp filter's load) nothing freed goes
//! back to the kernel: a profile may forbid munmap and mremap.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use dlmalloc::Dlmalloc;

/// From here to the exec, the Rust heap keeps what is freed.
pub fn keep_memory() {
    HEAP.keep.store(true, Ordering::Relaxed);
}

/// dlmalloc behind std's futex lock (one atomic each way when nobody
/// waits; dlmalloc's own global instance takes a pthread mutex), with
/// frees that keep their memory once `keep` is set.
pub struct Heap {
    dlmalloc: Mutex<Dlmalloc>,
    keep: AtomicBool,
}

#[global_allocator]
static HEAP: Heap = Heap::new();

impl Heap {
    const fn new() -> Heap {
        Heap {
            dlmalloc: Mutex::new(Dlmalloc::new()),
            keep: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Dlmalloc> {
        // dlmalloc never unwinds (a failed check of its own aborts), so a
        // lock poisoned by a panic elsewhere guards a whole heap.
        self.dlmalloc
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn keeps(&self) -> bool {
        self.keep.load(Ordering::Relaxed)
    }
}

// SAFETY: every call is passed to dlmalloc with the caller's promises;
// once `keep` is set a dealloc does nothing (the memory stays allocated,
// which is always sound) and a realloc is a fresh allocation and a copy
// of the smaller of the two sizes.
unsafe impl GlobalAlloc for Heap {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's promise, passed on.
        unsafe { self.lock().malloc(layout.size(), layout.align()) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's promise, passed on.
        unsafe { self.lock().calloc(layout.size(), layout.align()) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !self.keeps() {
            // SAFETY: the caller's promise, passed on.
            unsafe { self.lock().free(ptr, layout.size(), layout.align()) }
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !self.keeps() {
            // SAFETY: the caller's promise, passed on.
            return unsafe {
                self.lock()
                    .realloc(ptr, layout.size(), layout.align(), new_size)
            };
        }
        // SAFETY: ptr is valid for layout.size() bytes and the new block,
        // if any, for new_size; they are distinct blocks.
        unsafe {
            let new = self.lock().malloc(new_size, layout.align());
            if !new.is_null() {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
            }
            new
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_heap_reuses_nothing_and_reallocs_by_copy() {
        // One size from dlmalloc's bins, one it maps on its own.
        for size in [4096, 1024 * 1024] {
            kept_heap(Layout::from_size_align(size, 16).unwrap());
        }
    }

    fn kept_heap(layout: Layout) {
        let heap = Heap::new();
        // SAFETY: each block is used within its layout and freed once.
        unsafe {
            let first = heap.alloc(layout);
            assert!(!first.is_null());
            heap.dealloc(first, layout);
            let again = heap.alloc(layout);
            if layout.size() == 4096 {
                // Before `keep` a freed block is handed out again (a
                // mapped one may come back elsewhere: other tests map too).
                assert_eq!(again, first);
            }
            again.write_bytes(7, layout.size());
            heap.keep.store(true, Ordering::Relaxed);
            heap.dealloc(again, layout);
            // Kept: still allocated, so never handed out twice.
            let other = heap.alloc(layout);
            assert!(!other.is_null());
            assert_ne!(other, again);
            assert_eq!(*again.add(layout.size() - 1), 7);
            other.write_bytes(9, layout.size());
            let grown = heap.realloc(other, layout, 2 * layout.size());
            assert!(!grown.is_null());
            assert_ne!(grown, other);
            assert_eq!(*grown.add(layout.size() - 1), 9);
            assert_eq!(*other, 9);
        }
    }
}

//! mimalloc's tuning. mimalloc returns freed pages to the OS only after `purge_delay` (1 s, and
//! 10 s for whole arena chunks): under load a virtual cluster frees and allocates pods' JSON
//! all the time and held ~4 MiB more RSS for it at 5,000 pods (bench/syncer), with no CPU
//! difference measured when pages go back at once.

#[cfg(test)]
use libmimalloc_sys::mi_option_get;
use libmimalloc_sys::{mi_option_set, mi_option_t};

/// `mi_option_purge_delay` in mimalloc v3's `mi_option_e` (libmimalloc-sys has no constant
/// for it); `the_purge_delay_option_is_the_one_we_mean` checks it against its documented default.
const MI_OPTION_PURGE_DELAY: mi_option_t = 15;

/// Makes mimalloc purge freed memory immediately. Called first thing in `main`, before any
/// other thread exists.
pub fn return_freed_memory_at_once() {
    // SAFETY: mi_option_set only stores an integer in mimalloc's option table; 15 is a valid
    // option index (checked by the test below), and no other thread runs yet.
    #[allow(unsafe_code)]
    unsafe {
        mi_option_set(MI_OPTION_PURGE_DELAY, 0)
    };
}

/// The current purge delay in milliseconds.
#[cfg(test)]
fn purge_delay_ms() -> std::ffi::c_long {
    // SAFETY: reads mimalloc's option table at a valid index.
    #[allow(unsafe_code)]
    unsafe {
        mi_option_get(MI_OPTION_PURGE_DELAY)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_purge_delay_option_is_the_one_we_mean() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return; // the environment overrides the default this test recognises it by
        }
        assert_eq!(
            super::purge_delay_ms(),
            1000,
            "mimalloc v3's default purge delay"
        );
        super::return_freed_memory_at_once();
        assert_eq!(super::purge_delay_ms(), 0);
    }
}

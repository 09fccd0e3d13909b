//! Counting the common events of a host (a request for the retry budget, a success for
//! a closed breaker) without taking the lock of what they are counted into. Both tally
//! their events per millisecond; events of the millisecond being counted add to one
//! atomic word, and whoever takes the lock next moves them in first. So the lock is
//! taken about once per millisecond and host instead of once per call.

use std::sync::atomic::{AtomicU64, Ordering};

/// Events of one millisecond not yet moved under the lock: the millisecond plus one
/// in the high bits (0: none), the count in the low [`COUNT_BITS`].
#[derive(Debug, Default)]
pub(crate) struct SameMs(AtomicU64);

const COUNT_BITS: u32 = 20;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;
/// Milliseconds from here on (half a millennium after the clock's epoch) always take
/// the lock.
const MS_LIMIT: u64 = (1 << (64 - COUNT_BITS)) - 1;

impl SameMs {
    /// Counts one event at `now_ms` if that is the millisecond being counted; `false`:
    /// take the lock and record it there.
    pub fn try_add(&self, now_ms: u64) -> bool {
        if now_ms >= MS_LIMIT {
            return false;
        }
        let mut cur = self.0.load(Ordering::Acquire);
        loop {
            if cur >> COUNT_BITS != now_ms + 1 || cur & COUNT_MASK == COUNT_MASK {
                return false;
            }
            match self
                .0
                .compare_exchange_weak(cur, cur + 1, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return true,
                Err(seen) => cur = seen,
            }
        }
    }

    /// Takes the events counted so far: their millisecond and how many (at least one).
    /// Called under the lock.
    pub fn take(&self) -> Option<(u64, u32)> {
        let v = self.0.swap(0, Ordering::AcqRel);
        let n = (v & COUNT_MASK) as u32;
        (n > 0).then(|| ((v >> COUNT_BITS) - 1, n))
    }

    /// Counts the events of `now_ms` from now on (none yet). Called under the lock,
    /// after [`SameMs::take`].
    pub fn start(&self, now_ms: u64) {
        if now_ms < MS_LIMIT {
            self.0.store((now_ms + 1) << COUNT_BITS, Ordering::Release);
        }
    }

    /// Stops counting: every event goes to the lock until the next [`SameMs::start`].
    /// Called under the lock, after [`SameMs::take`].
    pub fn stop(&self) {
        self.0.store(0, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn counts_only_the_millisecond_it_was_started_for() {
        let s = SameMs::default();
        assert!(!s.try_add(5), "nothing started");
        assert_eq!(s.take(), None);
        s.start(5);
        assert!(s.try_add(5));
        assert!(s.try_add(5));
        assert!(!s.try_add(6), "another millisecond takes the lock");
        assert!(!s.try_add(4));
        assert_eq!(s.take(), Some((5, 2)));
        assert_eq!(s.take(), None, "taken once");
        assert!(!s.try_add(5), "taking stops the counting");
        s.start(0);
        assert_eq!(s.take(), None, "started, nothing counted");
        s.start(7);
        s.stop();
        assert!(!s.try_add(7));
        assert!(!s.try_add(MS_LIMIT), "beyond the word's range");
        s.start(MS_LIMIT);
        assert!(!s.try_add(MS_LIMIT));
    }

    #[test]
    fn a_full_count_sends_the_rest_to_the_lock() {
        let s = SameMs::default();
        s.start(1);
        s.0.fetch_add(COUNT_MASK - 1, Ordering::Relaxed);
        assert!(s.try_add(1));
        assert!(!s.try_add(1));
        assert_eq!(s.take(), Some((1, COUNT_MASK as u32)));
    }

    /// Threads counting while others take, restart or stop under a lock, as the host
    /// does: every event is counted once, at its own millisecond, either in the word
    /// or under the lock.
    #[test]
    fn no_event_is_lost_moved_or_counted_twice_under_contention() {
        use std::collections::BTreeMap;
        let s = Arc::new(SameMs::default());
        let locked = Arc::new(Mutex::new(BTreeMap::<u64, u64>::new()));
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let (s, locked) = (Arc::clone(&s), Arc::clone(&locked));
                std::thread::spawn(move || {
                    let mut slow = 0u64;
                    for i in 0..50_000u64 {
                        let ms = i / 1000 + t % 2;
                        if !s.try_add(ms) {
                            let mut l = locked.lock().unwrap();
                            if let Some((at, n)) = s.take() {
                                *l.entry(at).or_default() += u64::from(n);
                            }
                            *l.entry(ms).or_default() += 1;
                            slow += 1;
                            // Now and then the breaker stops being clean.
                            if slow.is_multiple_of(7) {
                                s.stop();
                            } else {
                                s.start(ms);
                            }
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let mut l = locked.lock().unwrap();
        if let Some((at, n)) = s.take() {
            *l.entry(at).or_default() += u64::from(n);
        }
        // Threads 0 and 2 count 1,000 events in each of milliseconds 0..50, threads 1
        // and 3 in each of 1..51.
        let want: BTreeMap<u64, u64> = (0..51)
            .map(|ms| (ms, if ms == 0 || ms == 50 { 2000 } else { 4000 }))
            .collect();
        assert_eq!(*l, want);
    }
}

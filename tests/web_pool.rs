//! The threaded page build's CPU pool (`src/platform/web_pool.rs`), run natively on std threads:
//! every task of every job runs exactly once, jobs never see an earlier job's closure, a loop
//! inside a task runs in order, and two callers take turns.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use glowgpu::platform::web_pool;

/// The pool with 3 helpers (4 threads per job); every test of this file shares it.
fn pool() -> usize {
    web_pool::start(3)
}

#[test]
fn every_task_runs_once() {
    assert_eq!(pool(), 4);
    assert_eq!(web_pool::threads(), 4);
    for count in [0, 1, 2, 3, 4, 5, 17, 1000] {
        let hits: Vec<AtomicUsize> = (0..count).map(|_| AtomicUsize::new(0)).collect();
        web_pool::run(count, &|i| {
            hits[i].fetch_add(1, Ordering::SeqCst);
        });
        let got: Vec<usize> = hits.iter().map(|h| h.load(Ordering::SeqCst)).collect();
        assert_eq!(got, vec![1; count], "count {count}");
    }
}

#[test]
fn many_short_jobs_each_see_their_own_closure() {
    pool();
    // 200,000 back-to-back jobs of 1..=9 tasks, each adding its own job number: a helper that
    // ran a task of a finished job with the next job's index (or the reverse) breaks the sums.
    // Busy threads beside them get the helpers preempted at any point (the race this caught
    // needed a helper stopped between reading the ticket and the task count).
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            });
        }
        // (stops the busy threads even when an assertion fails, so the scope can end)
        struct Stop<'a>(&'a std::sync::atomic::AtomicBool);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let _stop = Stop(&stop);
        short_jobs(200_000);
    });
}

fn short_jobs(jobs: usize) {
    for job in 0..jobs {
        let count = 1 + job % 9;
        let sum = AtomicUsize::new(0);
        let tasks = AtomicUsize::new(0);
        web_pool::run(count, &|i| {
            sum.fetch_add(job * 100 + i, Ordering::SeqCst);
            tasks.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(tasks.load(Ordering::SeqCst), count, "job {job}");
        assert_eq!(sum.load(Ordering::SeqCst), count * job * 100 + count * (count - 1) / 2, "job {job}");
    }
}

#[test]
fn tasks_use_more_than_one_thread() {
    pool();
    // tasks that each wait for a second task to start can only finish on two threads at once
    let started = AtomicUsize::new(0);
    let threads = Mutex::new(std::collections::HashSet::new());
    web_pool::run(2, &|_| {
        started.fetch_add(1, Ordering::SeqCst);
        threads.lock().unwrap().insert(std::thread::current().id());
        let t0 = std::time::Instant::now();
        while started.load(Ordering::SeqCst) < 2 {
            assert!(t0.elapsed().as_secs() < 30, "the second task never started beside the first");
            std::hint::spin_loop();
        }
    });
    assert_eq!(threads.lock().unwrap().len(), 2);
}

#[test]
fn a_loop_inside_a_task_runs_in_order() {
    pool();
    let total = AtomicUsize::new(0);
    web_pool::run(8, &|i| {
        let inner = Mutex::new(Vec::new());
        web_pool::run(5, &|j| inner.lock().unwrap().push(j));
        assert_eq!(*inner.lock().unwrap(), vec![0, 1, 2, 3, 4], "task {i}");
        total.fetch_add(1, Ordering::SeqCst);
    });
    assert_eq!(total.load(Ordering::SeqCst), 8);
}

#[test]
fn two_callers_take_turns() {
    pool();
    std::thread::scope(|s| {
        for caller in 0..2usize {
            s.spawn(move || {
                for job in 0..2_000usize {
                    let sum = AtomicUsize::new(0);
                    web_pool::run(6, &|i| {
                        sum.fetch_add(i + caller, Ordering::SeqCst);
                    });
                    assert_eq!(sum.load(Ordering::SeqCst), 15 + 6 * caller, "caller {caller} job {job}");
                }
            });
        }
    });
}

#[test]
fn helpers_wake_after_sleeping() {
    pool();
    // long enough idle for every helper to fall asleep (they spin about 2^20 times first)
    std::thread::sleep(std::time::Duration::from_millis(300));
    let started = AtomicUsize::new(0);
    web_pool::run(4, &|_| {
        started.fetch_add(1, Ordering::SeqCst);
        let t0 = std::time::Instant::now();
        while started.load(Ordering::SeqCst) < 4 {
            assert!(t0.elapsed().as_secs() < 30, "a sleeping helper was not woken");
            std::hint::spin_loop();
        }
    });
}

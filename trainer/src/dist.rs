//! Data-parallel training: the collectives the training loop needs, over MPI (feature
//! `distributed`, launched by `mpirun`) or trivially for a single process.
//!
//! Every rank runs the same loop on its share of each global batch. After the backward pass the
//! `grad.*` tensors are summed across ranks with MPI all-reduce in buckets of bounded size, then
//! divided by the number of ranks, so every rank applies the same mean gradient with the same
//! optimizer and keeps the same weights. (Every MPI all-reduce algorithm hands each rank the same
//! bits for a commutative sum: pairwise exchanges compute `a + b` and `b + a`, which IEEE makes
//! equal, and reduce-scatter + all-gather computes each element once.) A watchdog aborts the whole
//! job when a collective waits longer than `--hang-timeout`: a rank that died is noticed by
//! `mpirun` itself, one that hangs by the others' watchdogs.
use std::time::Instant;

use anyhow::Result;

/// Collective operations across the ranks of a job.
pub trait Comm {
    fn rank(&self) -> usize;
    fn size(&self) -> usize;
    /// The rank among the processes of this machine (picks the GPU).
    #[cfg_attr(not(feature = "distributed"), allow(dead_code))]
    fn local_rank(&self) -> usize;
    /// Element-wise sum over all ranks, into `out` (same length as `v`); `what` names the
    /// operation in the hang message.
    fn sum_f32(&self, what: &str, v: &[f32], out: &mut [f32]);
    fn sum_f64(&self, what: &str, v: &[f64], out: &mut [f64]);
    /// Rank 0's bytes to every rank (`v` is replaced on the other ranks).
    fn broadcast(&self, what: &str, v: &mut Vec<u8>);
    /// Every rank's value, in rank order.
    fn gather_u64(&self, what: &str, v: u64) -> Vec<u64>;
    /// Stops every rank of the job with a non-zero exit.
    #[cfg_attr(not(feature = "distributed"), allow(dead_code))]
    fn abort(&self, code: i32) -> !;
}

/// A job of one process: every collective is the identity.
pub struct Single;

impl Comm for Single {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn local_rank(&self) -> usize {
        0
    }
    fn sum_f32(&self, _: &str, v: &[f32], out: &mut [f32]) {
        out.copy_from_slice(v);
    }
    fn sum_f64(&self, _: &str, v: &[f64], out: &mut [f64]) {
        out.copy_from_slice(v);
    }
    fn broadcast(&self, _: &str, _: &mut Vec<u8>) {}
    fn gather_u64(&self, _: &str, v: u64) -> Vec<u64> {
        vec![v]
    }
    fn abort(&self, code: i32) -> ! {
        std::process::exit(code)
    }
}

/// Time spent in collectives (the all-reduce of gradients), for the step-time breakdown.
#[derive(Default, Clone, Copy, Debug)]
pub struct CommStats {
    /// Seconds inside MPI all-reduce calls of gradients.
    pub allreduce_s: f64,
    /// Seconds reading gradients from the device and writing the mean back.
    pub transfer_s: f64,
    /// Bytes each rank contributed to gradient all-reduces.
    pub bytes: u64,
}

/// Averages the gradient tensors `grads` (name, length) across ranks in place on the device,
/// in buckets of at most `bucket` f32 values of host buffer (a tensor larger than a bucket is
/// read whole and all-reduced in bucket-sized pieces).
pub fn allreduce_gradients<B: glowgpu::Backend>(
    comm: &dyn Comm,
    backend: &mut B,
    grads: &[(String, usize)],
    bucket: usize,
    stats: &mut CommStats,
) -> Result<()> {
    let bucket = bucket.max(1);
    let world = comm.size() as f64;
    let mut send: Vec<f32> = Vec::with_capacity(bucket);
    let mut recv: Vec<f32> = vec![0.0; bucket];
    let mut i = 0;
    while i < grads.len() {
        // the next bucket: whole tensors while they fit (at least one)
        let mut j = i + 1;
        let mut len = grads[i].1;
        while j < grads.len() && len + grads[j].1 <= bucket {
            len += grads[j].1;
            j += 1;
        }
        let names: Vec<String> = grads[i..j].iter().map(|(n, _)| n.clone()).collect();
        let t0 = Instant::now();
        let values = glowgpu::platform::block_on(backend.read_params(&names))?;
        stats.transfer_s += t0.elapsed().as_secs_f64();
        let flat: Vec<f32> = values.iter().flatten().map(|&x| x as f32).collect();
        let mut mean = Vec::with_capacity(flat.len());
        for chunk in flat.chunks(bucket) {
            send.clear();
            send.extend_from_slice(chunk);
            let t0 = Instant::now();
            comm.sum_f32("all-reduce of gradients", &send, &mut recv[..chunk.len()]);
            stats.allreduce_s += t0.elapsed().as_secs_f64();
            stats.bytes += 4 * chunk.len() as u64;
            mean.extend(recv[..chunk.len()].iter().map(|&s| s as f64 / world));
        }
        let t0 = Instant::now();
        let mut map = glowgpu::backend::ParamMap::new();
        let mut off = 0;
        for (name, n) in &grads[i..j] {
            map.insert(name.clone(), (vec![*n], mean[off..off + n].to_vec()));
            off += n;
        }
        backend.set_params(&map)?;
        stats.transfer_s += t0.elapsed().as_secs_f64();
        i = j;
    }
    Ok(())
}

/// FNV-1a over the f32 bits of every tensor, in name order: equal on every rank iff the weights
/// are bit-identical (up to hash collisions).
pub fn params_hash(p: &glowgpu::Params) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (name, t) in &p.map {
        for b in name.bytes().chain(t.data.iter().flat_map(|x| x.to_bits().to_le_bytes())) {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

#[cfg(feature = "distributed")]
pub use mpi_comm::Mpi;

#[cfg(feature = "distributed")]
mod mpi_comm {
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use mpi::collective::SystemOperation;
    use mpi::environment::Universe;
    use mpi::topology::{Communicator, SimpleCommunicator};
    use mpi::traits::*;

    use super::Comm;

    /// MPI_COMM_WORLD of an `mpirun` job, with a watchdog on every collective.
    pub struct Mpi {
        world: SimpleCommunicator,
        local_rank: usize,
        /// (deadline, operation) of the collective in progress.
        waiting: Arc<Mutex<Option<(Instant, String)>>>,
        limit: Duration,
        // dropped last (fields drop in order): MPI_Finalize
        _universe: Universe,
    }

    struct Guard<'a>(&'a Mutex<Option<(Instant, String)>>);
    impl Drop for Guard<'_> {
        fn drop(&mut self) {
            *self.0.lock().unwrap() = None;
        }
    }

    impl Mpi {
        /// Initialises MPI when this process was started by `mpirun` / `mpiexec` (None otherwise:
        /// a plain single-process run). `note` is said in the hang message (e.g. the checkpoint).
        pub fn from_env(limit: Duration, note: String) -> Option<Mpi> {
            let launched = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"]
                .iter()
                .any(|v| std::env::var_os(v).is_some());
            if !launched {
                return None;
            }
            // the watchdog thread calls MPI_Abort while the main thread may sit in a collective
            let (universe, _) = mpi::initialize_with_threading(mpi::Threading::Multiple)?;
            let world = universe.world();
            let local_rank = world.split_shared(0).rank() as usize;
            let waiting: Arc<Mutex<Option<(Instant, String)>>> = Arc::new(Mutex::new(None));
            let w = waiting.clone();
            let rank = world.rank();
            std::thread::spawn(move || loop {
                std::thread::sleep(Duration::from_millis(200));
                let late = w.lock().unwrap().as_ref().filter(|(d, _)| Instant::now() > *d).map(|(_, s)| s.clone());
                if let Some(what) = late {
                    eprintln!(
                        "rank {rank}: no answer from the other ranks for {:.0} s in the {what}: a rank died \
                         or hangs; stopping the whole job. {note}",
                        limit.as_secs_f64()
                    );
                    // SAFETY: MPI is initialised with MPI_THREAD_MULTIPLE; MPI_Abort never returns.
                    unsafe {
                        mpi::ffi::MPI_Abort(mpi::ffi::RSMPI_COMM_WORLD, 3);
                    }
                    std::process::exit(3);
                }
            });
            Some(Mpi { world, local_rank, waiting, limit, _universe: universe })
        }

        fn guard(&self, what: &str) -> Guard<'_> {
            *self.waiting.lock().unwrap() = Some((Instant::now() + self.limit, what.to_string()));
            Guard(&self.waiting)
        }
    }

    impl Comm for Mpi {
        fn rank(&self) -> usize {
            self.world.rank() as usize
        }
        fn size(&self) -> usize {
            self.world.size() as usize
        }
        fn local_rank(&self) -> usize {
            self.local_rank
        }
        fn sum_f32(&self, what: &str, v: &[f32], out: &mut [f32]) {
            let _g = self.guard(what);
            self.world.all_reduce_into(v, out, SystemOperation::sum());
        }
        fn sum_f64(&self, what: &str, v: &[f64], out: &mut [f64]) {
            let _g = self.guard(what);
            self.world.all_reduce_into(v, out, SystemOperation::sum());
        }
        fn broadcast(&self, what: &str, v: &mut Vec<u8>) {
            let _g = self.guard(what);
            let root = self.world.process_at_rank(0);
            let mut len = v.len() as u64;
            root.broadcast_into(&mut len);
            v.resize(len as usize, 0);
            root.broadcast_into(&mut v[..]);
        }
        fn gather_u64(&self, what: &str, v: u64) -> Vec<u64> {
            let _g = self.guard(what);
            let mut out = vec![0u64; self.size()];
            self.world.all_gather_into(&v, &mut out[..]);
            out
        }
        fn abort(&self, code: i32) -> ! {
            self.world.abort(code)
        }
    }
}

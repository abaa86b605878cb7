//! `trainer train`: data-dependent init, the training loop with background decoding, periodic
//! evaluation with the EMA weights, sample grids, a CSV log and bpd plot, atomic checkpoints and
//! exact resume. Under `mpirun` (feature `distributed`) every rank trains on its share of each
//! global batch and the gradients are averaged across ranks (`dist`).
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use glowgpu::platform::block_on;
use glowgpu::train::Trainer;
use glowgpu::{AnyBackend, Backend, CpuBackend, GpuBackend};
use indicatif::{ProgressBar, ProgressStyle};

use crate::checkpoint::{self, Checkpoint};
use crate::data::{self, Dataset};
use crate::dist::{self, Comm};
use crate::run_setup::{open_log, prepare, save_last, DistSteps, Run};
use crate::{fsutil, grid, plot, run_checks, BackendKind, DataArgs};

/// `--backward`: see [`glowgpu::train::Mode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Backward {
    Nets,
    Reversible,
    Stored,
}

/// A config enum (`glowgpu::Coupling`, `glowgpu::Permutation`) by its name in the weights
/// metadata (`invconv_lu`; `invconv-lu` also accepted), so a new layer kind needs no CLI code.
fn config_enum<T: serde::de::DeserializeOwned>(s: &str) -> std::result::Result<T, String> {
    serde_json::from_value(serde_json::Value::String(s.replace('-', "_"))).map_err(|e| e.to_string())
}

#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Side of the (square) training images; larger images are centre-cropped and resized.
    #[arg(long)]
    pub image_size: usize,
    /// 1 (greyscale) or 3 (RGB).
    #[arg(long, default_value_t = 3)]
    pub channels: usize,
    /// Levels L.
    #[arg(long, default_value_t = 3)]
    pub levels: usize,
    /// Flow steps per level K.
    #[arg(long, default_value_t = 8)]
    pub depth: usize,
    /// Hidden channels of the coupling networks.
    #[arg(long, default_value_t = 128)]
    pub width: usize,
    /// Coupling layer: affine or additive (`glowgpu::Coupling`).
    #[arg(long, default_value = "affine", value_parser = config_enum::<glowgpu::Coupling>)]
    pub coupling: glowgpu::Coupling,
    /// Permutation layer: invconv, invconv_lu, shuffle or reverse (`glowgpu::Permutation`).
    #[arg(long, default_value = "invconv", value_parser = config_enum::<glowgpu::Permutation>)]
    pub permutation: glowgpu::Permutation,
    /// Bits per colour channel kept from the images.
    #[arg(long, default_value_t = 5)]
    pub n_bits: u32,
    /// Do not learn the top prior (standard normal top latent).
    #[arg(long)]
    pub no_learn_top: bool,
    /// Class-conditional model: the CSV column holding integer labels (e.g. `label` for MNIST,
    /// `Smiling` for CelebA); classes = largest label + 1.
    #[arg(long)]
    pub label_column: Option<String>,
    /// Weight of the class head's cross-entropy (bits) in the loss (official `weight_y`).
    #[arg(long, default_value_t = 0.0)]
    pub weight_y: f64,
    /// Images per step. Under `mpirun -np N` (feature `distributed`) this is the global batch:
    /// each rank takes batch/N images of it, so a run means the same with any number of ranks.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Peak learning rate (Adamax, as the official code).
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Linear warmup steps.
    #[arg(long, default_value_t = 500)]
    pub warmup: u64,
    /// Total optimizer steps (the run stops there; resume continues up to it).
    #[arg(long, default_value_t = 10_000)]
    pub steps: u64,
    /// Train for this many epochs instead (overrides --steps).
    #[arg(long)]
    pub epochs: Option<u64>,
    /// Global gradient-norm clipping (0 = off).
    #[arg(long, default_value_t = 0.0)]
    pub max_grad_norm: f32,
    /// Polyak horizon in epochs, as the official code: Adamax's beta2 = 1 − 1/(steps per epoch ·
    /// this), and the EMA's decay too unless --ema-epochs is given.
    #[arg(long, default_value_t = 1.0)]
    pub polyak_epochs: f64,
    /// EMA horizon in epochs when it should differ from --polyak-epochs (a short run wants a short
    /// EMA: the average starts at the initial weights). Only the EMA changes; beta2 stays.
    #[arg(long)]
    pub ema_epochs: Option<f64>,
    /// Random horizontal flips.
    #[arg(long)]
    pub flip: bool,
    /// Where the backward pass gets activations: `nets` keeps every coupling net's activations
    /// from the forward pass and inverts the flow steps (PyTorch's FLOP count, the fastest;
    /// memory grows with depth), `reversible` also recomputes the nets (memory flat in depth,
    /// a third more FLOPs), `stored` keeps every step's input and recomputes the step.
    #[arg(long, value_enum, default_value_t = Backward::Nets)]
    pub backward: Backward,
    /// Shorthand for `--backward reversible`.
    #[arg(long)]
    pub reversible: bool,
    /// Run seed: data order, flips, dequantisation noise and (from scratch) the initial weights.
    /// Default: 0 from scratch; for a warm start (`--init-weights`) a hash of the weights file
    /// (printed), so that a warm start from new weights does not replay an earlier run's batches
    /// with the same noise (every warm start before session 15 replayed seed 0's: a warm start
    /// from weights trained on that stream lost 0.0008 bits/dim in 1,500 steps, one with another
    /// seed gained, see www/models/README.md); a resumed run keeps its checkpoint's.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output folder (checkpoint, log, samples, plots, exported weights).
    #[arg(long)]
    pub out: PathBuf,
    /// Continue from `<out>/checkpoint.safetensors` exactly where it stopped.
    #[arg(long)]
    pub resume: bool,
    /// Warm start (not with --resume): the model's architecture and weights from a weights file
    /// (e.g. the shipped model, or a run's model.safetensors), a fresh optimizer whose EMA starts
    /// at those weights, no data-dependent init. Architecture flags are ignored; the file's
    /// image size and channels must match --image-size / --channels.
    #[arg(long)]
    pub init_weights: Option<PathBuf>,
    /// Evaluate test bits/dim (EMA weights) and write sample grids every N steps (0 = only at the end).
    #[arg(long, default_value_t = 1000)]
    pub eval_every: u64,
    /// Test images per evaluation.
    #[arg(long, default_value_t = 256)]
    pub eval_images: usize,
    /// Checkpoint every N steps.
    #[arg(long, default_value_t = 200)]
    pub checkpoint_every: u64,
    /// Images that cannot be used (unreadable, corrupt, too small) to leave out of the run. Every
    /// image is decoded once before training; more bad images than this stops the run there,
    /// naming them.
    #[arg(long, default_value_t = 0)]
    pub skip_bad_images: usize,
    /// Images for the data-dependent actnorm initialisation.
    #[arg(long, default_value_t = 64)]
    pub init_images: usize,
    #[arg(long, value_enum, default_value_t = BackendKind::Gpu)]
    pub backend: BackendKind,
    /// Distributed runs: stop the whole job when a rank waits longer than this many seconds for
    /// the others (a rank hangs); covers a step plus rank 0's evaluation and checkpoint.
    #[arg(long, default_value_t = 1200.0)]
    pub hang_timeout: f64,
    /// Distributed runs: host buffer of one gradient all-reduce bucket, in MiB.
    #[arg(long, default_value_t = 16.0)]
    pub allreduce_bucket_mib: f64,
}

pub fn run(a: TrainArgs) -> Result<()> {
    #[cfg(feature = "distributed")]
    {
        let note = format!(
            "The checkpoint {}, if there is one, is intact (only weights the next step vouched for are written).",
            a.out.join("checkpoint.safetensors").display()
        );
        if let Some(mpi) = dist::Mpi::from_env(std::time::Duration::from_secs_f64(a.hang_timeout.max(1.0)), note) {
            let res = run_on(a, &mpi);
            if let Err(e) = &res {
                if mpi.size() > 1 {
                    // stop the other ranks now rather than let them wait for this one
                    eprintln!("rank {}: error: {e:#}; stopping the whole job", mpi.rank());
                    mpi.abort(1);
                }
            }
            return res;
        }
    }
    #[cfg(not(feature = "distributed"))]
    if let Some(n) = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE"]
        .iter()
        .find_map(|v| std::env::var(v).ok()?.parse::<usize>().ok())
        .filter(|&n| n > 1)
    {
        bail!(
            "started by mpirun as one of {n} processes, but this trainer was built without the `distributed` \
             feature: each process would train alone into the same folder. Build it with \
             `cargo build --release -p trainer --features distributed`"
        );
    }
    run_on(a, &dist::Single)
}

fn run_on(a: TrainArgs, comm: &dyn Comm) -> Result<()> {
    let backend: AnyBackend = match a.backend {
        BackendKind::Gpu => {
            let g = open_gpu(comm)?;
            if comm.size() > 1 {
                eprintln!("rank {} of {}: backend: {}", comm.rank(), comm.size(), g.describe());
            } else {
                eprintln!("backend: {}", g.describe());
            }
            g.into()
        }
        BackendKind::Cpu => CpuBackend::<f32>::new().into(),
    };
    train(a, backend, comm)
}

/// The default adapter; in a distributed job the local rank picks one of this machine's GPUs
/// (round robin), falling back to a software adapter (lavapipe) when there is none.
fn open_gpu(comm: &dyn Comm) -> Result<GpuBackend> {
    #[cfg(feature = "distributed")]
    if comm.size() > 1 {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let all = block_on(instance.enumerate_adapters(wgpu::Backends::all()));
        let (gpus, soft): (Vec<_>, Vec<_>) =
            all.into_iter().partition(|a| a.get_info().device_type != wgpu::DeviceType::Cpu);
        let pool = if gpus.is_empty() { soft } else { gpus };
        if !pool.is_empty() {
            let n = pool.len();
            let pick = pool.into_iter().nth(comm.local_rank() % n).unwrap();
            return Ok(block_on(GpuBackend::from_adapter(pick))?);
        }
    }
    let _ = comm;
    Ok(block_on(GpuBackend::new())?)
}

fn train<B: Backend>(a: TrainArgs, backend: B, comm: &dyn Comm) -> Result<()> {
    let (rank, world) = (comm.rank(), comm.size());
    // rank 0 owns the run folder: checkpoints, log, plots, sample grids, the EMA and the final model
    let lead = rank == 0;
    let Run { a, cfg, seed, mut trainer, mut batches, train_set, test_set, local, _lock } = prepare(a, backend, comm)?;
    let ck_path = a.out.join("checkpoint.safetensors");
    let log_path = a.out.join("log.csv");
    let mut log = if lead { Some(open_log(&log_path, trainer.t)?) } else { None };
    let shard = rank * local..(rank + 1) * local;
    let rx = data::loader_shard(train_set.clone(), a.batch, shard, seed, a.flip, batches, a.data.loader_threads);
    let bar = if lead { ProgressBar::new(a.steps) } else { ProgressBar::hidden() };
    let mut ds = DistSteps::new(&trainer, a.allreduce_bucket_mib);
    if lead && world > 1 {
        let n: usize = ds.grads.iter().map(|g| g.1).sum();
        eprintln!(
            "data-parallel: {world} ranks x {local} images; all-reduce of {n} gradient values in buckets of {}",
            ds.bucket
        );
    }
    bar.set_style(ProgressStyle::with_template("{bar:30} {pos}/{len} steps  {per_sec}  eta {eta}  {msg}").unwrap());
    bar.set_position(trainer.t);
    let start = Instant::now();
    let mut fails = 0;
    let mut ema_bpd = f64::NAN;
    // A checkpoint of step t is written once step t + 1 has shown its weights give a finite loss
    // and gradient (an update can be finite and still ruin the model); the last one is checked by
    // a forward pass. `last_ck`: the step of the checkpoint on disk that belongs to this run.
    let mut last_ck = (trainer.t > 0).then_some(trainer.t);
    let mut pending: Option<Checkpoint> = None;
    let mut last_batch = None;
    let note = |last: Option<u64>| run_checks::checkpoint_note(&ck_path, last);
    while trainer.t < a.steps {
        let batch = rx.recv().context("image loader stopped")?.map_err(|e| anyhow!("{e:#}; {}", note(last_ck)))?;
        let step_seed = seed ^ batches.wrapping_mul(0x2545_F491_4F6C_DD1D);
        let st = if world == 1 {
            block_on(trainer.step(&batch.images, batch.n, batch.labels.as_deref(), step_seed))
                .map_err(|e| anyhow!("{e:#}; {}", note(last_ck)))?
        } else {
            ds.step(&mut trainer, &batch, comm, step_seed, a.batch)?
        };
        batches += 1;
        if st.skipped {
            fails += 1;
            say(&bar, format!("warning: non-finite loss or gradient at batch {batches}; step skipped"));
            if let Some(p) = pending.take() {
                say(&bar, format!("warning: the weights of step {} fail at the next batch: not checkpointed", p.t));
            }
            if fails >= 10 {
                bail!("10 consecutive non-finite steps: stopping; {}", note(last_ck));
            }
            continue;
        }
        fails = 0;
        if let Some(p) = pending.take() {
            checkpoint::save(&ck_path, &p)?;
            last_ck = Some(p.t);
        }
        ema_bpd = if ema_bpd.is_nan() { st.bpd } else { 0.98 * ema_bpd + 0.02 * st.bpd };
        bar.set_position(trainer.t);
        bar.set_message(format!("train bpd {ema_bpd:.3}"));
        let t = trainer.t;
        let eval_now = lead && ((a.eval_every > 0 && t % a.eval_every == 0) || t == a.steps);
        let test_bpd = if eval_now {
            evaluate(&mut trainer, test_set.as_ref(), &a, t)
                .map_err(|e| anyhow!("evaluation at step {t}: {e:#}; {}", note(last_ck)))?
        } else {
            None
        };
        let Some(log) = log.as_mut() else {
            // other ranks: only take part in the weights check at checkpoints
            if world > 1 && (t % a.checkpoint_every == 0 || t == a.steps) {
                check_identical(&mut trainer, comm, t)?;
            }
            continue;
        };
        writeln!(
            log,
            "{t},{batches},{:.5},{:.5},{},{:.1}",
            st.bpd,
            st.grad_norm,
            test_bpd.map(|v| format!("{v:.5}")).unwrap_or_default(),
            start.elapsed().as_secs_f64()
        )?;
        if let Some(v) = test_bpd {
            say(&bar, format!("step {t}: test bits/dim {v:.4} (EMA weights)"));
            plot::plot_log(&log_path, &a.out.join("bpd.png"))?;
        }
        if t % a.checkpoint_every == 0 || t == a.steps {
            if world > 1 {
                let h = check_identical(&mut trainer, comm, t)?;
                if t == a.steps {
                    say(&bar, format!("step {t}: weights bit-identical on all {world} ranks (hash {h:016x})"));
                }
            }
            pending = Some(snapshot(&mut trainer, batches, seed).map_err(|e| anyhow!("{e:#}; {}", note(last_ck)))?);
        }
        last_batch = Some(batch);
    }
    bar.finish();
    if let (Some(p), Some(b)) = (pending.take(), last_batch.as_ref()) {
        save_last(&mut trainer, &ck_path, p, b, last_ck)?;
    }
    if lead {
        ds.report(world, a.batch);
    }
    if !lead {
        return Ok(());
    }
    let ema = block_on(trainer.ema_params())?;
    let bytes = glowgpu::save_weights(&cfg, &ema)?;
    let out = a.out.join("model.safetensors");
    fsutil::write_atomic(&out, &bytes)?;
    eprintln!("wrote {} (EMA weights) after {:.0} s", out.display(), start.elapsed().as_secs_f64());
    Ok(())
}

/// All-gathers a hash of every rank's weights and fails unless they are bit-identical.
fn check_identical<B: Backend>(tr: &mut Trainer<B>, comm: &dyn Comm, t: u64) -> Result<u64> {
    block_on(tr.sync())?;
    let hashes = comm.gather_u64("check that the ranks' weights agree", dist::params_hash(tr.model.params()));
    if hashes.iter().any(|h| *h != hashes[0]) {
        let list: Vec<String> = hashes.iter().map(|h| format!("{h:016x}")).collect();
        bail!("step {t}: the ranks' weights differ (hashes by rank: {})", list.join(", "));
    }
    Ok(hashes[0])
}

/// A line above the progress bar, or on stderr when there is no terminal (background runs).
fn say(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

/// The trainer's state as a checkpoint (written once the next step has vouched for it).
fn snapshot<B: Backend>(tr: &mut Trainer<B>, batches: u64, seed: u64) -> Result<Checkpoint> {
    block_on(tr.sync())?;
    let opt = block_on(tr.optimizer_tensors())?;
    Ok(Checkpoint { cfg: tr.model.config().clone(), params: tr.model.params().clone(), opt, t: tr.t, batches, seed })
}

/// Test bits/dim and sample grids with the EMA weights; the training weights are restored after.
fn evaluate<B: Backend>(tr: &mut Trainer<B>, test: Option<&Dataset>, a: &TrainArgs, t: u64) -> Result<Option<f64>> {
    block_on(tr.sync())?;
    let current = tr.model.params().clone();
    let ema = block_on(tr.ema_params())?;
    tr.model.set_params(ema)?;
    let cfg = tr.model.config().clone();
    let mut result = None;
    if let Some(ds) = test {
        let n = a.batch.min(ds.len()).max(1);
        let nb = (a.eval_images.min(ds.len()) / n).max(1);
        let mut all = Vec::new();
        for b in 0..nb {
            let mut imgs = Vec::with_capacity(n * ds.dims());
            let mut labels = Vec::new();
            for i in b * n..(b + 1) * n {
                imgs.extend(ds.load(i % ds.len(), false)?);
                if let Some(l) = &ds.labels {
                    labels.push(l[i % ds.len()]);
                }
            }
            let lab = (cfg.n_classes > 0).then_some(&labels[..]);
            match block_on(tr.model.bits_per_dim(&imgs, n, lab, b as u64)) {
                Ok(v) => all.extend(v),
                // the EMA weights can lag a run into a bad region; the run itself goes on
                Err(glowgpu::Error::NonFinite(m)) => {
                    eprintln!("warning: step {t}: no test bits/dim of the EMA weights: {m}");
                    all.clear();
                    break;
                }
                Err(e) => return Err(e.into()),
            }
        }
        result = (!all.is_empty()).then(|| all.iter().sum::<f64>() / all.len() as f64);
    }
    for temp in [0.7f32, 1.0] {
        let labels: Vec<u32> = (0..16).map(|i| i % cfg.n_classes.max(1) as u32).collect();
        let lab = (cfg.n_classes > 0).then_some(&labels[..]);
        match block_on(tr.model.sample(16, temp, t, lab)) {
            Ok(imgs) => grid::save_grid(&a.out.join(format!("samples_t{temp:.1}_step{t}.png")), &imgs, 16, &cfg)?,
            Err(glowgpu::Error::NonFinite(m)) => eprintln!("warning: step {t}: no sample grid at T = {temp}: {m}"),
            Err(e) => return Err(e.into()),
        }
    }
    tr.model.set_params(current)?;
    Ok(result)
}

/// Keeps the header and the rows of steps `<= step` of a run's CSV log (atomically rewritten).
pub fn truncate_log(path: &std::path::Path, step: u64) -> Result<()> {
    let Ok(text) = std::fs::read_to_string(path) else { return Ok(()) };
    let kept: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(i, l)| *i == 0 || l.split(',').next().and_then(|s| s.parse::<u64>().ok()).is_some_and(|s| s <= step))
        .map(|(_, l)| l)
        .collect();
    if kept.len() < text.lines().count() {
        fsutil::write_atomic(path, (kept.join("\n") + "\n").as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn resume_drops_the_log_rows_past_the_checkpoint() {
        let dir = std::env::temp_dir().join(format!("glow-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("log.csv");
        std::fs::write(&log, "step,batches\n1,1\n2,2\n3,3\n4,4\n").unwrap();
        super::truncate_log(&log, 2).unwrap();
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "step,batches\n1,1\n2,2\n");
        super::truncate_log(&log, 5).unwrap();
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "step,batches\n1,1\n2,2\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

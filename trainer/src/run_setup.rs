//! The pieces of `trainer train` around its loop: the run's preparation ([`prepare`]: flags,
//! data, the checkpoint to resume, the warm-start weights, the trainer itself, resumed,
//! warm-started or freshly initialised from data), the log, the last checkpoint's check, and
//! data-parallel steps with their figures.
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use glowgpu::ops::optim::OptConfig;
use glowgpu::platform::block_on;
use glowgpu::train::Trainer;
use glowgpu::{Backend, Glow};

use crate::checkpoint::{self, Checkpoint};
use crate::data::{self, DataSpec, Dataset};
use crate::dist::{self, Comm};
use crate::train_cmd::{truncate_log, Backward, TrainArgs};
use crate::{fsutil, run_checks};

/// A run ready for its loop ([`prepare`]).
pub struct Run<B: Backend> {
    /// The flags, `--steps` from `--epochs` if given.
    pub a: TrainArgs,
    pub cfg: glowgpu::GlowConfig,
    pub seed: u64,
    pub trainer: Trainer<B>,
    /// Batches seen so far (where the loader starts).
    pub batches: u64,
    pub train_set: Arc<Dataset>,
    /// Rank 0's test split (with `--split-csv`).
    pub test_set: Option<Dataset>,
    /// Images per rank per step.
    pub local: usize,
    /// Rank 0's lock on the run folder, held for the run.
    pub _lock: Option<fsutil::RunLock>,
}

/// Everything before the first step: the flags and the model they describe checked (before any
/// image is read or anything allocated), the run folder locked, both splits scanned, the
/// checkpoint to resume or the weights to warm-start from loaded and checked against the flags,
/// and the trainer built (resumed, warm-started or initialised from data) with this rank's share.
pub fn prepare<B: Backend>(a: TrainArgs, backend: B, comm: &dyn Comm) -> Result<Run<B>> {
    let (rank, world) = (comm.rank(), comm.size());
    let lead = rank == 0;
    run_checks::check_flags(&a)?;
    // the model the flags describe, checked before any image is read or anything allocated
    let flags0 = run_checks::flag_config(&a, 0);
    flags0.validate().context("the model flags")?;
    run_checks::check_host_memory(&a, &flags0, a.batch / world.max(1))?;
    let lock = if lead {
        std::fs::create_dir_all(&a.out).with_context(|| format!("cannot create {}", a.out.display()))?;
        Some(fsutil::lock_run_folder(&a.out)?)
    } else {
        None
    };
    let train_set = Arc::new(open_scanned(&a, "train", lead)?);
    let test_set = if lead && a.data.split_csv.is_some() { Some(open_scanned(&a, "test", lead)?) } else { None };
    if train_set.len() < a.batch {
        bail!("{} training images, fewer than one batch of {}", train_set.len(), a.batch);
    }
    if !a.batch.is_multiple_of(world) {
        bail!("--batch {} (the global batch) must be a multiple of the {world} ranks", a.batch);
    }
    let local = a.batch / world;
    let steps_per_epoch = (train_set.len() / a.batch) as u64;
    let mut a = a;
    if let Some(e) = a.epochs {
        a.steps = e.checked_mul(steps_per_epoch).context("--epochs times the steps per epoch overflows")?;
    }
    let ck_path = a.out.join("checkpoint.safetensors");
    let resume = load_resume(&a, comm, &ck_path)?;
    // --init-weights: the run's architecture and first weights come from a weights file (also
    // what a resumed warm-started run is checked against)
    let warm = load_warm(&a, lead && resume.is_none())?;
    let n_classes = train_set.labels.as_ref().map_or(0, |l| l.iter().max().map_or(0, |m| *m as usize + 1));
    let flags_cfg = match &warm {
        Some((c, _, _)) => c.clone(),
        None => run_checks::flag_config(&a, n_classes),
    };
    let (cfg, seed) = match &resume {
        Some(ck) => {
            run_checks::check_resume(&ck.cfg, ck.seed, &flags_cfg, a.seed, &a.out)?;
            (ck.cfg.clone(), ck.seed)
        }
        None => (flags_cfg, a.seed.unwrap_or_else(|| warm.as_ref().map_or(0, |w| w.2))),
    };
    if lead && resume.is_none() && warm.is_some() && a.seed.is_none() {
        eprintln!("run seed {seed} (the warm-start weights' hash; --seed sets another)");
    }
    cfg.validate()?;
    cfg.check_batch(local).context("--batch")?;
    let decay = 1.0 - 1.0 / (steps_per_epoch as f64 * a.ema_epochs.unwrap_or(a.polyak_epochs)).max(1.0);
    let mut opt = OptConfig::official(a.lr, steps_per_epoch, a.polyak_epochs, a.warmup);
    opt.max_norm = a.max_grad_norm;
    // the EMA is rank 0's: the other ranks skip its update
    opt.ema_decay = lead.then_some(decay as f32);
    let (mut trainer, batches) = new_trainer(&a, &cfg, seed, opt, backend, comm, resume, warm, &train_set)?;
    trainer.mode = match (a.reversible, a.backward) {
        (true, _) | (false, Backward::Reversible) => glowgpu::train::Mode::Reversible,
        (false, Backward::Stored) => glowgpu::train::Mode::Stored,
        (false, Backward::Nets) => glowgpu::train::Mode::KeepNets,
    };
    trainer.weight_y = a.weight_y;
    // this rank's images are [rank·local, (rank + 1)·local) of each global batch: the same
    // dequantisation noise and flips as in one batch of all ranks' images
    trainer.noise_base =
        (rank * local).checked_mul(cfg.dims()).and_then(|v| u32::try_from(v).ok()).context("global batch too large")?;
    Ok(Run { a, cfg, seed, trainer, batches, train_set, test_set, local, _lock: lock })
}

fn spec(a: &TrainArgs, split: &str) -> DataSpec {
    DataSpec {
        root: a.data.data.clone(),
        csv: a.data.split_csv.clone(),
        split: split.into(),
        size: a.image_size,
        channels: a.channels,
        pad: a.data.pad,
        label_column: a.label_column.clone(),
    }
}

/// Opens a split and decodes every image once (`Dataset::scan`), naming those left out.
fn open_scanned(a: &TrainArgs, split: &str, verbose: bool) -> Result<Dataset> {
    let mut ds = Dataset::open(spec(a, split))?;
    let dropped = ds.scan(a.data.loader_threads, a.skip_bad_images)?;
    if verbose && !dropped.is_empty() {
        eprintln!("warning: {} {split} image(s) left out (--skip-bad-images {}):", dropped.len(), a.skip_bad_images);
        for (_, e) in &dropped {
            eprintln!("  {e}");
        }
    }
    Ok(ds)
}

/// `--resume`: the run folder's checkpoint, if there is one. With several ranks rank 0 reads it
/// and hands it to every rank (no shared folder needed).
pub fn load_resume(a: &TrainArgs, comm: &dyn Comm, ck_path: &std::path::Path) -> Result<Option<Checkpoint>> {
    let (lead, world) = (comm.rank() == 0, comm.size());
    let ck_path = ck_path.to_path_buf();
    Ok(if world == 1 {
        if a.resume && ck_path.exists() {
            Some(checkpoint::load(&ck_path)?)
        } else {
            None
        }
    } else if a.resume {
        // rank 0 reads the checkpoint and hands it to every rank (no shared folder needed)
        let mut bytes = if lead && ck_path.exists() {
            std::fs::read(&ck_path).with_context(|| format!("cannot read checkpoint {}", ck_path.display()))?
        } else {
            Vec::new()
        };
        comm.broadcast("broadcast of the checkpoint", &mut bytes);
        if bytes.is_empty() {
            None
        } else {
            Some(checkpoint::parse(&bytes, &ck_path)?)
        }
    } else {
        None
    })
}

/// `--init-weights`: the run's architecture and first weights from a weights file (also what a
/// resumed warm-started run is checked against), checked against the data's image shape.
/// The third element: the default run seed of a warm start, [`weights_seed`] of the file.
pub fn load_warm(a: &TrainArgs, say_it: bool) -> Result<Option<(glowgpu::GlowConfig, glowgpu::Params, u64)>> {
    Ok(match &a.init_weights {
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read --init-weights {}", path.display()))?;
            let (c, p) = glowgpu::load_weights(&bytes).with_context(|| format!("--init-weights {}", path.display()))?;
            if (c.image_height, c.image_width, c.image_channels) != (a.image_size, a.image_size, a.channels) {
                bail!(
                    "--init-weights {} is a {}x{}x{} model; the data is read as {}x{}x{} (--image-size, --channels)",
                    path.display(),
                    c.image_height,
                    c.image_width,
                    c.image_channels,
                    a.image_size,
                    a.image_size,
                    a.channels
                );
            }
            if say_it {
                eprintln!("warm start from {} (architecture from the file: {c:?})", path.display());
            }
            Some((c, p, weights_seed(&bytes)))
        }
        None => None,
    })
}

/// A warm start's default run seed: FNV-1a (64 bit) of the weights file's bytes, so that new
/// weights start a new data order and noise stream, and the same file the same one.
pub fn weights_seed(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3))
}

/// The trainer: from the checkpoint (`resume`), from `--init-weights` (`warm`, no data-dependent
/// init), or fresh with actnorm initialised from data on rank 0 and broadcast. Returns it with
/// the batches seen so far.
#[allow(clippy::too_many_arguments)]
pub fn new_trainer<B: Backend>(
    a: &TrainArgs,
    cfg: &glowgpu::GlowConfig,
    seed: u64,
    opt: OptConfig,
    backend: B,
    comm: &dyn Comm,
    resume: Option<Checkpoint>,
    warm: Option<(glowgpu::GlowConfig, glowgpu::Params, u64)>,
    train_set: &Dataset,
) -> Result<(Trainer<B>, u64)> {
    let (lead, world) = (comm.rank() == 0, comm.size());
    Ok(match resume {
        Some(ck) => {
            if lead {
                eprintln!("resuming at step {} ({} batches seen) on {world} rank(s)", ck.t, ck.batches);
            }
            let model = Glow::from_params(cfg.clone(), ck.params, backend)?;
            let mut t = Trainer::new(model, opt)?;
            t.restore(&ck.opt, ck.t)?;
            (t, ck.batches)
        }
        None if warm.is_some() => {
            let (_, params, _) = warm.expect("checked");
            if lead {
                eprintln!("no data-dependent init: the weights of --init-weights");
            }
            (Trainer::new(Glow::from_params(cfg.clone(), params, backend)?, opt)?, 0)
        }
        None => {
            let mut model = Glow::new(cfg.clone(), backend, seed)?;
            let ni = a.init_images.min(train_set.len()).max(1);
            if lead {
                let order = data::epoch_order(train_set.len(), seed, 0);
                let mut imgs = Vec::with_capacity(ni * train_set.dims());
                for &i in order.iter().take(ni) {
                    imgs.extend(train_set.load(i, false)?);
                }
                block_on(model.init_actnorm(&imgs, ni, seed))?;
                if cfg.n_classes > 0 {
                    eprintln!("class-conditional: {} classes", cfg.n_classes);
                }
            }
            if world > 1 {
                // actnorm's data-dependent init on rank 0, then every rank starts from its weights
                let mut bytes = if lead { glowgpu::save_weights(cfg, model.params())? } else { Vec::new() };
                comm.broadcast("broadcast of the initial weights", &mut bytes);
                if !lead {
                    model.set_params(glowgpu::load_weights(&bytes)?.1)?;
                }
            }
            if lead {
                eprintln!("actnorm initialised from {ni} images");
            }
            (Trainer::new(model, opt)?, 0)
        }
    })
}

/// The run's `log.csv` for appending (rows past a resumed checkpoint removed, the header
/// written to a new file).
pub fn open_log(log_path: &std::path::Path, t: u64) -> Result<std::fs::File> {
    if t > 0 {
        // rows past the checkpoint were logged by the interrupted run: the resumed run redoes them
        truncate_log(log_path, t)?;
    }
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(log_path)?;
    if f.metadata()?.len() == 0 {
        writeln!(f, "step,batches,train_bpd,grad_norm,test_bpd,elapsed_s")?;
    }
    Ok(f)
}

/// The last checkpoint: no next step vouches for its weights, so a forward pass of the last
/// batch does before it is written.
pub fn save_last<B: Backend>(
    trainer: &mut Trainer<B>,
    ck_path: &std::path::Path,
    p: Checkpoint,
    b: &data::Batch,
    last_ck: Option<u64>,
) -> Result<()> {
    let note = |last: Option<u64>| run_checks::checkpoint_note(ck_path, last);
    // no next step vouches for the last weights: a forward pass of the last batch does
    let bpd = block_on(trainer.model.bits_per_dim(&b.images, b.n, b.labels.as_deref(), 0))
        .map_err(|e| anyhow!("the weights of step {} are not usable: {e:#}; {}", p.t, note(last_ck)))?;
    if !bpd.iter().all(|v| v.is_finite()) {
        bail!("the weights of step {} give a non-finite loss; {}", p.t, note(last_ck));
    }
    checkpoint::save(ck_path, &p)?;
    Ok(())
}

/// Data-parallel steps: gradients on this rank, the loss and gradient all-reduce, the optimizer;
/// with the per-step figures of steps 2.. (the first builds the graphs).
pub struct DistSteps {
    pub grads: Vec<(String, usize)>,
    pub bucket: usize,
    stats: dist::CommStats,
    steps: u64,
    seconds: f64,
    warm: bool,
}

impl DistSteps {
    pub fn new<B: Backend>(trainer: &Trainer<B>, bucket_mib: f64) -> Self {
        DistSteps {
            grads: trainer.gradient_tensors(),
            bucket: ((bucket_mib * 1048576.0 / 4.0) as usize).max(1),
            stats: dist::CommStats::default(),
            steps: 0,
            seconds: 0.0,
            warm: false,
        }
    }

    pub fn step<B: Backend>(
        &mut self,
        trainer: &mut Trainer<B>,
        batch: &data::Batch,
        comm: &dyn Comm,
        seed: u64,
        global_batch: usize,
    ) -> Result<glowgpu::train::StepStats> {
        let t0 = Instant::now();
        let per = block_on(trainer.gradients(&batch.images, batch.n, batch.labels.as_deref(), seed))?;
        let mut total = [0.0];
        comm.sum_f64("all-reduce of the loss", &[per.iter().sum::<f64>()], &mut total);
        dist::allreduce_gradients(comm, trainer.model.backend_mut(), &self.grads, self.bucket, &mut self.stats)?;
        let st = block_on(trainer.apply_gradients(total[0] / global_batch as f64))?;
        if self.warm {
            self.steps += 1;
            self.seconds += t0.elapsed().as_secs_f64();
        } else {
            (self.warm, self.stats) = (true, dist::CommStats::default());
        }
        Ok(st)
    }

    pub fn report(&self, world: usize, global_batch: usize) {
        if self.steps == 0 {
            return;
        }
        let (k, step_s, cstats, dist_steps) = (self.steps as f64, self.seconds, &self.stats, self.steps);
        let params: usize = self.grads.iter().map(|g| g.1).sum();
        eprintln!(
            "data-parallel: {world} ranks, {} images/step, steps 2..: {:.1} ms/step ({:.2} images/s); all-reduce \
             {} bytes/step ({params} parameters x 4 bytes) in {:.2} ms/step, gradient device<->host copies \
             {:.2} ms/step",
            global_batch,
            1e3 * step_s / k,
            global_batch as f64 * k / step_s,
            cstats.bytes / dist_steps,
            1e3 * cstats.allreduce_s / k,
            1e3 * cstats.transfer_s / k
        );
    }
}

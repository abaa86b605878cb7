//! `trainer train`'s checks before anything runs: every numeric flag within its bounds, the
//! model the flags describe valid before any data is read, and a resumed run's flags equal to
//! those its checkpoint was made with.
use std::path::Path;

use anyhow::{bail, Result};
use glowgpu::GlowConfig;

use crate::train_cmd::TrainArgs;

/// Refuses flags that would divide by zero, never finish, or mean nothing.
pub fn check_flags(a: &TrainArgs) -> Result<()> {
    let positive = [
        ("--lr", a.lr),
        ("--polyak-epochs", a.polyak_epochs),
        ("--hang-timeout", a.hang_timeout),
        ("--allreduce-bucket-mib", a.allreduce_bucket_mib),
    ];
    for (flag, v) in positive.into_iter().chain(a.ema_epochs.map(|v| ("--ema-epochs", v))) {
        if !(v.is_finite() && v > 0.0) {
            bail!("{flag} must be a finite number above 0, got {v}");
        }
    }
    for (flag, v) in [("--max-grad-norm", a.max_grad_norm as f64), ("--weight-y", a.weight_y)] {
        if !(v.is_finite() && v >= 0.0) {
            bail!("{flag} must be a finite number >= 0 (0 = off), got {v}");
        }
    }
    for (flag, v) in [
        ("--batch", a.batch),
        ("--init-images", a.init_images),
        ("--eval-images", a.eval_images),
        ("--loader-threads", a.data.loader_threads),
    ] {
        if v == 0 {
            bail!("{flag} must be at least 1");
        }
    }
    if a.data.loader_threads > 256 {
        bail!("--loader-threads must be at most 256, got {}", a.data.loader_threads);
    }
    if a.checkpoint_every == 0 {
        bail!("--checkpoint-every must be at least 1 (a checkpoint every N steps)");
    }
    if a.epochs == Some(0) {
        bail!("--epochs must be at least 1");
    }
    Ok(())
}

/// The model the flags describe (`n_classes` from the data).
pub fn flag_config(a: &TrainArgs, n_classes: usize) -> GlowConfig {
    GlowConfig {
        image_height: a.image_size,
        image_width: a.image_size,
        image_channels: a.channels,
        levels: a.levels,
        depth: a.depth,
        hidden: a.width,
        coupling: a.coupling,
        permutation: a.permutation,
        learn_top: !a.no_learn_top,
        n_classes,
        n_bits: a.n_bits,
    }
}

/// `--resume` continues the run its checkpoint holds: a flag describing another model (or
/// another seed) is refused, naming each difference, rather than silently ignored.
pub fn check_resume(
    ck_cfg: &GlowConfig,
    ck_seed: u64,
    flags: &GlowConfig,
    seed: Option<u64>,
    path: &Path,
) -> Result<()> {
    let (a, b) = (serde_json::to_value(ck_cfg)?, serde_json::to_value(flags)?);
    let mut diffs = Vec::new();
    if let (Some(a), Some(b)) = (a.as_object(), b.as_object()) {
        for (k, va) in a {
            let vb = &b[k];
            if va != vb {
                let flag = match k.as_str() {
                    "image_height" | "image_width" => "--image-size",
                    "image_channels" => "--channels",
                    "hidden" => "--width",
                    "learn_top" => "--no-learn-top",
                    "n_classes" => "--label-column (classes)",
                    "n_bits" => "--n-bits",
                    "levels" => "--levels",
                    "depth" => "--depth",
                    "coupling" => "--coupling",
                    "permutation" => "--permutation",
                    other => other,
                };
                diffs.push(format!("{flag}: {vb} given, the checkpoint has {va}"));
            }
        }
    }
    if let Some(seed) = seed.filter(|&s| s != ck_seed) {
        diffs.push(format!("--seed: {seed} given, the checkpoint has {ck_seed}"));
    }
    if !diffs.is_empty() {
        bail!(
            "--resume: the flags differ from the run in {}: {}; resume with the flags the run was started with \
             (or train into another --out)",
            path.display(),
            diffs.join("; ")
        );
    }
    Ok(())
}

/// The model's parameters with their optimizer state, and the images a run holds on the host
/// (the loader's queue of decoded batches, the actnorm-init images, the up-front scan's decodes),
/// must each fit in the memory available before any is allocated or decoded.
pub fn check_host_memory(a: &TrainArgs, cfg: &GlowConfig, local: usize) -> Result<()> {
    let Some(avail) = glowgpu::memory::available() else { return Ok(()) };
    let t = a.data.loader_threads as u64;
    let (d, b, ni) = (cfg.dims() as u64, local as u64, a.init_images as u64);
    // queued and in-flight batches: `loader_shard` keeps up to 2·threads in each of its two queues
    let need = d.saturating_mul(b.saturating_mul(5 * t + 2).saturating_add(ni).saturating_add(4 * t));
    // parameters: f32 on the host, f64 while uploaded, the backend's copy, Adamax moments and EMA
    let params = cfg.param_count().unwrap_or(u64::MAX).saturating_mul(4 + 8 + 4 + 12);
    if params > avail {
        bail!(
            "the model's {} parameters and their optimizer state need {}, {} is available",
            cfg.param_count().unwrap_or(u64::MAX),
            glowgpu::memory::human(params),
            glowgpu::memory::human(avail)
        );
    }
    if need > avail {
        bail!(
            "decoded images alone would need {} ({} per image, {}x{}x{}: --batch {local} with {t} loader \
             threads, --init-images {ni}), {} is available",
            glowgpu::memory::human(need),
            glowgpu::memory::human(d),
            cfg.image_height,
            cfg.image_width,
            cfg.image_channels,
            glowgpu::memory::human(avail)
        );
    }
    Ok(())
}

/// What is true about the run's checkpoint, for a message about a stopped run.
pub fn checkpoint_note(path: &Path, last: Option<u64>) -> String {
    match last {
        Some(t) => format!("the last checkpoint {} (step {t}) is intact", path.display()),
        None if path.exists() => {
            format!("no checkpoint of this run was written ({} is an earlier run's)", path.display())
        }
        None => format!("no checkpoint was written ({} does not exist)", path.display()),
    }
}

//! `trainer`: evaluate, sample and export Glow models with the same shaders the page uses
//! (any wgpu adapter, or the CPU backend with `--backend cpu`).
mod attributes;
mod checkpoint;
mod data;
mod dist;
mod fsutil;
mod grid;
mod plot;
mod run_checks;
mod run_setup;
mod table;
mod train_cmd;

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use glowgpu::platform::block_on;
use glowgpu::weights::{save_weights_as, WeightDtype};
use glowgpu::{AnyBackend, Backend, CpuBackend, Glow, GlowConfig, GpuBackend};

#[derive(Parser)]
#[command(name = "trainer", version, about = "Glow on wgpu: train, evaluate, sample and export models")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub enum BackendKind {
    /// The default wgpu adapter (Vulkan / Metal / DX12; lavapipe on a machine without a GPU).
    Gpu,
    /// The multi-threaded f32 CPU backend.
    Cpu,
}

#[derive(clap::Args, Clone, Debug)]
pub struct DataArgs {
    /// Folder of PNG/JPEG images (searched recursively), or the root of the CSV's `file` paths.
    #[arg(long)]
    pub data: PathBuf,
    /// CSV listing `file` and `split` columns (e.g. ../shared/data/celeba64/attributes.csv).
    #[arg(long)]
    pub split_csv: Option<PathBuf>,
    /// Zero-pad images smaller than the model's size (e.g. MNIST 28x28 to 32x32).
    #[arg(long)]
    pub pad: bool,
    /// Threads decoding images in the background.
    #[arg(long, default_value_t = 2)]
    pub loader_threads: usize,
}

#[derive(Subcommand)]
enum Cmd {
    /// Train a model on a folder of images (or a CSV split), with checkpoints and resume.
    Train(Box<train_cmd::TrainArgs>),
    /// Test-split bits/dim with a 95% confidence interval over images (EMA weights if the file has them).
    Eval {
        /// Weights file (.safetensors).
        #[arg(long)]
        weights: PathBuf,
        #[command(flatten)]
        data: DataArgs,
        /// Split of the CSV to evaluate.
        #[arg(long, default_value = "test")]
        split: String,
        /// Evaluate at most this many images (0 = all).
        #[arg(long, default_value_t = 0)]
        limit: usize,
        #[arg(long, default_value_t = 16)]
        batch: usize,
        /// Seed of the dequantisation noise.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long, value_enum, default_value_t = BackendKind::Gpu)]
        backend: BackendKind,
    },
    /// A PNG grid of samples.
    Sample {
        #[arg(long)]
        weights: PathBuf,
        /// Output PNG.
        #[arg(long)]
        out: PathBuf,
        /// Number of samples.
        #[arg(long, default_value_t = 16)]
        n: usize,
        /// Temperature (standard deviation of every level's noise).
        #[arg(long, default_value_t = 0.7)]
        temperature: f32,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long, value_enum, default_value_t = BackendKind::Gpu)]
        backend: BackendKind,
    },
    /// Attribute directions: mean(z | attribute) − mean(z | not) for every 0/1 CSV column.
    Attributes {
        #[arg(long)]
        weights: PathBuf,
        #[command(flatten)]
        data: DataArgs,
        /// Split of the CSV to average over.
        #[arg(long, default_value = "train")]
        split: String,
        /// Use at most this many images (0 = all).
        #[arg(long, default_value_t = 0)]
        limit: usize,
        #[arg(long, default_value_t = 16)]
        batch: usize,
        /// Output safetensors (`attr.<column>` tensors).
        #[arg(long)]
        out: PathBuf,
        /// Store the directions as f16 (half the download; the page reads both).
        #[arg(long)]
        f16: bool,
        #[arg(long, value_enum, default_value_t = BackendKind::Gpu)]
        backend: BackendKind,
    },
    /// Redraws the bits/dim plot of a run's CSV log.
    Plot {
        /// The run's log.csv.
        #[arg(long)]
        log: PathBuf,
        /// Output PNG.
        #[arg(long)]
        out: PathBuf,
    },
    /// A larger model that computes what the given one does (`glowgpu::grow`: new flow steps at
    /// the end of every level, each a channel reversal, in pairs; wider coupling nets whose new
    /// channels start with zero outgoing weights), written as f32 weights to warm-start training
    /// from (`train --init-weights`). Also takes a run's checkpoint (its EMA weights).
    Grow {
        #[arg(long)]
        weights: PathBuf,
        /// Flow steps per level of the grown model (the model's plus an even number; default: the model's).
        #[arg(long)]
        depth: Option<usize>,
        /// Coupling-net width of the grown model (default: the model's).
        #[arg(long)]
        width: Option<usize>,
        /// Seed of the new weights.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
    },
    /// Rewrites weights for the page (optionally as f16, halving the download). Also takes a run's
    /// `checkpoint.safetensors` (while it trains, say): its EMA weights, or with --raw the current ones.
    Export {
        #[arg(long)]
        weights: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// Store tensors as IEEE half floats.
        #[arg(long)]
        f16: bool,
        /// From a checkpoint: the trained weights themselves instead of their moving average.
        #[arg(long)]
        raw: bool,
    },
}

/// Weights, or a training checkpoint's EMA weights (`raw`: its current weights).
fn load_weights_or_checkpoint(path: &PathBuf, raw: bool) -> Result<(GlowConfig, glowgpu::Params)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read weights {}", path.display()))?;
    let is_checkpoint = safetensors::SafeTensors::read_metadata(&bytes)
        .ok()
        .and_then(|(_, m)| m.metadata().as_ref().and_then(|m| m.get("format").cloned()))
        .is_some_and(|f| f == "glowgpu-checkpoint");
    if !is_checkpoint {
        if raw {
            bail!("--raw takes a training checkpoint; {} holds plain weights", path.display());
        }
        return glowgpu::load_weights(&bytes).with_context(|| format!("loading {}", path.display()));
    }
    let mut ck = checkpoint::parse(&bytes, path)?;
    if !raw {
        for (name, t) in ck.params.map.iter_mut() {
            if let Some((_, ema)) = ck.opt.get(&glowgpu::ops::optim::ema_name(name)) {
                t.data = ema.iter().map(|&v| v as f32).collect();
            }
        }
    }
    Ok((ck.cfg, ck.params))
}

/// Weights for eval, sample and attributes: a weights file or a run's checkpoint (its EMA weights).
fn load(path: &PathBuf) -> Result<(GlowConfig, glowgpu::Params)> {
    load_weights_or_checkpoint(path, false)
}

/// The backend `kind` names (the GPU's adapter is reported).
pub fn open_backend(kind: BackendKind) -> Result<AnyBackend> {
    Ok(match kind {
        BackendKind::Gpu => {
            let gpu = block_on(GpuBackend::new())?;
            eprintln!("backend: {}", gpu.describe());
            gpu.into()
        }
        BackendKind::Cpu => CpuBackend::<f32>::new().into(),
    })
}

/// A model on the backend `kind` names.
fn open_model(kind: BackendKind, cfg: GlowConfig, params: glowgpu::Params) -> Result<Glow<AnyBackend>> {
    Ok(Glow::from_params(cfg, params, open_backend(kind)?)?)
}

fn main() -> Result<()> {
    std::env::set_var(
        "XDG_RUNTIME_DIR",
        std::env::var("XDG_RUNTIME_DIR").unwrap_or_else(|_| std::env::temp_dir().display().to_string()),
    );
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Train(a) => train_cmd::run(*a),
        Cmd::Plot { log, out } => plot::plot_log(&log, &out),
        Cmd::Attributes { weights, data, split, limit, batch, out, f16, backend } => {
            let (cfg, params) = load(&weights)?;
            let csv = data.split_csv.clone().context("attributes need --split-csv with 0/1 columns")?;
            let a = attributes::AttrArgs {
                data: &data.data,
                csv: &csv,
                split: &split,
                limit,
                batch,
                pad: data.pad,
                out: &out,
            };
            let dirs = attributes::compute(&mut open_model(backend, cfg.clone(), params)?, &a)?;
            attributes::save(a.out, &cfg, &dirs, f16)?;
            eprintln!("wrote {} ({} directions)", out.display(), dirs.len());
            Ok(())
        }
        Cmd::Eval { weights, data, split, limit, batch, seed, backend } => {
            let (cfg, params) = load(&weights)?;
            if cfg.image_height != cfg.image_width {
                bail!("eval reads square images; this model is {}x{}", cfg.image_height, cfg.image_width);
            }
            let spec = data::DataSpec {
                root: data.data,
                csv: data.split_csv,
                split,
                size: cfg.image_height,
                channels: cfg.image_channels,
                pad: data.pad,
                label_column: None,
            };
            let ds = data::Dataset::open(spec)?;
            let total = if limit == 0 { ds.len() } else { limit.min(ds.len()) };
            let batch = batch.min(total).max(1);
            let nb = total / batch;
            if nb == 0 {
                bail!("no full batch of {batch} images");
            }
            let need = batch as u64 * ds.dims() as u64;
            if let Some(avail) = glowgpu::memory::available().filter(|&m| need > m) {
                bail!(
                    "a batch of {batch} decoded images needs {}, {} is available: use a --batch of at most {}",
                    glowgpu::memory::human(need),
                    glowgpu::memory::human(avail),
                    avail / ds.dims() as u64
                );
            }
            let mut m = open_model(backend, cfg, params)?;
            {
                let mut all = Vec::with_capacity(nb * batch);
                for b in 0..nb {
                    let mut images = Vec::with_capacity(batch * ds.dims());
                    for i in b * batch..(b + 1) * batch {
                        images.extend(ds.load(i, false)?);
                    }
                    all.extend(block_on(m.bits_per_dim(&images, batch, None, seed.wrapping_add(b as u64)))?);
                }
                let n = all.len() as f64;
                let mean = all.iter().sum::<f64>() / n;
                if let Some(i) = all.iter().position(|v| !v.is_finite()) {
                    bail!("image {i} has a non-finite bits/dim ({}): the model or the data is broken", all[i]);
                }
                let sd = (all.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt();
                println!("bits/dim {mean:.4} ± {:.4} (95% CI over {} images)", 1.96 * sd / n.sqrt(), all.len());
                Ok(())
            }
        }
        Cmd::Sample { weights, out, n, temperature, seed, backend } => {
            let (cfg, params) = load(&weights)?;
            let mut m = open_model(backend, cfg, params)?;
            let nc = m.config().n_classes as u32;
            let labels = (nc > 0).then(|| (0..n as u32).map(|i| i % nc).collect::<Vec<_>>());
            let imgs = block_on(m.sample(n, temperature, seed, labels.as_deref()))?;
            grid::save_grid(&out, &imgs, n, m.config())?;
            eprintln!("wrote {}", out.display());
            Ok(())
        }
        Cmd::Grow { weights, depth, width, seed, out } => {
            let (cfg, params) = load_weights_or_checkpoint(&weights, false)?;
            let (depth, width) = (depth.unwrap_or(cfg.depth), width.unwrap_or(cfg.hidden));
            let (grown, gp) = glowgpu::grow::grow(&cfg, &params, depth, width, seed)?;
            let bytes = save_weights_as(&grown, &gp, WeightDtype::F32)?;
            fsutil::write_atomic(&out, &bytes)?;
            let count = |p: &glowgpu::Params| p.map.values().map(|t| t.data.len()).sum::<usize>();
            eprintln!(
                "wrote {}: K = {} -> {depth}, width {} -> {width}, {} -> {} parameters ({} bytes)",
                out.display(),
                cfg.depth,
                cfg.hidden,
                count(&params),
                count(&gp),
                bytes.len()
            );
            Ok(())
        }
        Cmd::Export { weights, out, f16, raw } => {
            let (cfg, params) = load_weights_or_checkpoint(&weights, raw)?;
            let bytes = save_weights_as(&cfg, &params, if f16 { WeightDtype::F16 } else { WeightDtype::F32 })?;
            fsutil::write_atomic(&out, &bytes)?;
            eprintln!("wrote {} ({} bytes)", out.display(), bytes.len());
            Ok(())
        }
    }
}

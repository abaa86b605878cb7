//! Training checkpoints: one safetensors file holding the parameters (same names as the weights
//! format), the optimizer's moments and EMA (`opt.m.*`, `opt.v.*`, `ema.*`), with the config, step
//! and run seed in the metadata. Written atomically (`fsutil::write_atomic`); only finite values.
use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use glowgpu::backend::ParamMap;
use glowgpu::params::{Params, Tensor};
use glowgpu::GlowConfig;
use safetensors::tensor::{Dtype, TensorView};

pub struct Checkpoint {
    pub cfg: GlowConfig,
    pub params: Params,
    pub opt: ParamMap,
    /// Optimizer steps taken.
    pub t: u64,
    /// Batches consumed (including skipped steps).
    pub batches: u64,
    pub seed: u64,
}

pub fn save(path: &Path, ck: &Checkpoint) -> Result<()> {
    ck.params.validate(&ck.cfg).context("refusing to checkpoint these parameters")?;
    let mut owned: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (k, t) in &ck.params.map {
        owned.push((k.clone(), t.shape.clone(), bytemuck_f32(&t.data)));
    }
    for (k, (shape, v)) in &ck.opt {
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            bail!("refusing to checkpoint a non-finite optimizer value `{k}`[{i}]");
        }
        let f: Vec<f32> = v.iter().map(|&x| x as f32).collect();
        owned.push((k.clone(), shape.clone(), bytemuck_f32(&f)));
    }
    let views: Vec<(String, TensorView)> = owned
        .iter()
        .map(|(k, s, b)| Ok((k.clone(), TensorView::new(Dtype::F32, s.clone(), b)?)))
        .collect::<Result<_, safetensors::SafeTensorError>>()?;
    let mut meta = HashMap::new();
    meta.insert("format".to_string(), "glowgpu-checkpoint".to_string());
    meta.insert("config_version".to_string(), glowgpu::config::CONFIG_VERSION.to_string());
    meta.insert("config".to_string(), serde_json::to_string(&ck.cfg)?);
    meta.insert("actnorm_initialized".to_string(), ck.params.actnorm_initialized.to_string());
    meta.insert("t".to_string(), ck.t.to_string());
    meta.insert("batches".to_string(), ck.batches.to_string());
    meta.insert("seed".to_string(), ck.seed.to_string());
    let bytes = safetensors::serialize(views, Some(meta))?;
    crate::fsutil::write_atomic(path, &bytes)
}

fn bytemuck_f32(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn load(path: &Path) -> Result<Checkpoint> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read checkpoint {}", path.display()))?;
    parse(&bytes, path)
}

/// A checkpoint from its bytes (read from `path`, named in errors).
pub fn parse(bytes: &[u8], path: &Path) -> Result<Checkpoint> {
    let (_, meta) = safetensors::SafeTensors::read_metadata(bytes).context("corrupt checkpoint")?;
    let meta = meta.metadata().clone().context("checkpoint without metadata")?;
    if meta.get("format").map(|s| s.as_str()) != Some("glowgpu-checkpoint") {
        bail!("{} is not a glowgpu checkpoint", path.display());
    }
    let get = |k: &str| meta.get(k).with_context(|| format!("checkpoint metadata lacks `{k}`"));
    let cfg: GlowConfig = serde_json::from_str(get("config")?).context("checkpoint config")?;
    cfg.validate().with_context(|| format!("checkpoint {} holds an invalid config", path.display()))?;
    let st = safetensors::SafeTensors::deserialize(bytes).context("corrupt checkpoint")?;
    let mut params = Params { map: Default::default(), actnorm_initialized: get("actnorm_initialized")? == "true" };
    let mut opt = ParamMap::new();
    for (name, view) in st.tensors() {
        if view.dtype() != Dtype::F32 {
            bail!("checkpoint tensor `{name}` is {:?}, expected F32", view.dtype());
        }
        let data: Vec<f32> =
            view.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        let shape = view.shape().to_vec();
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            bail!("checkpoint tensor `{name}` holds a non-finite value at index {i}");
        }
        if name.starts_with("opt.") || name.starts_with("ema.") {
            opt.insert(name, (shape, data.iter().map(|&x| x as f64).collect()));
        } else {
            params.map.insert(name, Tensor { shape, data });
        }
    }
    params.validate(&cfg).context("checkpoint parameters")?;
    Ok(Checkpoint {
        cfg,
        params,
        opt,
        t: get("t")?.parse()?,
        batches: get("batches")?.parse()?,
        seed: get("seed")?.parse()?,
    })
}

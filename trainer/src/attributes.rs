//! `trainer attributes`: attribute directions in latent space, as the official demo computes them:
//! for every 0/1 column of the CSV, `mean(z | attribute) − mean(z | not attribute)` over the flat
//! (per-level standardised) latents of a split. Saved as safetensors (`attr.<column>` tensors of the
//! latent size, counts and the model config in the metadata) for the page's edit sliders.
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use glowgpu::platform::block_on;
use glowgpu::{Backend, Glow, GlowConfig};
use safetensors::tensor::{Dtype, TensorView};

use crate::data::{DataSpec, Dataset};
use crate::table::Table;

/// Column names, and each listed file's 0/1 values.
type Columns = (Vec<String>, HashMap<String, Vec<u8>>);

/// One attribute's direction with its positive and negative image counts.
pub type Direction = (String, Vec<f64>, usize, usize);

/// The CSV's 0/1 columns (besides `file`, `split`, `identity`), plus one-vs-rest columns `label_k`
/// for an integer `label` column, and their values per listed file.
fn attribute_columns(csv: &Path, split: &str) -> Result<Columns> {
    let t = Table::read(csv)?;
    let fc = t.col("file").context("CSV has no `file` column")?;
    let sc = t.col("split").context("CSV has no `split` column")?;
    let header = &t.header;
    let cols: Vec<usize> =
        (0..header.len()).filter(|&i| !["file", "split", "identity", "label"].contains(&header[i].as_str())).collect();
    // an integer `label` column (e.g. MNIST digits) becomes one-vs-rest columns `label_k`
    let lc = t.col("label");
    let max = glowgpu::config::LIMITS.classes;
    let label = |n: usize, f: &[String], c: usize| -> Result<usize> {
        let v = f[c].trim();
        match v.parse::<usize>() {
            Ok(y) if y < max => Ok(y),
            _ => bail!("{} line {n}: `label` is `{v}`, not a class index in 0..{max}", csv.display()),
        }
    };
    let mut classes = 0;
    if let Some(c) = lc {
        for (n, f) in &t.rows {
            classes = classes.max(label(*n, f, c)? + 1);
        }
    }
    let mut rows = HashMap::new();
    for (n, f) in &t.rows {
        if f[sc].trim() != split {
            continue;
        }
        let mut vals = cols
            .iter()
            .map(|&c| match f[c].trim() {
                "0" | "-1" => Ok(0u8),
                "1" => Ok(1u8),
                v => bail!("{} line {n}: column `{}` is `{v}`, expected 0/1", csv.display(), header[c]),
            })
            .collect::<Result<Vec<u8>>>()?;
        if let Some(c) = lc {
            let y = label(*n, f, c)?;
            vals.extend((0..classes).map(|k| (k == y) as u8));
        }
        rows.insert(f[fc].trim().to_string(), vals);
    }
    let mut names: Vec<String> = cols.iter().map(|&c| header[c].clone()).collect();
    names.extend((0..classes).map(|k| format!("label_{k}")));
    Ok((names, rows))
}

pub struct AttrArgs<'a> {
    pub data: &'a Path,
    pub csv: &'a Path,
    pub split: &'a str,
    pub limit: usize,
    pub batch: usize,
    pub pad: bool,
    pub out: &'a PathBuf,
}

/// Directions (and positive / negative counts) per attribute.
pub fn compute<B: Backend>(m: &mut Glow<B>, a: &AttrArgs) -> Result<Vec<Direction>> {
    let cfg = m.config().clone();
    if cfg.n_classes > 0 {
        bail!("attribute directions need an unconditional model");
    }
    let (names, rows) = attribute_columns(a.csv, a.split)?;
    if names.is_empty() {
        bail!("{} has no 0/1 attribute columns", a.csv.display());
    }
    let spec = DataSpec {
        root: a.data.to_path_buf(),
        csv: Some(a.csv.to_path_buf()),
        split: a.split.into(),
        size: cfg.image_height,
        channels: cfg.image_channels,
        pad: a.pad,
        label_column: None,
    };
    let ds = Dataset::open(spec)?;
    let total = if a.limit == 0 { ds.len() } else { a.limit.min(ds.len()) };
    let d = cfg.dims();
    let na = names.len();
    // two f64 sums of the latent size per attribute
    let need = (2 * na as u64).saturating_mul(d as u64 * 8);
    if let Some(avail) = glowgpu::memory::available().filter(|&m| need > m) {
        bail!(
            "{na} attribute sums of {d} latent values need {}, {} is available",
            glowgpu::memory::human(need),
            glowgpu::memory::human(avail)
        );
    }
    let (mut pos, mut neg) = (vec![vec![0f64; d]; na], vec![vec![0f64; d]; na]);
    let (mut npos, mut nneg) = (vec![0usize; na], vec![0usize; na]);
    let root = a.data;
    let mut start = 0;
    while start < total {
        let n = a.batch.min(total - start);
        let mut imgs = Vec::with_capacity(n * d);
        for i in start..start + n {
            imgs.extend(ds.load(i, false)?);
        }
        let lat = block_on(m.encode(&imgs, n, None))?.latents;
        for (k, i) in (start..start + n).enumerate() {
            let rel = ds.files[i].strip_prefix(root).unwrap_or(&ds.files[i]).to_string_lossy().replace('\\', "/");
            let vals = rows.get(&rel).with_context(|| format!("{rel} is not in the CSV"))?;
            let z = lat.flat(k);
            for (j, &v) in vals.iter().enumerate() {
                let (acc, cnt) = if v == 1 { (&mut pos[j], &mut npos[j]) } else { (&mut neg[j], &mut nneg[j]) };
                acc.iter_mut().zip(&z).for_each(|(s, x)| *s += x);
                *cnt += 1;
            }
        }
        start += n;
    }
    Ok(names
        .into_iter()
        .enumerate()
        .filter(|(j, _)| npos[*j] > 0 && nneg[*j] > 0)
        .map(|(j, name)| {
            let dir = pos[j].iter().zip(&neg[j]).map(|(p, q)| p / npos[j] as f64 - q / nneg[j] as f64).collect();
            (name, dir, npos[j], nneg[j])
        })
        .collect())
}

/// Writes the directions atomically.
pub fn save(path: &Path, cfg: &GlowConfig, dirs: &[Direction], f16: bool) -> Result<()> {
    let bytes_of = |v: &[f64]| -> Result<Vec<u8>> {
        if !f16 {
            return Ok(v.iter().flat_map(|x| (*x as f32).to_le_bytes()).collect());
        }
        if let Some(x) = v.iter().find(|x| x.abs() > 65504.0) {
            bail!("a direction holds {x}, outside the f16 range: save without --f16");
        }
        Ok(v.iter().flat_map(|x| half::f16::from_f64(*x).to_le_bytes()).collect())
    };
    let owned: Vec<(String, Vec<u8>, usize)> =
        dirs.iter().map(|(n, v, _, _)| Ok((format!("attr.{n}"), bytes_of(v)?, v.len()))).collect::<Result<_>>()?;
    let dtype = if f16 { Dtype::F16 } else { Dtype::F32 };
    let views: Vec<(String, TensorView)> = owned
        .iter()
        .map(|(k, b, len)| Ok((k.clone(), TensorView::new(dtype, vec![*len], b)?)))
        .collect::<Result<_, safetensors::SafeTensorError>>()?;
    let counts: HashMap<&str, (usize, usize)> = dirs.iter().map(|(n, _, p, q)| (n.as_str(), (*p, *q))).collect();
    let mut meta = HashMap::new();
    meta.insert("format".to_string(), "glowgpu-attributes".to_string());
    meta.insert("config".to_string(), serde_json::to_string(cfg)?);
    meta.insert("counts".to_string(), serde_json::to_string(&counts)?);
    meta.insert(
        "recipe".to_string(),
        "mean(flat z | attribute) - mean(flat z | not attribute); edit z + alpha * d (official demo also scales d by 1.6)"
            .to_string(),
    );
    let bytes = safetensors::serialize(views, Some(meta))?;
    crate::fsutil::write_atomic(path, &bytes)
}

//! Saving and loading model weights as [safetensors](https://github.com/huggingface/safetensors).
//!
//! # Format
//!
//! A standard safetensors file (little-endian, 8-byte header length, JSON header, raw data):
//!
//! - **Tensors**: one per entry of [`Params::map`], named exactly by its key (see
//!   [`crate::params`] for the naming scheme, e.g. `l0.s1.coupling.conv1.w`), with the shape of
//!   [`Tensor::shape`] and row-major data. Derived tensors (`derived.*`) are never stored.
//!   The dtype is `F32` ([`WeightDtype::F32`], exact) or `F16` ([`WeightDtype::F16`], half the
//!   size, rounded to nearest-even); the loader accepts either, per tensor, and converts to f32.
//! - **Metadata** (`__metadata__`, string → string), all keys required:
//!   - `"format"`: `"glowgpu"`
//!   - `"config_version"`: [`CONFIG_VERSION`] as a decimal string; other versions are refused
//!   - `"config"`: the [`GlowConfig`] as JSON (serde_json)
//!   - `"actnorm_initialized"`: `"true"` or `"false"` ([`Params::actnorm_initialized`])
//!
//! Loading checks, in order: the safetensors container, the metadata, the config (parsed and
//! [`GlowConfig::validate`]d: every field within [`crate::config::LIMITS`] and the parameter count
//! computed with checked arithmetic, before any tensor name is built), then every tensor the config needs (present, shape, dtype, byte
//! length, finite values) and that no unexpected tensor is present. Every failure is an
//! [`Error::Weights`] naming the problem (and the tensor, where there is one).
use std::collections::{BTreeMap, HashMap};

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::config::{GlowConfig, CONFIG_VERSION};
use crate::error::{Error, Result};
use crate::params::{specs, Params, Tensor};

/// Value of the `format` metadata key.
pub const FORMAT: &str = "glowgpu";

/// Element type of the stored tensors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum WeightDtype {
    /// 32-bit floats: exact.
    #[default]
    F32,
    /// IEEE half floats (round to nearest, ties to even): half the size, ~3 significant digits.
    F16,
}

fn werr(m: impl Into<String>) -> Error {
    Error::Weights(m.into())
}

/// Serialises `cfg` and `params` as an F32 safetensors file (see the module docs for the format).
pub fn save_weights(cfg: &GlowConfig, params: &Params) -> Result<Vec<u8>> {
    save_weights_as(cfg, params, WeightDtype::F32)
}

/// Serialises `cfg` and `params` as a safetensors file with tensors stored as `dtype`.
///
/// The config and parameters are validated first, so every file written here loads back.
/// With [`WeightDtype::F16`] a value beyond the f16 range (|v| > 65504) is an error.
pub fn save_weights_as(cfg: &GlowConfig, params: &Params, dtype: WeightDtype) -> Result<Vec<u8>> {
    cfg.validate().map_err(|e| werr(format!("cannot save: {}", config_msg(e))))?;
    params.validate(cfg)?;

    let mut buffers: Vec<(&str, &Tensor, Vec<u8>)> = Vec::with_capacity(params.map.len());
    for (name, t) in &params.map {
        let bytes = match dtype {
            WeightDtype::F32 => t.data.iter().flat_map(|v| v.to_le_bytes()).collect(),
            WeightDtype::F16 => {
                let mut out = Vec::with_capacity(t.data.len() * 2);
                for (i, &v) in t.data.iter().enumerate() {
                    let h = f32_to_f16_bits(v);
                    if h & 0x7c00 == 0x7c00 {
                        return Err(werr(format!(
                            "tensor `{name}` value {v} at index {i} is outside the f16 range; save as F32"
                        )));
                    }
                    out.extend(h.to_le_bytes());
                }
                out
            }
        };
        buffers.push((name, t, bytes));
    }
    let st_dtype = match dtype {
        WeightDtype::F32 => Dtype::F32,
        WeightDtype::F16 => Dtype::F16,
    };
    let mut views = Vec::with_capacity(buffers.len());
    for (name, t, bytes) in &buffers {
        let view =
            TensorView::new(st_dtype, t.shape.clone(), bytes).map_err(|e| werr(format!("tensor `{name}`: {e}")))?;
        views.push((*name, view));
    }

    let config_json = serde_json::to_string(cfg).map_err(|e| werr(format!("cannot serialise config: {e}")))?;
    let mut meta = HashMap::new();
    meta.insert("format".to_string(), FORMAT.to_string());
    meta.insert("config_version".to_string(), CONFIG_VERSION.to_string());
    meta.insert("config".to_string(), config_json);
    meta.insert("actnorm_initialized".to_string(), params.actnorm_initialized.to_string());

    safetensors::tensor::serialize(views, Some(meta)).map_err(|e| werr(format!("cannot serialise safetensors: {e}")))
}

/// Parses a safetensors file written by [`save_weights`] / [`save_weights_as`] (or any file in
/// the format described in the module docs) into its config and parameters.
pub fn load_weights(bytes: &[u8]) -> Result<(GlowConfig, Params)> {
    let (_, header) =
        SafeTensors::read_metadata(bytes).map_err(|e| werr(format!("truncated or corrupt safetensors file: {e}")))?;
    let st =
        SafeTensors::deserialize(bytes).map_err(|e| werr(format!("truncated or corrupt safetensors file: {e}")))?;

    let meta = header.metadata().as_ref().ok_or_else(|| werr("missing __metadata__ (not a glowgpu weights file?)"))?;
    let get = |key: &str| {
        meta.get(key)
            .map(String::as_str)
            .ok_or_else(|| werr(format!("missing metadata key `{key}` (not a glowgpu weights file?)")))
    };

    let format = get("format")?;
    if format != FORMAT {
        return Err(werr(format!("metadata format is `{format}`, expected `{FORMAT}`")));
    }
    let version = get("config_version")?;
    if version.trim().parse::<u32>().ok() != Some(CONFIG_VERSION) {
        return Err(werr(format!(
            "unsupported config_version `{version}`: this build supports version {CONFIG_VERSION}"
        )));
    }
    let cfg: GlowConfig =
        serde_json::from_str(get("config")?).map_err(|e| werr(format!("config JSON in metadata is invalid: {e}")))?;
    cfg.validate().map_err(|e| werr(format!("config in metadata is invalid: {}", config_msg(e))))?;
    let actnorm_initialized = match get("actnorm_initialized")? {
        "true" => true,
        "false" => false,
        other => return Err(werr(format!("metadata actnorm_initialized is `{other}`, expected `true` or `false`"))),
    };

    let specs = specs(&cfg);
    let mut map = BTreeMap::new();
    for s in &specs {
        let view = st.tensor(&s.name).map_err(|_| werr(format!("missing tensor `{}`", s.name)))?;
        if view.shape() != s.shape.as_slice() {
            return Err(werr(format!(
                "tensor `{}` has shape {:?}, the config needs {:?}",
                s.name,
                view.shape(),
                s.shape
            )));
        }
        let n: usize = s.shape.iter().product();
        let data = view.data();
        let elem = match view.dtype() {
            Dtype::F32 => 4,
            Dtype::F16 => 2,
            other => {
                return Err(werr(format!("tensor `{}` has unsupported dtype {other} (expected F32 or F16)", s.name)))
            }
        };
        if data.len() != n * elem {
            return Err(werr(format!(
                "tensor `{}` holds {} bytes, its shape {:?} as {} needs {}",
                s.name,
                data.len(),
                s.shape,
                view.dtype(),
                n * elem
            )));
        }
        let values: Vec<f32> = if elem == 4 {
            data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
        } else {
            data.chunks_exact(2).map(|b| f16_bits_to_f32(u16::from_le_bytes([b[0], b[1]]))).collect()
        };
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(werr(format!("tensor `{}` holds a non-finite value ({}) at index {i}", s.name, values[i])));
        }
        map.insert(s.name.clone(), Tensor { shape: s.shape.clone(), data: values });
    }
    if st.len() != specs.len() {
        let mut extra: Vec<&str> = st.names().into_iter().filter(|k| !map.contains_key(*k)).collect();
        extra.sort_unstable();
        extra.truncate(5);
        return Err(werr(format!("unexpected tensors for this config: {extra:?}")));
    }
    let params = Params { map, actnorm_initialized };
    params.validate(&cfg)?;
    Ok((cfg, params))
}

fn config_msg(e: Error) -> String {
    match e {
        Error::Config(m) => m,
        other => other.to_string(),
    }
}

/// Converts an f32 to IEEE 754 binary16 bits, rounding to nearest, ties to even (the `half`
/// crate). Overflow gives ±inf, NaN stays NaN, tiny values become subnormals or ±0.
pub fn f32_to_f16_bits(x: f32) -> u16 {
    half::f16::from_f32(x).to_bits()
}

/// Converts IEEE 754 binary16 bits to f32 (exact; the `half` crate).
pub fn f16_bits_to_f32(h: u16) -> f32 {
    half::f16::from_bits(h).to_f32()
}

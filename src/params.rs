//! Parameters: names, shapes, the paper's initialisation, and derived tensors.
//!
//! Tensor names: `l{level}.s{step}` prefixes a flow step, whose layers (`crate::layers`) name
//! and document their own (`{step}.actnorm.*`, `{step}.invconv.*` or `{step}.shuffle.perm`,
//! `{step}.coupling.*`); besides them:
//! - `l{level}.prior.w` `[3, 3, C/2 + 1, 2·C2]`, `.prior.{bias,logs}` `[2·C2]` (all but the last level)
//! - `top.prior.w` `[3, 3, 1, 2C]`, `top.prior.{bias,logs}` `[2C]` (learn_top: the official conv over a
//!   zero input keeps only its edge-channel weights)
//! - `top.y_emb.w` `[1, 1, classes, 2C]`, `top.y_emb.{bias,logs}`, `classifier.w` `[1, 1, C, classes]`,
//!   `classifier.{bias,logs}` `[classes]` (class-conditional models)
//!
//! Derived tensors (`derived.*`, computed in f64 from the parameters by the layers, never
//! stored), e.g. `derived.{step}.invconv.{w, w_inv, logabsdet}`, `derived.{step}.reverse.perm`.
use std::collections::{BTreeMap, BTreeSet};

use crate::config::{GlowConfig, LevelShape};
use crate::error::{Error, Result};
use crate::layers::{fill, sites, step_layers, Derived, Site};
pub use crate::layers::{Init, Kind, Spec};
use crate::linalg::Mat;
use crate::rng::HostRng;

#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl Tensor {
    pub fn zeros(shape: &[usize]) -> Self {
        Tensor { shape: shape.to_vec(), data: vec![0.0; shape.iter().product()] }
    }
}

pub fn step_prefix(l: usize, k: usize) -> String {
    format!("l{l}.s{k}")
}

/// The parameters of everything that is not a flow step (the priors, the class head), per level.
fn level_specs(cfg: &GlowConfig, l: usize, s: &LevelShape) -> Vec<Spec> {
    let mut out = Vec::new();
    let mut add = |name: &str, shape: Vec<usize>| out.push(Spec::new(name.into(), shape, Init::Zeros, Kind::Trainable));
    let (c, c1, c2) = (s.c, s.c1(), s.c2());
    if l + 1 < cfg.levels {
        add(&format!("l{l}.prior.w"), vec![3, 3, c1 + 1, 2 * c2]);
        add(&format!("l{l}.prior.bias"), vec![2 * c2]);
        add(&format!("l{l}.prior.logs"), vec![2 * c2]);
        return out;
    }
    if cfg.learn_top {
        add("top.prior.w", vec![3, 3, 1, 2 * c]);
        add("top.prior.bias", vec![2 * c]);
        add("top.prior.logs", vec![2 * c]);
    }
    if cfg.n_classes > 0 {
        let nc = cfg.n_classes;
        add("top.y_emb.w", vec![1, 1, nc, 2 * c]);
        add("top.y_emb.bias", vec![2 * c]);
        add("top.y_emb.logs", vec![2 * c]);
        add("classifier.w", vec![1, 1, c, nc]);
        add("classifier.bias", vec![nc]);
        add("classifier.logs", vec![nc]);
    }
    out
}

/// The specs of one flow step.
fn step_specs(cfg: &GlowConfig, site: &Site) -> Vec<Spec> {
    step_layers(cfg).iter().flat_map(|layer| layer.specs(cfg, site)).collect()
}

/// Every parameter of a model, in a fixed order (each level's flow steps, then its prior).
pub fn specs(cfg: &GlowConfig) -> Vec<Spec> {
    let mut out = Vec::new();
    for (l, s) in cfg.level_shapes().iter().enumerate() {
        for k in 0..cfg.depth {
            out.extend(step_specs(cfg, &Site::new(l, k, *s)));
        }
        out.extend(level_specs(cfg, l, s));
    }
    out
}

/// Stored parameters of `cfg` with checked arithmetic (`None` on overflow or when a field is
/// beyond [`crate::config::LIMITS`]); allocates one step's specs per level, whatever the depth.
pub(crate) fn count(cfg: &GlowConfig) -> Option<u64> {
    let l = &crate::config::LIMITS;
    let sides = cfg.image_height.max(cfg.image_width);
    if cfg.levels > l.levels
        || cfg.hidden > l.hidden
        || cfg.n_classes > l.classes
        || sides > l.side
        || cfg.image_channels > 4
    {
        return None;
    }
    let size = |v: &[Spec]| {
        v.iter()
            .try_fold(0u64, |acc, s| acc.checked_add(s.shape.iter().try_fold(1u64, |p, &d| p.checked_mul(d as u64))?))
    };
    let mut total = 0u64;
    for (l, s) in cfg.level_shapes().iter().enumerate() {
        let step = size(&step_specs(cfg, &Site::new(l, 0, *s)))?;
        total = total.checked_add(step.checked_mul(cfg.depth as u64)?)?.checked_add(size(&level_specs(cfg, l, s))?)?;
    }
    Some(total)
}

/// Names of the parameters fixed at initialisation (never trained).
pub fn frozen(cfg: &GlowConfig) -> BTreeSet<String> {
    specs(cfg).into_iter().filter(|s| s.kind == Kind::Frozen).map(|s| s.name).collect()
}

/// Names of the parameters actnorm's data-dependent init sets.
pub fn actnorm_names(cfg: &GlowConfig) -> Vec<String> {
    specs(cfg).into_iter().filter(|s| s.kind == Kind::ActNorm).map(|s| s.name).collect()
}

/// All parameters of a model plus whether actnorm's data-dependent init has run.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    pub map: BTreeMap<String, Tensor>,
    pub actnorm_initialized: bool,
}

impl Params {
    /// The paper's initialisation (each layer's [`crate::layers::Layer::init`]: random
    /// rotations for W, LU-factored for `invconv_lu`, N(0, 0.05) for the coupling net's hidden
    /// convs, zeros for its last conv), zeros for the priors and actnorm (to be set by
    /// data-dependent init).
    pub fn init(cfg: &GlowConfig, seed: u64) -> Result<Self> {
        cfg.validate()?;
        let mut rng = HostRng::new(seed);
        let mut map = BTreeMap::new();
        for (l, s) in cfg.level_shapes().iter().enumerate() {
            for k in 0..cfg.depth {
                let site = Site::new(l, k, *s);
                for layer in step_layers(cfg) {
                    layer.init(cfg, &site, &mut rng, &mut map);
                }
            }
            for spec in level_specs(cfg, l, s) {
                map.insert(spec.name.clone(), fill(&spec, &mut rng));
            }
        }
        Ok(Params { map, actnorm_initialized: false })
    }

    pub fn get(&self, name: &str) -> &Tensor {
        &self.map[name]
    }

    /// Checks names, shapes and finiteness against the config.
    pub fn validate(&self, cfg: &GlowConfig) -> Result<()> {
        let specs = specs(cfg);
        for s in &specs {
            let t = self.map.get(&s.name).ok_or_else(|| Error::Weights(format!("missing tensor `{}`", s.name)))?;
            if t.shape != s.shape {
                return Err(Error::Weights(format!(
                    "tensor `{}` has shape {:?}, the config needs {:?}",
                    s.name, t.shape, s.shape
                )));
            }
            if let Some(i) = t.data.iter().position(|v| !v.is_finite()) {
                return Err(Error::Weights(format!("tensor `{}` holds a non-finite value at index {i}", s.name)));
            }
        }
        if self.map.len() != specs.len() {
            let known: std::collections::HashSet<_> = specs.iter().map(|s| s.name.as_str()).collect();
            let extra: Vec<_> = self.map.keys().filter(|k| !known.contains(k.as_str())).take(3).collect();
            return Err(Error::Weights(format!("unexpected tensors for this config: {extra:?}")));
        }
        Ok(())
    }

    /// Parameters plus derived tensors, in f64, as the backends take them.
    pub fn with_derived(&self, cfg: &GlowConfig) -> Derived {
        let mut out: Derived = self
            .map
            .iter()
            .map(|(k, t)| (k.clone(), (t.shape.clone(), t.data.iter().map(|&v| v as f64).collect())))
            .collect();
        for site in sites(cfg) {
            for layer in step_layers(cfg) {
                layer.derived(cfg, &site, self, &mut out);
            }
        }
        out
    }
}

pub(crate) fn mat_tensor(m: &Mat) -> Tensor {
    Tensor { shape: vec![m.n, m.n], data: m.a.iter().map(|&v| v as f32).collect() }
}

pub(crate) fn tensor_mat(t: &Tensor) -> Mat {
    Mat { n: t.shape[0], a: t.data.iter().map(|&v| v as f64).collect() }
}

/// scipy-style `W = P L U` split into the trainable LU parameters.
pub(crate) fn lu_factors(w: &Mat) -> Vec<(&'static str, Tensor)> {
    let n = w.n;
    let (p, l, u) = w.lu();
    let mut lower = Mat::zeros(n);
    let mut upper = Mat::zeros(n);
    let (mut sign, mut logs) = (vec![0f32; n], vec![0f32; n]);
    for i in 0..n {
        for j in 0..n {
            if i > j {
                lower.set(i, j, l.at(i, j));
            } else if i < j {
                upper.set(i, j, u.at(i, j));
            }
        }
        sign[i] = u.at(i, i).signum() as f32;
        logs[i] = u.at(i, i).abs().ln() as f32;
    }
    vec![
        ("p", mat_tensor(&p)),
        ("sign_s", Tensor { shape: vec![n], data: sign }),
        ("log_s", Tensor { shape: vec![n], data: logs }),
        ("lower", mat_tensor(&lower)),
        ("upper", mat_tensor(&upper)),
    ]
}

/// `W = P · (lower·mask + I) · (upper·mask + diag(sign_s · exp(log_s)))`, as the official code.
pub fn lu_compose(params: &Params, prefix: &str, c: usize) -> Mat {
    let g = |n: &str| tensor_mat(params.get(&format!("{prefix}.invconv.{n}")));
    let v = |n: &str| params.get(&format!("{prefix}.invconv.{n}")).data.iter().map(|&v| v as f64).collect::<Vec<_>>();
    let (p, lo, up, sign, logs) = (g("p"), g("lower"), g("upper"), v("sign_s"), v("log_s"));
    let mut l = Mat::eye(c);
    let mut u = Mat::zeros(c);
    for i in 0..c {
        for j in 0..c {
            if i > j {
                l.set(i, j, lo.at(i, j));
            } else if i < j {
                u.set(i, j, up.at(i, j));
            }
        }
        u.set(i, i, sign[i] * logs[i].exp());
    }
    p.matmul(&l).matmul(&u)
}

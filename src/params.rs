//! Parameters: names, shapes, the paper's initialisation, and derived tensors.
//!
//! Tensor names (`l{level}.s{step}` prefixes a flow step, `l{level}.prior` a split prior):
//! - `{step}.actnorm.bias`, `{step}.actnorm.logs` `[C]` (effective log-scale = 3·logs)
//! - `{step}.invconv.w` `[C, C]` (`y = x·W`), or for LU: `.invconv.p` `[C, C]` (frozen),
//!   `.invconv.sign_s` `[C]` (frozen), `.invconv.log_s` `[C]`, `.invconv.lower`, `.invconv.upper` `[C, C]`
//! - `{step}.shuffle.perm` `[C]` (frozen indices, as floats)
//! - `{step}.coupling.conv1.w` `[3, 3, C/2 + 1, hidden]`, `.coupling.an1.{bias,logs}` `[hidden]`,
//!   `.coupling.conv2.w` `[1, 1, hidden, hidden]`, `.coupling.an2.{bias,logs}` `[hidden]`,
//!   `.coupling.conv3.w` `[3, 3, hidden + 1, out]`, `.coupling.conv3.{bias,logs}` `[out]`
//!   (out = 2·C2 affine, C2 additive)
//! - `l{level}.prior.w` `[3, 3, C/2 + 1, 2·C2]`, `.prior.{bias,logs}` `[2·C2]` (all but the last level)
//! - `top.prior.w` `[3, 3, 1, 2C]`, `top.prior.{bias,logs}` `[2C]` (learn_top: the official conv over a
//!   zero input keeps only its edge-channel weights)
//! - `top.y_emb.w` `[1, 1, classes, 2C]`, `top.y_emb.{bias,logs}`, `classifier.w` `[1, 1, C, classes]`,
//!   `classifier.{bias,logs}` `[classes]` (class-conditional models)
//!
//! Derived tensors (`derived.*`, computed in f64 from the parameters, never stored):
//! `{step}.invconv.w` (LU: the composed W), `{step}.invconv.w_inv`, `{step}.invconv.logabsdet`,
//! `{step}.reverse.perm`.
use std::collections::BTreeMap;

use crate::config::{Coupling, GlowConfig, Permutation};
use crate::error::{Error, Result};
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

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    Zeros,
    /// N(0, std)
    Normal(f64),
    /// Filled by the step's 1x1-conv initialisation (rotation, or its LU factors).
    Invconv,
    /// A random permutation.
    Shuffle,
}

#[derive(Clone, Debug)]
pub struct Spec {
    pub name: String,
    pub shape: Vec<usize>,
    pub init: Init,
}

pub fn step_prefix(l: usize, k: usize) -> String {
    format!("l{l}.s{k}")
}

/// Every parameter of a model, in a fixed order.
pub fn specs(cfg: &GlowConfig) -> Vec<Spec> {
    let mut out = Vec::new();
    let mut add = |name: String, shape: Vec<usize>, init: Init| out.push(Spec { name, shape, init });
    let shapes = cfg.level_shapes();
    for (l, s) in shapes.iter().enumerate() {
        let (c, c1, c2) = (s.c, s.c1(), s.c2());
        for k in 0..cfg.depth {
            let p = step_prefix(l, k);
            add(format!("{p}.actnorm.bias"), vec![c], Init::Zeros);
            add(format!("{p}.actnorm.logs"), vec![c], Init::Zeros);
            match cfg.permutation {
                Permutation::Invconv => add(format!("{p}.invconv.w"), vec![c, c], Init::Invconv),
                Permutation::InvconvLu => {
                    for (n, sh) in [
                        ("p", vec![c, c]),
                        ("sign_s", vec![c]),
                        ("log_s", vec![c]),
                        ("lower", vec![c, c]),
                        ("upper", vec![c, c]),
                    ] {
                        add(format!("{p}.invconv.{n}"), sh, Init::Invconv);
                    }
                }
                Permutation::Shuffle => add(format!("{p}.shuffle.perm"), vec![c], Init::Shuffle),
                Permutation::Reverse => {}
            }
            let h = cfg.hidden;
            let out_c = if cfg.coupling == Coupling::Affine { 2 * c2 } else { c2 };
            add(format!("{p}.coupling.conv1.w"), vec![3, 3, c1 + 1, h], Init::Normal(0.05));
            add(format!("{p}.coupling.an1.bias"), vec![h], Init::Zeros);
            add(format!("{p}.coupling.an1.logs"), vec![h], Init::Zeros);
            add(format!("{p}.coupling.conv2.w"), vec![1, 1, h, h], Init::Normal(0.05));
            add(format!("{p}.coupling.an2.bias"), vec![h], Init::Zeros);
            add(format!("{p}.coupling.an2.logs"), vec![h], Init::Zeros);
            add(format!("{p}.coupling.conv3.w"), vec![3, 3, h + 1, out_c], Init::Zeros);
            add(format!("{p}.coupling.conv3.bias"), vec![out_c], Init::Zeros);
            add(format!("{p}.coupling.conv3.logs"), vec![out_c], Init::Zeros);
        }
        if l + 1 < shapes.len() {
            add(format!("l{l}.prior.w"), vec![3, 3, c1 + 1, 2 * c2], Init::Zeros);
            add(format!("l{l}.prior.bias"), vec![2 * c2], Init::Zeros);
            add(format!("l{l}.prior.logs"), vec![2 * c2], Init::Zeros);
        } else {
            if cfg.learn_top {
                add("top.prior.w".into(), vec![3, 3, 1, 2 * c], Init::Zeros);
                add("top.prior.bias".into(), vec![2 * c], Init::Zeros);
                add("top.prior.logs".into(), vec![2 * c], Init::Zeros);
            }
            if cfg.n_classes > 0 {
                let nc = cfg.n_classes;
                add("top.y_emb.w".into(), vec![1, 1, nc, 2 * c], Init::Zeros);
                add("top.y_emb.bias".into(), vec![2 * c], Init::Zeros);
                add("top.y_emb.logs".into(), vec![2 * c], Init::Zeros);
                add("classifier.w".into(), vec![1, 1, c, nc], Init::Zeros);
                add("classifier.bias".into(), vec![nc], Init::Zeros);
                add("classifier.logs".into(), vec![nc], Init::Zeros);
            }
        }
    }
    out
}

/// Parameters frozen at initialisation (never trained).
pub fn is_frozen(name: &str) -> bool {
    name.ends_with(".invconv.p") || name.ends_with(".invconv.sign_s") || name.ends_with(".shuffle.perm")
}

/// All parameters of a model plus whether actnorm's data-dependent init has run.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    pub map: BTreeMap<String, Tensor>,
    pub actnorm_initialized: bool,
}

impl Params {
    /// The paper's initialisation: random rotations for W (LU-factored for `invconv_lu`),
    /// N(0, 0.05) for the coupling net's hidden convs, zeros for the last conv, the priors and
    /// actnorm (to be set by data-dependent init).
    pub fn init(cfg: &GlowConfig, seed: u64) -> Result<Self> {
        cfg.validate()?;
        let mut rng = HostRng::new(seed);
        let mut map = BTreeMap::new();
        for s in specs(cfg) {
            let mut t = Tensor::zeros(&s.shape);
            match s.init {
                Init::Zeros => {}
                Init::Normal(std) => t.data.iter_mut().for_each(|v| *v = (rng.normal() * std) as f32),
                Init::Shuffle => {
                    let p = rng.permutation(s.shape[0]);
                    t.data = p.iter().map(|&v| v as f32).collect();
                }
                Init::Invconv => {
                    if !map.contains_key(&s.name) {
                        let c = s.shape[0];
                        let mut g = Mat::zeros(c);
                        g.a.iter_mut().for_each(|v| *v = rng.normal());
                        let w = g.qr_q();
                        let pre = s.name.rsplit_once(".invconv.").unwrap().0;
                        if cfg.permutation == Permutation::Invconv {
                            map.insert(s.name.clone(), mat_tensor(&w));
                        } else {
                            for (n, v) in lu_factors(&w) {
                                map.insert(format!("{pre}.invconv.{n}"), v);
                            }
                        }
                    }
                    continue;
                }
            }
            map.insert(s.name, t);
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
    pub fn with_derived(&self, cfg: &GlowConfig) -> BTreeMap<String, (Vec<usize>, Vec<f64>)> {
        let mut out: BTreeMap<String, (Vec<usize>, Vec<f64>)> = self
            .map
            .iter()
            .map(|(k, t)| (k.clone(), (t.shape.clone(), t.data.iter().map(|&v| v as f64).collect())))
            .collect();
        for (l, s) in cfg.level_shapes().iter().enumerate() {
            let c = s.c;
            for k in 0..cfg.depth {
                let p = step_prefix(l, k);
                let w = match cfg.permutation {
                    Permutation::Invconv => Some(tensor_mat(self.get(&format!("{p}.invconv.w")))),
                    Permutation::InvconvLu => Some(lu_compose(self, &p, c)),
                    Permutation::Reverse => {
                        let perm = (0..c).rev().map(|v| v as f64).collect();
                        out.insert(format!("derived.{p}.reverse.perm"), (vec![c], perm));
                        None
                    }
                    Permutation::Shuffle => None,
                };
                if let Some(w) = w {
                    out.insert(format!("derived.{p}.invconv.logabsdet"), (vec![1], vec![w.logabsdet()]));
                    out.insert(format!("derived.{p}.invconv.w_inv"), (vec![c, c], w.inverse().a));
                    out.insert(format!("derived.{p}.invconv.w"), (vec![c, c], w.a));
                }
            }
        }
        out
    }
}

fn mat_tensor(m: &Mat) -> Tensor {
    Tensor { shape: vec![m.n, m.n], data: m.a.iter().map(|&v| v as f32).collect() }
}

fn tensor_mat(t: &Tensor) -> Mat {
    Mat { n: t.shape[0], a: t.data.iter().map(|&v| v as f64).collect() }
}

/// scipy-style `W = P L U` split into the trainable LU parameters.
fn lu_factors(w: &Mat) -> Vec<(&'static str, Tensor)> {
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

//! One home per flow-step layer kind. A flow step is actnorm → permutation → coupling; each
//! kind implements [`Layer`] once, owning everything about it: its parameters (shapes, init,
//! frozen or data-initialised as [`Kind`] data), the tensors derived from them (host f64 and,
//! for training, on the device every step), the conv weights training re-packs, and its
//! forward, inverse and backward graph pieces. `params.rs`, `flow.rs` and `train.rs` only
//! iterate over [`step_layers`].
//!
//! Adding a layer kind: a file here implementing [`Layer`] (plus its ops and shader), a variant
//! of [`crate::config::Permutation`] or [`crate::config::Coupling`], and its arm in
//! [`step_layers`].
use std::collections::BTreeMap;

use crate::config::{Coupling, GlowConfig, LevelShape, Permutation};
use crate::error::Result;
use crate::flow::B;
use crate::graph::BufId;
use crate::ops::conv2d::{Conv2d, ConvBackwardData, ConvBackwardWeight, ConvParams};
use crate::params::{Params, Tensor};
use crate::rng::HostRng;

pub(crate) mod actnorm;
pub(crate) mod coupling;
pub(crate) mod gather;
pub mod householder;
pub(crate) mod invconv;

/// How a parameter is initialised.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    Zeros,
    /// N(0, std)
    Normal(f64),
    /// Filled by its layer's [`Layer::init`] (a rotation, its LU factors, a permutation...).
    Layer,
}

/// What a parameter is to training.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Trained by the optimizer.
    Trainable,
    /// Trained, and set first by actnorm's data-dependent init.
    ActNorm,
    /// Fixed at initialisation (never trained, no optimizer state).
    Frozen,
}

/// One stored parameter.
#[derive(Clone, Debug)]
pub struct Spec {
    pub name: String,
    pub shape: Vec<usize>,
    pub init: Init,
    pub kind: Kind,
}

impl Spec {
    pub fn new(name: String, shape: Vec<usize>, init: Init, kind: Kind) -> Self {
        Spec { name, shape, init, kind }
    }
}

/// Where a layer sits: flow step `k` of level `l` (`pre` = `l{l}.s{k}`) with the level's shape.
#[derive(Clone, Debug)]
pub struct Site {
    pub l: usize,
    pub k: usize,
    pub pre: String,
    pub s: LevelShape,
}

impl Site {
    pub fn new(l: usize, k: usize, s: LevelShape) -> Self {
        Site { l, k, pre: crate::params::step_prefix(l, k), s }
    }
    /// `{pre}.{rest}`.
    pub fn name(&self, rest: &str) -> String {
        format!("{}.{rest}", self.pre)
    }
    /// `derived.{pre}.{rest}`.
    pub fn derived(&self, rest: &str) -> String {
        format!("derived.{}.{rest}", self.pre)
    }
}

/// A conv weight training re-packs after every update: its name, geometry (`cin`, `cout`, `k`),
/// and whether the backward pass also reads its input-gradient form.
#[derive(Clone, Debug)]
pub struct Packed {
    pub weight: String,
    pub p: ConvParams,
    pub transposed: bool,
}

/// Derived tensors (`derived.*`), computed in f64 on the host.
pub type Derived = BTreeMap<String, (Vec<usize>, Vec<f64>)>;

/// One kind of flow-step layer. `x` buffers are `[n, h, w, c]` activations of the site's level.
pub(crate) trait Layer: Sync {
    /// The layer's stored parameters at `site`, in a fixed order.
    fn specs(&self, cfg: &GlowConfig, site: &Site) -> Vec<Spec>;

    /// Refuses a config the layer cannot run at `site` (checked by `GlowConfig::validate`).
    fn check(&self, _cfg: &GlowConfig, _site: &Site) -> Result<()> {
        Ok(())
    }

    /// Initial values (the paper's init) into `out`. The default fills every spec from its
    /// [`Init`]; layers with [`Init::Layer`] specs override it.
    fn init(&self, cfg: &GlowConfig, site: &Site, rng: &mut HostRng, out: &mut BTreeMap<String, Tensor>) {
        for s in self.specs(cfg, site) {
            out.insert(s.name.clone(), fill(&s, rng));
        }
    }

    /// Tensors derived from the parameters (f64, on the host), read by the graph pieces.
    fn derived(&self, _cfg: &GlowConfig, _site: &Site, _params: &Params, _out: &mut Derived) {}

    /// Training: the ops that recompute the derived tensors on the device from the current
    /// parameters, before the forward pass of every step.
    fn prepare(&self, _b: &mut B, _site: &Site) {}

    /// Training: conv weights (parameters or derived) to re-pack after every update.
    fn packed(&self, _cfg: &GlowConfig, _site: &Site) -> Vec<Packed> {
        Vec::new()
    }

    /// Training: scratch gradient tensors (name, shape) the backward pass accumulates into
    /// before its own ops turn them into parameter gradients; zeroed every step.
    fn grad_scratch(&self, _site: &Site) -> Vec<(String, Vec<usize>)> {
        Vec::new()
    }

    /// Pushes `y = f(x)` and adds the layer's log|det ∂y/∂x| per image to `logdet` `[n]`.
    /// Returns `y`'s buffer (may be `x`, updated in place).
    fn forward(&self, b: &mut B, site: &Site, x: BufId, logdet: BufId) -> BufId;

    /// Pushes `x = f⁻¹(y)`; returns `x`'s buffer.
    fn inverse(&self, b: &mut B, site: &Site, y: BufId) -> BufId;

    /// Backward: `y` holds the layer's output and `dy` the loss gradient w.r.t. it; recovers
    /// the input, accumulates the parameter gradients (`grad.<name>`; the logdet term enters
    /// with coefficient `g` per image) and returns `(x, dx)` (possibly the same buffers).
    fn backward(&self, b: &mut B, site: &Site, y: BufId, dy: BufId, g: f64) -> (BufId, BufId);
}

/// A spec's tensor from its [`Init`] (`Init::Layer` specs come back zero).
pub(crate) fn fill(s: &Spec, rng: &mut HostRng) -> Tensor {
    let mut t = Tensor::zeros(&s.shape);
    if let Init::Normal(std) = s.init {
        t.data.iter_mut().for_each(|v| *v = (rng.normal() * std) as f32);
    }
    t
}

/// The 1x1 conv of `x` by the `[C, C]` weight `w` into a new buffer.
pub(crate) fn conv1x1(b: &mut B, site: &Site, x: BufId, w: String) -> BufId {
    let s = &site.s;
    let y = b.g.buf(site.name("perm"), b.n * s.pixels() * s.c);
    let p = ConvParams::new(b.n, s.h, s.w, s.c, s.c, 1, false);
    b.g.push(Conv2d { x, y, weight: w, bias: None, logs: None, p });
    y
}

/// The conv weights a 1x1-conv layer (invconv, householder) re-packs: `w` with its
/// input-gradient form, and `w_inv` (the inverse conv only runs forward).
pub(crate) fn packed_1x1(site: &Site, w: String, w_inv: String) -> Vec<Packed> {
    let p = ConvParams::new(1, 1, 1, site.s.c, site.s.c, 1, false);
    vec![Packed { weight: w, p, transposed: true }, Packed { weight: w_inv, p, transposed: false }]
}

/// Backward through `y = x·W` run as a 1x1 conv: recovers `x = y·W⁻¹` (by `w_inv`), accumulates
/// `grad.<dw> += xᵀ·dy` and returns `(x, dx = dy·Wᵀ)`; the layer turns `grad.<dw>` into its own
/// parameters' gradients.
pub(crate) fn conv1x1_backward(
    b: &mut B,
    site: &Site,
    y: BufId,
    dy: BufId,
    w: String,
    w_inv: String,
    dw: &str,
) -> (BufId, BufId) {
    let (n, s) = (b.n, site.s);
    let x = b.g.buf(site.name("bx"), n * s.pixels() * s.c);
    let p = ConvParams::new(n, s.h, s.w, s.c, s.c, 1, false);
    b.g.push(Conv2d { x: y, y: x, weight: w_inv, bias: None, logs: None, p });
    ConvBackwardWeight::push(&mut b.g, x, dy, dw, p);
    let dx = b.g.buf(site.name("bdx"), n * s.pixels() * s.c);
    b.g.push(ConvBackwardData { dacc: dy, dx, weight: w, p });
    (x, dx)
}

/// The layers of every flow step of `cfg`, in forward order.
pub(crate) fn step_layers(cfg: &GlowConfig) -> [&'static dyn Layer; 3] {
    let perm: &'static dyn Layer = match cfg.permutation {
        Permutation::Invconv => &invconv::Invconv { lu: false },
        Permutation::InvconvLu => &invconv::Invconv { lu: true },
        Permutation::Shuffle => &gather::Gather { shuffle: true },
        Permutation::Reverse => &gather::Gather { shuffle: false },
        Permutation::Householder => &householder::Householder,
    };
    let coupling: &'static dyn Layer = match cfg.coupling {
        Coupling::Affine => &coupling::CouplingLayer { affine: true },
        Coupling::Additive => &coupling::CouplingLayer { affine: false },
    };
    [&actnorm::ActNormLayer, perm, coupling]
}

/// Every layer's [`Layer::check`] on one step per level (a check may not depend on the depth).
pub(crate) fn check(cfg: &GlowConfig) -> Result<()> {
    for (l, s) in cfg.level_shapes().into_iter().enumerate() {
        let site = Site::new(l, 0, s);
        for layer in step_layers(cfg) {
            layer.check(cfg, &site)?;
        }
    }
    Ok(())
}

/// Every flow step's site, in forward order.
pub(crate) fn sites(cfg: &GlowConfig) -> Vec<Site> {
    let mut out = Vec::new();
    for (l, s) in cfg.level_shapes().into_iter().enumerate() {
        for k in 0..cfg.depth {
            out.push(Site::new(l, k, s));
        }
    }
    out
}

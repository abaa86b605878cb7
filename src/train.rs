//! Training: one graph per batch size that runs the forward pass (with dequantisation noise),
//! the reversible backward pass (each step's input recovered by inverting the step from its
//! output, the coupling nets recomputed; see docs/backward.md), and the optimizer, in one
//! submission. Gradients of every trainable parameter pass through `grad.<name>` parameters,
//! the single point an all-reduce can hook into.
use crate::backend::{Backend, Host};
use crate::config::{Coupling as CouplingKind, GlowConfig, LevelShape, Permutation};
use crate::error::{Error, Result};
use crate::flow::{split_squeeze, EncodeInput, EncodeIo, NetTrace, B};
use crate::graph::{BufId, Graph, RunArgs};
use crate::model::{bpd, Glow};
use crate::ops::actnorm::{ActNormBackward, ActNormBackwardParams};
use crate::ops::conv2d::{Conv2d, ConvBackwardData, ConvBackwardWeight, ConvPack, ConvParams};
use crate::ops::coupling::{CouplingBackward, CouplingBackwardParams};
use crate::ops::invconv::{push_lu_grad, InvconvLogdetGrad, InvconvPrepare};
use crate::ops::optim::{ema_name, grad_name, init_tensors, trainable, OptConfig};
use crate::ops::permute::{Permute, PermuteParams};
use crate::ops::prior::{PriorBackward, PriorBackwardParams};
use crate::ops::reduce::{ClassLossBackward, MeanHwBackward, ReduceParams};
use crate::ops::squeeze::Squeeze;
use crate::params::{step_prefix, Params};

/// Buffers of a training graph.
pub struct TrainIo {
    pub enc: EncodeIo,
    /// `[clip factor, skipped, ‖g‖, Σ g²]`.
    pub clip: BufId,
}

fn u(v: usize) -> u32 {
    v as u32
}

/// Every conv weight of the model with its geometry, for re-packing after updates.
fn conv_weights(cfg: &GlowConfig) -> Vec<(String, ConvParams)> {
    let mut out = Vec::new();
    let shapes = cfg.level_shapes();
    let affine = cfg.coupling == CouplingKind::Affine;
    for (l, s) in shapes.iter().enumerate() {
        for k in 0..cfg.depth {
            let pre = step_prefix(l, k);
            let hid = cfg.hidden;
            let oc = if affine { 2 * s.c2() } else { s.c2() };
            out.push((format!("{pre}.coupling.conv1.w"), ConvParams::new(1, 1, 1, s.c1(), hid, 3, true)));
            out.push((format!("{pre}.coupling.conv2.w"), ConvParams::new(1, 1, 1, hid, hid, 1, false)));
            out.push((format!("{pre}.coupling.conv3.w"), ConvParams::new(1, 1, 1, hid, oc, 3, true)));
            let c = s.c;
            match cfg.permutation {
                Permutation::Invconv => {
                    out.push((format!("{pre}.invconv.w"), ConvParams::new(1, 1, 1, c, c, 1, false)))
                }
                Permutation::InvconvLu => {
                    out.push((format!("derived.{pre}.invconv.w"), ConvParams::new(1, 1, 1, c, c, 1, false)))
                }
                _ => {}
            }
            if matches!(cfg.permutation, Permutation::Invconv | Permutation::InvconvLu) {
                out.push((format!("derived.{pre}.invconv.w_inv"), ConvParams::new(1, 1, 1, c, c, 1, false)));
            }
        }
        if l + 1 < shapes.len() {
            out.push((format!("l{l}.prior.w"), ConvParams::new(1, 1, 1, s.c1(), 2 * s.c2(), 3, true)));
        } else {
            if cfg.learn_top {
                out.push(("top.prior.w".into(), ConvParams::new(1, 1, 1, 0, 2 * s.c, 3, true)));
            }
            if cfg.n_classes > 0 {
                out.push(("top.y_emb.w".into(), ConvParams::new(1, 1, 1, cfg.n_classes, 2 * s.c, 1, false)));
                out.push(("classifier.w".into(), ConvParams::new(1, 1, 1, s.c, cfg.n_classes, 1, false)));
            }
        }
    }
    out
}

impl B<'_> {
    /// Backward through a conv with the `(acc + b)·exp(3·logs)` epilogue (optionally ReLU):
    /// `y` is the conv's output and `dy` its gradient (both consumed), `x` its input.
    /// Accumulates the parameter gradients; returns nothing (`dx` handled by `data`).
    #[allow(clippy::too_many_arguments)]
    fn conv_backward(
        &mut self,
        x: BufId,
        y: BufId,
        dy: BufId,
        w: &str,
        bias: &str,
        logs: &str,
        p: ConvParams,
        relu: bool,
        data: Option<(BufId, bool, u32, u32)>,
    ) {
        let ap = ActNormBackwardParams::new(p.n as usize, (p.h * p.w) as usize, p.cout as usize, relu, 0.0);
        for op in ActNormBackward::stages(y, dy, bias, logs, ap) {
            self.g.push(op);
        }
        ConvBackwardWeight::push(&mut self.g, x, dy, w, p);
        if let Some((dx, accumulate, stride, off)) = data {
            let mut q = p;
            q.accumulate = accumulate as u32;
            q.cin_stride = stride;
            q.cin_off = off;
            self.g.push(ConvBackwardData { dacc: dy, dx, weight: w.into(), p: q });
        }
    }

    /// One flow step backwards: `x` holds the step's output (becomes its input), `dx` its
    /// gradient (becomes the input's); `net` the coupling net's activations when kept (else
    /// they are recomputed). Returns the (possibly new) buffers.
    #[allow(clippy::too_many_arguments)]
    fn step_backward(
        &mut self,
        l: usize,
        k: usize,
        s: &LevelShape,
        mut x: BufId,
        mut dx: BufId,
        g: f64,
        net: Option<NetTrace>,
    ) -> (BufId, BufId) {
        let (n, hw, c) = (self.n, s.pixels(), s.c);
        let pre = step_prefix(l, k);
        let affine = self.cfg.coupling == CouplingKind::Affine;
        // coupling: recompute the net from z1 (unchanged by the coupling), keeping its activations
        let hid = self.cfg.hidden;
        // kept from the forward pass (or its recomputation), else recomputed from z1 (unchanged
        // by the coupling)
        let net = net.unwrap_or_else(|| self.coupling_net_trace(&pre, s, x));
        let NetTrace { h1, h2, h, p: [mut p1, mut p2, mut p3] } = net;
        // the geometry of the fused convs, for their backward (epilogue = actnorm / zero-conv scale)
        (p1.epilogue, p1.relu, p2.epilogue, p2.relu, p3.epilogue) = (1, 1, 1, 1, 1);
        let oc = p3.cout as usize;
        let an = |i: u32| (format!("{pre}.coupling.an{i}.bias"), format!("{pre}.coupling.an{i}.logs"));
        let (b1, l1) = an(1);
        let (b2, l2) = an(2);
        let w1 = format!("{pre}.coupling.conv1.w");
        let w2 = format!("{pre}.coupling.conv2.w");
        let w3 = format!("{pre}.coupling.conv3.w");
        let (b3, l3) = (format!("{pre}.coupling.conv3.bias"), format!("{pre}.coupling.conv3.logs"));
        let dh = self.g.buf(format!("{pre}.bdh"), n * hw * oc);
        let cp = CouplingBackwardParams { cp: self.coupling_params(s), ld_scale: g as f32, _pad: [0; 3] };
        self.g.push(CouplingBackward { y: x, h, dy: dx, dh, affine, p: cp });
        // back through the net: conv3 (zero conv), ReLU·actnorm·conv2, ReLU·actnorm·conv1
        let dh2 = self.g.buf(format!("{pre}.bdh2"), n * hw * hid);
        self.conv_backward(h2, h, dh, &w3, &b3, &l3, p3, false, Some((dh2, false, u(hid), 0)));
        let dh1 = self.g.buf(format!("{pre}.bdh1"), n * hw * hid);
        self.conv_backward(h1, h2, dh2, &w2, &b2, &l2, p2, true, Some((dh1, false, u(hid), 0)));
        self.conv_backward(x, h1, dh1, &w1, &b1, &l1, p1, true, Some((dx, true, u(c), 0)));
        // permutation
        let ld = n as f64 * g * hw as f64;
        match self.cfg.permutation {
            Permutation::Invconv | Permutation::InvconvLu => {
                let lu = self.cfg.permutation == Permutation::InvconvLu;
                let w = if lu { format!("derived.{pre}.invconv.w") } else { format!("{pre}.invconv.w") };
                let xin = self.g.buf(format!("{pre}.bx"), n * hw * c);
                let p = ConvParams::new(n, s.h, s.w, c, c, 1, false);
                let w_inv = format!("derived.{pre}.invconv.w_inv");
                self.g.push(Conv2d { x, y: xin, weight: w_inv, bias: None, logs: None, p });
                // grad.{pre}.invconv.w += xinᵀ·dy (for LU a scratch gradient of the composed W)
                ConvBackwardWeight::push(&mut self.g, xin, dx, &format!("{pre}.invconv.w"), p);
                let dxin = self.g.buf(format!("{pre}.bdx"), n * hw * c);
                self.g.push(ConvBackwardData { dacc: dx, dx: dxin, weight: w, p });
                if lu {
                    push_lu_grad(&mut self.g, &pre, c, ld);
                } else {
                    self.g.push(InvconvLogdetGrad::new(&pre, c, ld));
                }
                x = xin;
                dx = dxin;
            }
            Permutation::Shuffle | Permutation::Reverse => {
                let perm = if self.cfg.permutation == Permutation::Shuffle {
                    format!("{pre}.shuffle.perm")
                } else {
                    format!("derived.{pre}.reverse.perm")
                };
                let pp = PermuteParams { pixels: u(n * hw), c: u(c), _pad: [0; 2] };
                let xin = self.g.buf(format!("{pre}.bx"), n * hw * c);
                self.g.push(Permute { x, y: xin, perm: perm.clone(), reverse: true, p: pp });
                let dxin = self.g.buf(format!("{pre}.bdx"), n * hw * c);
                self.g.push(Permute { x: dx, y: dxin, perm, reverse: true, p: pp });
                x = xin;
                dx = dxin;
            }
        }
        // actnorm (with its logdet term)
        let ap = ActNormBackwardParams::new(n, hw, c, false, g as f32);
        let (ab, al) = (format!("{pre}.actnorm.bias"), format!("{pre}.actnorm.logs"));
        for op in ActNormBackward::stages(x, dx, &ab, &al, ap) {
            self.g.push(op);
        }
        (x, dx)
    }

    /// The reversible backward pass after `encode_into`.
    /// `gy`: coefficient of each image's class cross-entropy in the loss (0: class head untrained).
    fn backward_into(&mut self, io: &EncodeIo, g: f64, gy: f64) {
        let cfg = self.cfg;
        let n = self.n;
        let shapes = cfg.level_shapes();
        let nl = shapes.len();
        let mut dnext: Option<BufId> = None; // gradient of the next level's input
        for l in (0..nl).rev() {
            let s = shapes[l];
            let x = io.level_out[l];
            let dx = self.g.buf(format!("l{l}.bdx_out"), n * s.pixels() * s.c);
            if l + 1 == nl {
                // top prior: dz (all channels), dh shared by the batch (+ class vector)
                let dh = self.g.buf("top.bdh", s.pixels() * 2 * s.c);
                let dv = io.top_v.map(|_| self.g.buf("top.bdv", n * 2 * s.c));
                let pp = PriorBackwardParams {
                    pp: self.top_prior_params(&s, io.top_v.is_some()),
                    ld_scale: g as f32,
                    _pad: [0; 3],
                };
                self.g.push(PriorBackward { z: x, h: io.top_h, v: io.top_v, dz: dx, dh, dv, p: pp });
                if cfg.learn_top {
                    let p = ConvParams::new(1, s.h, s.w, 0, 2 * s.c, 3, true);
                    self.conv_backward(
                        io.top_h,
                        io.top_h,
                        dh,
                        "top.prior.w",
                        "top.prior.bias",
                        "top.prior.logs",
                        p,
                        false,
                        None,
                    );
                }
                if let (Some(v), Some(dv), Some(lab)) = (io.top_v, dv, io.labels) {
                    let p = ConvParams::new(n, 1, 1, cfg.n_classes, 2 * s.c, 1, false);
                    self.conv_backward(lab, v, dv, "top.y_emb.w", "top.y_emb.bias", "top.y_emb.logs", p, false, None);
                }
                if let (Some(lg), Some(zm), Some(lab)) = (io.logits, io.top_mean, io.labels) {
                    if gy != 0.0 {
                        let nc = cfg.n_classes;
                        let dl = self.g.buf("classifier.bdl", n * nc);
                        let rp = ReduceParams { n: u(n), len: u(nc), scale: gy as f32, c: 0 };
                        self.g.push(ClassLossBackward { logits: lg, onehot: lab, dlogits: dl, p: rp });
                        let dzm = self.g.buf("classifier.bdz", n * s.c);
                        let p = ConvParams::new(n, 1, 1, s.c, nc, 1, false);
                        let data = Some((dzm, false, u(s.c), 0));
                        self.conv_backward(
                            zm,
                            lg,
                            dl,
                            "classifier.w",
                            "classifier.bias",
                            "classifier.logs",
                            p,
                            false,
                            data,
                        );
                        let mp = ReduceParams { n: u(n), len: u(s.pixels()), scale: 1.0, c: u(s.c) };
                        self.g.push(MeanHwBackward { dy: dzm, dx, p: mp });
                    }
                }
            } else {
                let nx = shapes[l + 1];
                // z1's gradient from the level above, then z2's from the prior, then the prior conv's
                let sp = split_squeeze(n, &s, &nx);
                self.g.push(Squeeze {
                    wide: dx,
                    narrow: dnext.expect("gradient from the level above"),
                    reverse: true,
                    p: sp,
                });
                let hp = io.prior_h[l];
                let dh = self.g.buf(format!("l{l}.prior.bdh"), n * s.pixels() * 2 * s.c2());
                let pp = PriorBackwardParams { pp: self.split_prior_params(&s), ld_scale: g as f32, _pad: [0; 3] };
                self.g.push(PriorBackward { z: x, h: hp, v: None, dz: dx, dh, dv: None, p: pp });
                let mut p = ConvParams::new(n, s.h, s.w, s.c1(), 2 * s.c2(), 3, true);
                p.cin_stride = u(s.c);
                let (w, b, lg) = (format!("l{l}.prior.w"), format!("l{l}.prior.bias"), format!("l{l}.prior.logs"));
                self.conv_backward(x, hp, dh, &w, &b, &lg, p, false, Some((dx, true, u(s.c), 0)));
            }
            let (mut xc, mut dxc) = (x, dx);
            for k in (0..cfg.depth).rev() {
                let mut net = self.keep_nets.then(|| self.nets[l * cfg.depth + k]);
                if self.save_inputs {
                    // stored activations: recompute the step's output from its saved input
                    // instead of relying on the (inverted) chain
                    let len = n * s.pixels() * s.c;
                    let t = self.g.buf(format!("l{l}.s{k}.restored"), len);
                    self.g.push(crate::ops::copy::Copy::new(self.saved[l * cfg.depth + k], t, len));
                    let scratch = self.g.zeroed(format!("l{l}.s{k}.logdet_scratch"), n);
                    // recompute the step from its saved input, keeping the net's activations
                    (self.save_inputs, self.keep_nets) = (false, true);
                    xc = self.step_forward(l, k, &s, t, scratch);
                    net = self.nets.pop();
                    (self.save_inputs, self.keep_nets) = (true, false);
                }
                (xc, dxc) = self.step_backward(l, k, &s, xc, dxc, g, net);
            }
            dnext = Some(dxc);
        }
    }
}

/// Where the backward pass gets each flow step's activations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// Recover each step's input by inverting the step from its output (RevNet style): memory
    /// flat in depth.
    #[default]
    Reversible,
    /// Keep a copy of every step's input from the forward pass and recompute the step's output
    /// from it: memory grows with depth; no inversion error.
    Stored,
    /// Reversible for the flow itself, but every coupling net's activations (`h1`, `h2`, `h`)
    /// are kept from the forward pass instead of recomputed: PyTorch's FLOP count (a quarter
    /// fewer than `Reversible`), activation memory growing with depth (about
    /// `n·pixels·(2·width + out)` floats per step).
    KeepNets,
}

/// How far a training graph goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Derive, pack, forward: the loss only (finite-difference checks).
    Loss,
    /// ... and the backward pass into `grad.*`.
    Gradient,
    /// ... and the optimizer step.
    Step,
}

/// The training graph for batches of `n`: re-derive the 1x1 convs' matrices and re-pack conv
/// weights, forward with dequantisation noise, backward (`mode`), optimizer step. `weight_y`
/// weighs the class head's cross-entropy in bits (class-conditional models).
pub fn train_graph(
    cfg: &GlowConfig,
    n: usize,
    opt: &OptConfig,
    tensors: &[(String, usize)],
    mode: Mode,
    weight_y: f64,
) -> (Graph, TrainIo) {
    stage_graph(cfg, n, opt, tensors, Stage::Step, mode, weight_y)
}

/// `train_graph` up to `stage`; `clip` is a dummy buffer unless `stage` is `Step`.
pub fn stage_graph(
    cfg: &GlowConfig,
    n: usize,
    opt: &OptConfig,
    tensors: &[(String, usize)],
    stage: Stage,
    mode: Mode,
    weight_y: f64,
) -> (Graph, TrainIo) {
    let mut b = B {
        cfg,
        g: Graph { batch: n, ..Default::default() },
        n,
        init: false,
        save_inputs: mode == Mode::Stored,
        saved: Vec::new(),
        keep_nets: mode == Mode::KeepNets,
        nets: Vec::new(),
    };
    for (l, s) in cfg.level_shapes().iter().enumerate() {
        for k in 0..cfg.depth {
            let pre = step_prefix(l, k);
            match cfg.permutation {
                Permutation::Invconv => {
                    let scratch = b.g.buf(format!("{pre}.gj"), InvconvPrepare::scratch_len(s.c));
                    b.g.push(InvconvPrepare::plain(&pre, s.c, scratch));
                }
                Permutation::InvconvLu => b.g.push(InvconvPrepare::lu(&pre, s.c)),
                _ => {}
            }
        }
    }
    for (w, p) in conv_weights(cfg) {
        if p.cin > 0 && !w.ends_with(".w_inv") {
            // the input-gradient form read by `ConvBackwardData` (the inverse 1x1 conv only runs forward)
            b.g.push(ConvPack { weight: w.clone(), p, transposed: true });
        }
        b.g.push(ConvPack { weight: w, p, transposed: false });
    }
    let enc = b.encode_into(EncodeInput::Image { noise: true });
    if stage == Stage::Loss {
        let clip = b.g.zeroed("opt.clip", 4);
        return (b.g, TrainIo { enc, clip });
    }
    let g = -1.0 / (n as f64 * std::f64::consts::LN_2 * cfg.dims() as f64);
    b.backward_into(&enc, g, weight_y / (n as f64 * std::f64::consts::LN_2));
    let clip = if stage == Stage::Step { opt.push_step(&mut b.g, tensors).clip } else { b.g.zeroed("opt.clip", 4) };
    let mut zero: Vec<String> = tensors.iter().map(|(t, _)| grad_name(t)).collect();
    if cfg.permutation == Permutation::InvconvLu {
        zero.extend(
            (0..cfg.levels).flat_map(|l| (0..cfg.depth).map(move |k| format!("grad.{}.invconv.w", step_prefix(l, k)))),
        );
    }
    b.g.zero_params = zero;
    (b.g, TrainIo { enc, clip })
}

/// Per-step figures.
#[derive(Clone, Debug)]
pub struct StepStats {
    /// Mean bits/dim of the batch (before the update).
    pub bpd: f64,
    /// Global gradient norm (before clipping).
    pub grad_norm: f64,
    /// The gradient was non-finite: nothing was updated.
    pub skipped: bool,
}

/// The graph inputs of a batch: the images and, for class-conditional models, one-hot labels.
fn batch_inputs(
    cfg: &GlowConfig,
    io: &TrainIo,
    images: &[u8],
    n: usize,
    labels: Option<&[u32]>,
) -> Result<Vec<(BufId, Host)>> {
    if images.len() != n * cfg.dims() {
        return Err(Error::Input(format!(
            "expected {n} images ({} bytes), got {} bytes",
            n * cfg.dims(),
            images.len()
        )));
    }
    let mut inputs = vec![(io.enc.input, Host::U8(images.to_vec()))];
    match (io.enc.labels, labels) {
        (Some(b), Some(l)) => {
            let nc = cfg.n_classes;
            let mut oh = vec![0.0; n * nc];
            for (i, &y) in l.iter().enumerate() {
                if y as usize >= nc {
                    return Err(Error::Input(format!("label {y} out of range 0..{nc}")));
                }
                oh[i * nc + y as usize] = 1.0;
            }
            inputs.push((b, Host::F(oh)));
        }
        (None, None) => {}
        _ => return Err(Error::Input("labels must be given exactly for class-conditional models".into())),
    }
    Ok(inputs)
}

/// Trains a model in place on its backend.
pub struct Trainer<B: Backend> {
    pub model: Glow<B>,
    pub opt: OptConfig,
    /// Reversible (default) or stored activations; set before the first step.
    pub mode: Mode,
    /// Weight of the class head's cross-entropy (bits) in the loss, as the official `weight_y`.
    pub weight_y: f64,
    /// Steps taken (the next step is `t + 1`).
    pub t: u64,
    /// Noise counter of the batch's first value (0 normally). A data-parallel rank that takes
    /// images `[o, o + n)` of a global batch sets `o · D`, so its images get the dequantisation
    /// noise they would get in one batch of all ranks' images. Set before the first step.
    pub noise_base: u32,
    tensors: Vec<(String, usize)>,
    plan: Option<(usize, B::Plan, TrainIo)>,
    /// Data-parallel steps: the graph up to the gradients, and the optimizer alone.
    grad_plan: Option<(usize, B::Plan, TrainIo)>,
    opt_plan: Option<(B::Plan, BufId)>,
    /// Host parameters are stale while steps run on the device.
    dirty: bool,
}

/// Sets the dequantisation noise counter of a training graph's input (see `Trainer::noise_base`).
fn set_noise_base(g: &mut Graph, base: u32) {
    for op in &mut g.ops {
        if let crate::ops::Op::Quantize(q) = op {
            q.p.base = base;
        }
    }
}

impl<B: Backend> Trainer<B> {
    /// Uploads the optimizer's tensors (zero moments, EMA = parameters).
    pub fn new(mut model: Glow<B>, opt: OptConfig) -> Result<Self> {
        if !model.params().actnorm_initialized {
            return Err(Error::Input("initialise actnorm from data (Glow::init_actnorm) before training".into()));
        }
        let tensors = trainable(model.params());
        let mut extra = init_tensors(model.params(), &opt);
        let cfg = model.config().clone();
        if cfg.permutation == Permutation::InvconvLu {
            for (l, s) in cfg.level_shapes().iter().enumerate() {
                for k in 0..cfg.depth {
                    let name = format!("grad.{}.invconv.w", step_prefix(l, k));
                    extra.insert(name, (vec![s.c, s.c], vec![0.0; s.c * s.c]));
                }
            }
        }
        model.backend_mut().set_params(&extra)?;
        Ok(Trainer {
            model,
            opt,
            mode: Mode::Reversible,
            weight_y: 0.0,
            t: 0,
            noise_base: 0,
            tensors,
            plan: None,
            grad_plan: None,
            opt_plan: None,
            dirty: false,
        })
    }

    /// One optimizer step on a batch of u8 images (NHWC); dequantisation noise from `seed`.
    pub async fn step(&mut self, images: &[u8], n: usize, labels: Option<&[u32]>, seed: u64) -> Result<StepStats> {
        let cfg = self.model.config().clone();
        if self.plan.as_ref().map(|p| p.0) != Some(n) {
            let (mut graph, io) = train_graph(&cfg, n, &self.opt, &self.tensors, self.mode, self.weight_y);
            set_noise_base(&mut graph, self.noise_base);
            let plan = self.model.backend_mut().build(graph)?;
            self.plan = Some((n, plan, io));
        }
        let state = self.opt.state_params(self.t + 1);
        self.model.backend_mut().set_params(&state)?;
        let (_, plan, io) = self.plan.as_mut().unwrap();
        let inputs = batch_inputs(&cfg, io, images, n, labels)?;
        let outs = [io.enc.logdet, io.enc.logp, io.clip];
        let backend = self.model.backend_mut();
        let mut res = backend.run(plan, inputs, &outs, RunArgs { seed, temperature: 1.0 }).await?.into_iter();
        let logdet = res.next().unwrap().floats();
        let logp = res.next().unwrap().floats();
        let clip = res.next().unwrap().floats();
        let per = bpd(&cfg, &logdet, &logp);
        let mean = per.iter().sum::<f64>() / n as f64;
        let skipped = clip[1] != 0.0 || !mean.is_finite();
        self.dirty = true;
        if !skipped {
            self.t += 1;
        }
        Ok(StepStats { bpd: mean, grad_norm: clip[2], skipped })
    }

    /// Data-parallel step, part 1: forward and backward on this rank's images into the `grad.*`
    /// parameters ([`Trainer::gradient_tensors`]), without the optimizer. Returns each image's
    /// bits/dim. The gradient is that of this batch's mean loss: the mean of the ranks'
    /// gradients over equal batches is the gradient of the global batch's mean loss.
    pub async fn gradients(&mut self, images: &[u8], n: usize, labels: Option<&[u32]>, seed: u64) -> Result<Vec<f64>> {
        let cfg = self.model.config().clone();
        if self.grad_plan.as_ref().map(|p| p.0) != Some(n) {
            let (mut graph, io) =
                stage_graph(&cfg, n, &self.opt, &self.tensors, Stage::Gradient, self.mode, self.weight_y);
            set_noise_base(&mut graph, self.noise_base);
            let plan = self.model.backend_mut().build(graph)?;
            self.grad_plan = Some((n, plan, io));
        }
        let (_, plan, io) = self.grad_plan.as_mut().unwrap();
        let inputs = batch_inputs(&cfg, io, images, n, labels)?;
        let outs = [io.enc.logdet, io.enc.logp];
        let backend = self.model.backend_mut();
        let mut res = backend.run(plan, inputs, &outs, RunArgs { seed, temperature: 1.0 }).await?.into_iter();
        let logdet = res.next().unwrap().floats();
        let logp = res.next().unwrap().floats();
        Ok(bpd(&cfg, &logdet, &logp))
    }

    /// The gradient parameters (`grad.<name>`, element count) that `gradients` writes and
    /// `apply_gradients` reads, in a fixed order (the same on every rank).
    pub fn gradient_tensors(&self) -> Vec<(String, usize)> {
        self.tensors.iter().map(|(t, n)| (grad_name(t), *n)).collect()
    }

    /// Data-parallel step, part 2: the optimizer step (clipping, non-finite skip, update, EMA if
    /// configured) on the gradients now in `grad.*` (averaged over ranks); `mean_bpd` is the
    /// global batch's mean bits/dim (non-finite: the step counts as skipped, as in `step`).
    pub async fn apply_gradients(&mut self, mean_bpd: f64) -> Result<StepStats> {
        if self.opt_plan.is_none() {
            let mut g = Graph::default();
            let clip = self.opt.push_step(&mut g, &self.tensors).clip;
            self.opt_plan = Some((self.model.backend_mut().build(g)?, clip));
        }
        let state = self.opt.state_params(self.t + 1);
        self.model.backend_mut().set_params(&state)?;
        let (plan, clip) = self.opt_plan.as_mut().unwrap();
        let outs = [*clip];
        let backend = self.model.backend_mut();
        let clip = backend.run(plan, vec![], &outs, RunArgs::default()).await?.remove(0).floats();
        let skipped = clip[1] != 0.0 || !mean_bpd.is_finite();
        self.dirty = true;
        if !skipped {
            self.t += 1;
        }
        Ok(StepStats { bpd: mean_bpd, grad_norm: clip[2], skipped })
    }

    /// Reads the trained parameters back into the model (whose encode / sample then use them).
    pub async fn sync(&mut self) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let params = self.read(false).await?;
        self.model.set_params(params)?;
        self.dirty = false;
        Ok(())
    }

    /// The Polyak-averaged (EMA) parameters, for evaluation and export.
    pub async fn ema_params(&mut self) -> Result<Params> {
        self.read(true).await
    }

    async fn read(&mut self, ema: bool) -> Result<Params> {
        let names: Vec<String> = self.tensors.iter().map(|(t, _)| if ema { ema_name(t) } else { t.clone() }).collect();
        let values = self.model.backend_mut().read_params(&names).await?;
        let mut p = self.model.params().clone();
        for ((name, _), v) in self.tensors.iter().zip(values) {
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                return Err(Error::NonFinite(format!("parameter `{name}`[{i}] after training")));
            }
            p.map.get_mut(name).unwrap().data = v.iter().map(|&x| x as f32).collect();
        }
        Ok(p)
    }
}

impl<B: Backend> Trainer<B> {
    /// The optimizer's device tensors (moments and EMA of every trainable parameter), for
    /// checkpoints.
    pub async fn optimizer_tensors(&mut self) -> Result<crate::backend::ParamMap> {
        let mut names = Vec::new();
        let mut shapes = Vec::new();
        for (t, _) in &self.tensors {
            let shape = self.model.params().get(t).shape.clone();
            for n in [crate::ops::optim::m_name(t), crate::ops::optim::v_name(t), ema_name(t)] {
                names.push(n);
                shapes.push(shape.clone());
            }
        }
        let values = self.model.backend_mut().read_params(&names).await?;
        Ok(names.into_iter().zip(shapes.into_iter().zip(values)).collect())
    }

    /// Restores optimizer tensors and the step counter from a checkpoint (parameters are restored
    /// by building the model from the checkpoint's parameters).
    pub fn restore(&mut self, tensors: &crate::backend::ParamMap, t: u64) -> Result<()> {
        for (t_name, len) in &self.tensors {
            for n in [crate::ops::optim::m_name(t_name), crate::ops::optim::v_name(t_name), ema_name(t_name)] {
                match tensors.get(&n) {
                    Some((_, v)) if v.len() == *len => {}
                    Some((_, v)) => {
                        return Err(Error::Weights(format!(
                            "checkpoint tensor `{n}` has {} values, expected {len}",
                            v.len()
                        )))
                    }
                    None => return Err(Error::Weights(format!("checkpoint lacks optimizer tensor `{n}`"))),
                }
            }
        }
        self.model.backend_mut().set_params(tensors)?;
        self.t = t;
        Ok(())
    }
}

//! Training: one graph per batch size that runs the forward pass (with dequantisation noise),
//! the reversible backward pass (each step's input recovered by inverting the step from its
//! output, the coupling nets recomputed; see docs/backward.md), and the optimizer, in one
//! submission. Gradients of every trainable parameter pass through `grad.<name>` parameters,
//! the single point an all-reduce can hook into.
use crate::backend::{Backend, Host};
use crate::config::{GlowConfig, LevelShape};
use crate::error::{Error, Result};
use crate::flow::{split_squeeze, EncodeInput, EncodeIo, B};
use crate::graph::{BufId, Graph, RunArgs};
use crate::layers::{sites, step_layers, Packed, Site};
use crate::model::{bpd, Glow};
use crate::ops::actnorm::{ActNormBackward, ActNormBackwardParams};
use crate::ops::conv2d::{ConvBackwardData, ConvBackwardWeight, ConvPack, ConvParams};
use crate::ops::optim::{ema_name, grad_name, init_tensors, trainable, OptConfig};
use crate::ops::prior::{PriorBackward, PriorBackwardParams};
use crate::ops::reduce::{ClassLossBackward, MeanHwBackward, ReduceParams};
use crate::ops::squeeze::Squeeze;
use crate::params::Params;

/// Buffers of a training graph.
pub struct TrainIo {
    pub enc: EncodeIo,
    /// `[clip factor, skipped, ‖g‖, Σ g²]`.
    pub clip: BufId,
}

fn u(v: usize) -> u32 {
    v as u32
}

/// Every conv weight training re-packs: the flow steps' (from their layers), then the priors'
/// and the class head's.
fn packed(cfg: &GlowConfig) -> Vec<Packed> {
    let mut out: Vec<Packed> = sites(cfg)
        .iter()
        .flat_map(|site| step_layers(cfg).into_iter().flat_map(move |l| l.packed(cfg, site)))
        .collect();
    let shapes = cfg.level_shapes();
    let mut add = |weight: &str, cin, cout, k| {
        let p = ConvParams::new(1, 1, 1, cin, cout, k, k == 3);
        // a conv with no input channels (the learned top) has no input gradient
        out.push(Packed { weight: weight.into(), p, transposed: cin > 0 });
    };
    for (l, s) in shapes.iter().enumerate() {
        if l + 1 < shapes.len() {
            add(&format!("l{l}.prior.w"), s.c1(), 2 * s.c2(), 3);
        } else {
            if cfg.learn_top {
                add("top.prior.w", 0, 2 * s.c, 3);
            }
            if cfg.n_classes > 0 {
                add("top.y_emb.w", cfg.n_classes, 2 * s.c, 1);
                add("classifier.w", s.c, cfg.n_classes, 1);
            }
        }
    }
    out
}

/// Scratch gradients of every layer (see [`crate::layers::Layer::grad_scratch`]).
fn grad_scratch(cfg: &GlowConfig) -> Vec<(String, Vec<usize>)> {
    sites(cfg).iter().flat_map(|site| step_layers(cfg).into_iter().flat_map(move |l| l.grad_scratch(site))).collect()
}

impl B<'_> {
    /// Backward through a conv with the `(acc + b)·exp(3·logs)` epilogue (optionally ReLU):
    /// `y` is the conv's output and `dy` its gradient (both consumed), `x` its input.
    /// Accumulates the parameter gradients; returns nothing (`dx` handled by `data`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn conv_backward(
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

    /// One flow step backwards: `x` holds the step's output, `dx` its gradient; its layers in
    /// reverse order recover the input and its gradient (see [`crate::layers::Layer::backward`]).
    fn step_backward(&mut self, site: &Site, mut x: BufId, mut dx: BufId, g: f64) -> (BufId, BufId) {
        for layer in step_layers(self.cfg).into_iter().rev() {
            (x, dx) = layer.backward(self, site, x, dx, g);
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
                self.top_backward(io, &s, dx, g, gy);
            } else {
                self.split_backward(io, l, &s, &shapes[l + 1], dx, dnext.expect("gradient from the level above"), g);
            }
            let (mut xc, mut dxc) = (x, dx);
            for k in (0..cfg.depth).rev() {
                let site = Site::new(l, k, s);
                if self.save_inputs {
                    // stored activations: recompute the step's output from its saved input
                    // instead of relying on the (inverted) chain, keeping the net's activations
                    let len = n * s.pixels() * s.c;
                    let t = self.g.buf(site.name("restored"), len);
                    self.g.push(crate::ops::copy::Copy::new(self.saved[l * cfg.depth + k], t, len));
                    let scratch = self.g.zeroed(site.name("logdet_scratch"), n);
                    (self.save_inputs, self.keep_nets) = (false, true);
                    xc = self.step_forward(&site, t, scratch);
                    (self.save_inputs, self.keep_nets) = (true, false);
                }
                (xc, dxc) = self.step_backward(&site, xc, dxc, g);
            }
            dnext = Some(dxc);
        }
    }

    /// Backward through the top prior (dz over all channels, its `h` shared by the batch, the
    /// class embedding) and the class head, into `dx` (the top level's output gradient).
    fn top_backward(&mut self, io: &EncodeIo, s: &LevelShape, dx: BufId, g: f64, gy: f64) {
        let (cfg, n, x, s) = (self.cfg, self.n, io.level_out[self.cfg.levels - 1], *s);
        // top prior: dz (all channels), dh shared by the batch (+ class vector)
        let dh = self.g.buf("top.bdh", s.pixels() * 2 * s.c);
        let dv = io.top_v.map(|_| self.g.buf("top.bdv", n * 2 * s.c));
        let pp =
            PriorBackwardParams { pp: self.top_prior_params(&s, io.top_v.is_some()), ld_scale: g as f32, _pad: [0; 3] };
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
                self.conv_backward(zm, lg, dl, "classifier.w", "classifier.bias", "classifier.logs", p, false, data);
                let mp = ReduceParams { n: u(n), len: u(s.pixels()), scale: 1.0, c: u(s.c) };
                self.g.push(MeanHwBackward { dy: dzm, dx, p: mp });
            }
        }
    }

    /// Backward through level `l`'s split: `z1`'s gradient from the level above (`dnext`), then
    /// `z2`'s from the split prior, then the prior conv's, into `dx`.
    #[allow(clippy::too_many_arguments)]
    fn split_backward(
        &mut self,
        io: &EncodeIo,
        l: usize,
        s: &LevelShape,
        nx: &LevelShape,
        dx: BufId,
        dnext: BufId,
        g: f64,
    ) {
        let (n, x, s, nx) = (self.n, io.level_out[l], *s, *nx);
        // z1's gradient from the level above, then z2's from the prior, then the prior conv's
        let sp = split_squeeze(n, &s, &nx);
        self.g.push(Squeeze { wide: dx, narrow: dnext, reverse: true, p: sp });
        let hp = io.prior_h[l];
        let dh = self.g.buf(format!("l{l}.prior.bdh"), n * s.pixels() * 2 * s.c2());
        let pp = PriorBackwardParams { pp: self.split_prior_params(&s), ld_scale: g as f32, _pad: [0; 3] };
        self.g.push(PriorBackward { z: x, h: hp, v: None, dz: dx, dh, dv: None, p: pp });
        let mut p = ConvParams::new(n, s.h, s.w, s.c1(), 2 * s.c2(), 3, true);
        p.cin_stride = u(s.c);
        let (w, b, lg) = (format!("l{l}.prior.w"), format!("l{l}.prior.bias"), format!("l{l}.prior.logs"));
        self.conv_backward(x, hp, dh, &w, &b, &lg, p, false, Some((dx, true, u(s.c), 0)));
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
    let mut b = B::new(cfg, n, false);
    (b.save_inputs, b.keep_nets) = (mode == Mode::Stored, mode == Mode::KeepNets);
    for site in sites(cfg) {
        for layer in step_layers(cfg) {
            layer.prepare(&mut b, &site);
        }
    }
    for Packed { weight, p, transposed } in packed(cfg) {
        if transposed {
            // the input-gradient form read by `ConvBackwardData`
            b.g.push(ConvPack { weight: weight.clone(), p, transposed: true });
        }
        b.g.push(ConvPack { weight, p, transposed: false });
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
    zero.extend(grad_scratch(cfg).into_iter().map(|(name, _)| name));
    b.g.zero_params = zero;
    (b.g, TrainIo { enc, clip })
}

/// The trainable parameters of `params` (all but the frozen ones) with their element counts,
/// in name order: the tensors the optimizer updates.
pub fn trainable_tensors(cfg: &GlowConfig, params: &Params) -> Vec<(String, usize)> {
    trainable(params, &crate::params::frozen(cfg))
}

/// The device tensors training adds to the model's: the optimizer's (zero gradients and
/// moments, the EMA equal to the parameters, step 1's state) and the layers' zero scratch
/// gradients.
pub fn optimizer_init(cfg: &GlowConfig, params: &Params, opt: &OptConfig) -> crate::backend::ParamMap {
    let mut out = init_tensors(params, &crate::params::frozen(cfg), opt);
    for (name, shape) in grad_scratch(cfg) {
        let len = shape.iter().product();
        out.insert(name, (shape, vec![0.0; len]));
    }
    out
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
        let tensors = trainable_tensors(model.config(), model.params());
        let extra = optimizer_init(model.config(), model.params(), &opt);
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

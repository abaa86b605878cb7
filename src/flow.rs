//! The Glow graph, written once: encode (image -> latents, logdet, log p), its data-dependent
//! init variant, and decode / sample. Both backends run these graphs.
use std::collections::BTreeMap;

use crate::config::{GlowConfig, LevelShape};
use crate::graph::{BufId, DType, Graph};
pub(crate) use crate::layers::coupling::NetTrace;
use crate::layers::{step_layers, Site};
use crate::ops::actnorm::{ActNorm, ActNormInit, ActNormParams};
use crate::ops::conv2d::{Conv2d, ConvParams};
use crate::ops::noise::{Gaussian, NoiseParams};
use crate::ops::prior::{Prior, PriorParams};
use crate::ops::quantize::{Dequantize, QuantParams, Quantize};
use crate::ops::reduce::{MeanHw, ReduceImage, ReduceParams};
use crate::ops::squeeze::{Squeeze, SqueezeParams};

/// What the encoder reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EncodeInput {
    /// u8 images, preprocessed on the device (with dequantisation noise or the bin centre).
    Image { noise: bool },
    /// Already-preprocessed floats `x` in [-0.5, 0.5] (tests, Jacobians).
    Float,
}

/// Buffers of an encode graph.
#[derive(Clone, Debug)]
pub struct EncodeIo {
    pub input: BufId,
    pub labels: Option<BufId>,
    pub logdet: BufId,
    pub logp: BufId,
    /// Standardised latents per level (splits, then the top), each [n, pixels·channels].
    pub eps: Vec<BufId>,
    pub logits: Option<BufId>,
    /// The forward trace the backward pass starts from: each level's final activation
    /// [n, h, w, c], each split prior's `h`, the top prior's `h` and class vector.
    pub level_out: Vec<BufId>,
    pub prior_h: Vec<BufId>,
    pub top_h: BufId,
    pub top_v: Option<BufId>,
    /// The class head's input (mean of z_top over pixels) [n, C].
    pub top_mean: Option<BufId>,
}

/// Buffers of a decode graph.
#[derive(Clone, Debug)]
pub struct DecodeIo {
    /// Latent inputs (decode) or device-generated noise (sample).
    pub eps: Vec<BufId>,
    pub labels: Option<BufId>,
    /// Continuous output before quantisation [n, H, W, C].
    pub x: BufId,
    /// u8 output image.
    pub image: BufId,
}

/// The graph builder shared by encode, decode and training (`crate::train`).
pub(crate) struct B<'a> {
    pub(crate) cfg: &'a GlowConfig,
    pub(crate) g: Graph,
    pub(crate) n: usize,
    pub(crate) init: bool,
    /// Training in stored-activation mode: copy every flow step's input into `saved`.
    pub(crate) save_inputs: bool,
    pub(crate) saved: Vec<BufId>,
    /// Training with the coupling nets kept: every step's `NetTrace` from the forward pass, by
    /// step prefix, for the backward pass to take instead of recomputing the net.
    pub(crate) keep_nets: bool,
    pub(crate) nets: BTreeMap<String, NetTrace>,
}

fn u(v: usize) -> u32 {
    v as u32
}

/// The squeeze between level `s` and the next level `nx`: the kept half `z1` (channels [0, c1) of
/// `s`) <-> the next level's input.
pub(crate) fn split_squeeze(n: usize, s: &LevelShape, nx: &LevelShape) -> SqueezeParams {
    SqueezeParams { n: u(n), h: u(nx.h), w: u(nx.w), c: u(s.c1()), c_total: u(s.c), c_off: 0, _pad: [0; 2] }
}

impl<'a> B<'a> {
    /// A builder for a batch of `n` (`init`: actnorm's data-dependent init graph).
    pub(crate) fn new(cfg: &'a GlowConfig, n: usize, init: bool) -> Self {
        B {
            cfg,
            g: Graph { batch: n, ..Default::default() },
            n,
            init,
            save_inputs: false,
            saved: Vec::new(),
            keep_nets: false,
            nets: BTreeMap::new(),
        }
    }

    /// An actnorm's params and parameter names.
    pub(crate) fn actnorm(name: &str, pixels: usize, c: usize, relu: bool) -> (ActNormParams, String, String) {
        (
            ActNormParams { pixels: u(pixels), c: u(c), relu: relu as u32, _pad: 0 },
            format!("{name}.bias"),
            format!("{name}.logs"),
        )
    }

    /// conv (no bias) -> actnorm -> ReLU; fused into the conv's epilogue except during init.
    pub(crate) fn conv_actnorm_relu(&mut self, x: BufId, y: BufId, w: String, an: &str, mut p: ConvParams) {
        let (ap, bias, logs) = Self::actnorm(an, p.pixels(), p.cout as usize, true);
        if self.init {
            self.g.push(Conv2d { x, y, weight: w, bias: None, logs: None, p });
            self.g.push(ActNormInit { x: y, bias: bias.clone(), logs: logs.clone(), p: ap });
            self.g.push(ActNorm { x: y, bias, logs, reverse: false, p: ap });
        } else {
            p.epilogue = 1;
            p.relu = 1;
            self.g.push(Conv2d { x, y, weight: w, bias: Some(bias), logs: Some(logs), p });
        }
    }

    /// `conv2d_zeros`: conv + bias, scaled by exp(3·logs).
    pub(crate) fn conv_zeros(&mut self, x: BufId, y: BufId, name: &str, mut p: ConvParams) {
        p.epilogue = 1;
        self.g.push(Conv2d {
            x,
            y,
            weight: format!("{name}.w"),
            bias: Some(format!("{name}.bias")),
            logs: Some(format!("{name}.logs")),
            p,
        });
    }

    /// One flow step forward: its layers in order, each adding its logdet to `logdet` `[n]`.
    pub(crate) fn step_forward(&mut self, site: &Site, mut x: BufId, logdet: BufId) -> BufId {
        if self.save_inputs {
            let len = self.n * site.s.pixels() * site.s.c;
            let saved = self.g.buf(site.name("saved"), len);
            self.g.push(crate::ops::copy::Copy::new(x, saved, len));
            self.saved.push(saved);
        }
        for layer in step_layers(self.cfg) {
            x = layer.forward(self, site, x, logdet);
        }
        x
    }

    /// One flow step inverted: its layers in reverse order.
    pub(crate) fn step_inverse(&mut self, site: &Site, mut x: BufId) -> BufId {
        for layer in step_layers(self.cfg).into_iter().rev() {
            x = layer.inverse(self, site, x);
        }
        x
    }

    /// Split prior `h` [n, pixels, 2·c2] from the kept half (channels [0, c1) of `x`).
    pub(crate) fn split_prior_h(&mut self, l: usize, s: &LevelShape, x: BufId) -> BufId {
        let h = self.g.buf(format!("l{l}.prior.h"), self.n * s.pixels() * 2 * s.c2());
        let mut p = ConvParams::new(self.n, s.h, s.w, s.c1(), 2 * s.c2(), 3, true);
        p.cin_stride = u(s.c);
        self.conv_zeros(x, h, &format!("l{l}.prior"), p);
        h
    }

    /// Top prior: `h` [pixels, 2C] shared by the batch, plus the class embedding [n, 2C].
    pub(crate) fn top_prior_h(&mut self, s: &LevelShape) -> (BufId, Option<BufId>, Option<BufId>) {
        let c2 = 2 * s.c;
        let h = if self.cfg.learn_top {
            let h = self.g.buf("top.h", s.pixels() * c2);
            // a conv over a zero input: only the edge channel contributes
            self.conv_zeros(h, h, "top.prior", ConvParams::new(1, s.h, s.w, 0, c2, 3, true));
            h
        } else {
            self.g.zeroed("top.h", s.pixels() * c2)
        };
        if self.cfg.n_classes == 0 {
            return (h, None, None);
        }
        let nc = self.cfg.n_classes;
        let labels = self.g.io("labels", self.n * nc, DType::F32);
        let v = self.g.buf("top.y_emb", self.n * c2);
        self.conv_zeros(labels, v, "top.y_emb", ConvParams::new(self.n, 1, 1, nc, c2, 1, false));
        (h, Some(v), Some(labels))
    }

    pub(crate) fn top_prior_params(&self, s: &LevelShape, has_vec: bool) -> PriorParams {
        PriorParams {
            n: u(self.n),
            pixels: u(s.pixels()),
            cz: u(s.c),
            z_stride: u(s.c),
            z_off: 0,
            interleaved: 0,
            h_batched: 0,
            has_vec: has_vec as u32,
        }
    }

    pub(crate) fn split_prior_params(&self, s: &LevelShape) -> PriorParams {
        PriorParams {
            n: u(self.n),
            pixels: u(s.pixels()),
            cz: u(s.c2()),
            z_stride: u(s.c),
            z_off: u(s.c1()),
            interleaved: 1,
            h_batched: 1,
            has_vec: 0,
        }
    }

    pub(crate) fn quant_params(&self) -> QuantParams {
        QuantParams {
            len: u(self.n * self.cfg.dims()),
            shift: 8 - self.cfg.n_bits,
            n_bins: self.cfg.n_bins() as f32,
            noise: 0,
            stream: 1,
            base: 0,
            _pad: [0; 2],
        }
    }
}

/// Encode graph for a batch of `n`. With `init`, every actnorm first sets its parameters from
/// the data it sees (data-dependent init, in one pass on the device).
pub fn encode_graph(cfg: &GlowConfig, n: usize, input: EncodeInput, init: bool) -> (Graph, EncodeIo) {
    let mut b = B::new(cfg, n, init);
    let io = b.encode_into(input);
    (b.g, io)
}

impl B<'_> {
    /// Pushes the encoder's ops.
    pub(crate) fn encode_into(&mut self, input: EncodeInput) -> EncodeIo {
        let b = self;
        let (cfg, n) = (b.cfg, b.n);
        let d = cfg.dims();
        let shapes = cfg.level_shapes();
        let (input_buf, x0) = match input {
            EncodeInput::Image { noise } => {
                let img = b.g.io("image", n * d, DType::U8);
                let x0 = b.g.buf("x", n * d);
                let mut p = b.quant_params();
                p.noise = noise as u32;
                b.g.push(Quantize { img, x: x0, p });
                (img, x0)
            }
            EncodeInput::Float => {
                let x0 = b.g.io("x", n * d, DType::F32);
                (x0, x0)
            }
        };
        let logdet = b.g.zeroed("logdet", n);
        let logp = b.g.zeroed("logp", n);
        let s0 = shapes[0];
        let mut x = b.g.buf("l0.in", n * s0.pixels() * s0.c);
        let ci = u(cfg.image_channels);
        let sp = SqueezeParams { n: u(n), h: u(s0.h), w: u(s0.w), c: ci, c_total: ci, c_off: 0, _pad: [0; 2] };
        b.g.push(Squeeze { wide: x0, narrow: x, reverse: false, p: sp });
        let mut eps = Vec::new();
        let (mut labels, mut logits) = (None, None);
        let (mut level_out, mut prior_h, mut top, mut top_mean) = (Vec::new(), Vec::new(), None, None);
        for (l, s) in shapes.iter().enumerate() {
            for k in 0..cfg.depth {
                x = b.step_forward(&Site::new(l, k, *s), x, logdet);
            }
            level_out.push(x);
            let rp = |len: usize| ReduceParams { n: u(n), len: u(len), scale: 1.0, c: 0 };
            if l + 1 < shapes.len() {
                let h = b.split_prior_h(l, s, x);
                prior_h.push(h);
                let e = b.g.io(format!("eps{l}"), n * s.pixels() * s.c2(), DType::F32);
                let lp = b.g.buf(format!("l{l}.lp"), n * s.pixels() * s.c2());
                let p = b.split_prior_params(s);
                b.g.push(Prior { z: x, h, v: None, eps: e, lp: Some(lp), reverse: false, p });
                b.g.push(ReduceImage { src: lp, acc: logp, p: rp(s.pixels() * s.c2()) });
                eps.push(e);
                let nx = shapes[l + 1];
                let xn = b.g.buf(format!("l{}.in", l + 1), n * nx.pixels() * nx.c);
                let sp = split_squeeze(n, s, &nx);
                b.g.push(Squeeze { wide: x, narrow: xn, reverse: false, p: sp });
                x = xn;
            } else {
                let (h, v, lab) = b.top_prior_h(s);
                labels = lab;
                top = Some((h, v));
                let e = b.g.io("eps_top", n * s.pixels() * s.c, DType::F32);
                let lp = b.g.buf("top.lp", n * s.pixels() * s.c);
                let p = b.top_prior_params(s, v.is_some());
                b.g.push(Prior { z: x, h, v, eps: e, lp: Some(lp), reverse: false, p });
                b.g.push(ReduceImage { src: lp, acc: logp, p: rp(s.pixels() * s.c) });
                eps.push(e);
                if cfg.n_classes > 0 {
                    let zm = b.g.buf("top.mean", n * s.c);
                    top_mean = Some(zm);
                    b.g.push(MeanHw {
                        x,
                        y: zm,
                        p: ReduceParams { n: u(n), len: u(s.pixels()), scale: 1.0, c: u(s.c) },
                    });
                    let lg = b.g.io("logits", n * cfg.n_classes, DType::F32);
                    b.conv_zeros(zm, lg, "classifier", ConvParams::new(n, 1, 1, s.c, cfg.n_classes, 1, false));
                    logits = Some(lg);
                }
            }
        }
        let (top_h, top_v) = top.expect("a model has a top level");
        EncodeIo { input: input_buf, labels, logdet, logp, eps, logits, level_out, prior_h, top_h, top_v, top_mean }
    }
}

/// Decode graph for a batch of `n`; with `sample`, the latents are N(0, T²) noise drawn on the
/// device (stream 100 + level) instead of inputs.
pub fn decode_graph(cfg: &GlowConfig, n: usize, sample: bool) -> (Graph, DecodeIo) {
    let mut b = B::new(cfg, n, false);
    let shapes = cfg.level_shapes();
    let nl = shapes.len();
    let eps: Vec<BufId> = shapes
        .iter()
        .enumerate()
        .map(|(l, s)| {
            let len = n * s.pixels() * if l + 1 < nl { s.c2() } else { s.c };
            let name = if l + 1 < nl { format!("eps{l}") } else { "eps_top".into() };
            if sample {
                let e = b.g.buf(name, len);
                b.g.push(Gaussian { y: e, p: NoiseParams { len: u(len), stream: 100 + u(l), _pad: [0; 2] } });
                e
            } else {
                b.g.io(name, len, DType::F32)
            }
        })
        .collect();
    let st = shapes[nl - 1];
    let (h, v, labels) = b.top_prior_h(&st);
    let mut x = b.g.buf(format!("l{}.out", nl - 1), n * st.pixels() * st.c);
    let p = b.top_prior_params(&st, v.is_some());
    b.g.push(Prior { z: x, h, v, eps: eps[nl - 1], lp: None, reverse: true, p });
    for l in (0..nl).rev() {
        let s = shapes[l];
        if l + 1 < nl {
            let nx = shapes[l + 1];
            let xl = b.g.buf(format!("l{l}.out"), n * s.pixels() * s.c);
            let sp = split_squeeze(n, &s, &nx);
            b.g.push(Squeeze { wide: xl, narrow: x, reverse: true, p: sp });
            let h = b.split_prior_h(l, &s, xl);
            let p = b.split_prior_params(&s);
            b.g.push(Prior { z: xl, h, v: None, eps: eps[l], lp: None, reverse: true, p });
            x = xl;
        }
        for k in (0..cfg.depth).rev() {
            x = b.step_inverse(&Site::new(l, k, s), x);
        }
    }
    let d = cfg.dims();
    let xo = b.g.io("x_out", n * d, DType::F32);
    let s0 = shapes[0];
    let ci = u(cfg.image_channels);
    let sp = SqueezeParams { n: u(n), h: u(s0.h), w: u(s0.w), c: ci, c_total: ci, c_off: 0, _pad: [0; 2] };
    b.g.push(Squeeze { wide: xo, narrow: x, reverse: true, p: sp });
    let image = b.g.io("image_out", n * d, DType::U8);
    let p = b.quant_params();
    b.g.push(Dequantize { x: xo, img: image, p });
    (b.g, DecodeIo { eps, labels, x: xo, image })
}

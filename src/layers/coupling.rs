//! The affine (or additive) coupling layer: `z1, z2 = split(x)`, `h = NN(z1)`, affine
//! `z2 = (z2 + shift)·sigmoid(raw + 2)` (official `flow_coupling = 1`; log|det| per image the sum
//! of `log sigmoid`), additive `z2 = z2 + h` (volume preserving). `NN` is the official net:
//! conv3x3 → actnorm → ReLU → conv1x1 → actnorm → ReLU → zero conv3x3 (edge-bias padding).
//!
//! Training: with `B::keep_nets` the forward pass leaves the net's activations in `B::nets` for
//! the backward pass; otherwise the backward pass recomputes them from `z1` (which the coupling
//! leaves unchanged).
use super::{Init, Kind, Layer, Packed, Site, Spec};
use crate::config::{GlowConfig, LevelShape};
use crate::flow::B;
use crate::graph::BufId;
use crate::ops::conv2d::ConvParams;
use crate::ops::coupling::{Coupling, CouplingBackward, CouplingBackwardParams, CouplingParams};
use crate::ops::reduce::{ReduceImage, ReduceParams};

pub(crate) struct CouplingLayer {
    pub affine: bool,
}

/// The coupling net's activations (post-ReLU `h1`, `h2`, output `h`) and conv geometry.
#[derive(Clone, Copy)]
pub(crate) struct NetTrace {
    pub(crate) h1: BufId,
    pub(crate) h2: BufId,
    pub(crate) h: BufId,
    pub(crate) p: [ConvParams; 3],
}

impl CouplingLayer {
    /// Output channels of the net: shift and scale (affine) or shift (additive) of `z2`.
    pub(crate) fn out_c(&self, s: &LevelShape) -> usize {
        if self.affine {
            2 * s.c2()
        } else {
            s.c2()
        }
    }

    fn params(b: &B, s: &LevelShape) -> CouplingParams {
        let u = |v: usize| v as u32;
        CouplingParams { pixels: u(b.n * s.pixels()), c: u(s.c), c1: u(s.c1()), c2: u(s.c2()) }
    }

    /// The net `NN(z1)`, reading channels [0, c1) of `x` in place, with its activations.
    fn net(&self, b: &mut B, site: &Site, x: BufId) -> NetTrace {
        let (n, hid, s) = (b.n, b.cfg.hidden, site.s);
        let pixels = n * s.pixels();
        let out_c = self.out_c(&s);
        let h1 = b.g.buf(site.name("h1"), pixels * hid);
        let mut p1 = ConvParams::new(n, s.h, s.w, s.c1(), hid, 3, true);
        p1.cin_stride = s.c as u32;
        b.conv_actnorm_relu(x, h1, site.name("coupling.conv1.w"), &site.name("coupling.an1"), p1);
        let h2 = b.g.buf(site.name("h2"), pixels * hid);
        let p2 = ConvParams::new(n, s.h, s.w, hid, hid, 1, false);
        b.conv_actnorm_relu(h1, h2, site.name("coupling.conv2.w"), &site.name("coupling.an2"), p2);
        let h = b.g.buf(site.name("h"), pixels * out_c);
        let p3 = ConvParams::new(n, s.h, s.w, hid, out_c, 3, true);
        b.conv_zeros(h2, h, &site.name("coupling.conv3"), p3);
        NetTrace { h1, h2, h, p: [p1, p2, p3] }
    }
}

impl Layer for CouplingLayer {
    /// `{pre}.coupling.conv1.w` `[3, 3, C/2 + 1, hidden]`, `.an1.{bias,logs}` `[hidden]`,
    /// `.conv2.w` `[1, 1, hidden, hidden]`, `.an2.{bias,logs}` `[hidden]`, `.conv3.w`
    /// `[3, 3, hidden + 1, out]`, `.conv3.{bias,logs}` `[out]` (out = 2·C2 affine, C2 additive).
    fn specs(&self, cfg: &GlowConfig, site: &Site) -> Vec<Spec> {
        let (h, s) = (cfg.hidden, site.s);
        let out = self.out_c(&s);
        let sp =
            |n: &str, shape: Vec<usize>, init, kind| Spec::new(site.name(&format!("coupling.{n}")), shape, init, kind);
        let t = Kind::Trainable;
        vec![
            sp("conv1.w", vec![3, 3, s.c1() + 1, h], Init::Normal(0.05), t),
            sp("an1.bias", vec![h], Init::Zeros, Kind::ActNorm),
            sp("an1.logs", vec![h], Init::Zeros, Kind::ActNorm),
            sp("conv2.w", vec![1, 1, h, h], Init::Normal(0.05), t),
            sp("an2.bias", vec![h], Init::Zeros, Kind::ActNorm),
            sp("an2.logs", vec![h], Init::Zeros, Kind::ActNorm),
            sp("conv3.w", vec![3, 3, h + 1, out], Init::Zeros, t),
            sp("conv3.bias", vec![out], Init::Zeros, t),
            sp("conv3.logs", vec![out], Init::Zeros, t),
        ]
    }

    fn packed(&self, cfg: &GlowConfig, site: &Site) -> Vec<Packed> {
        let (hid, s) = (cfg.hidden, site.s);
        let w = |i: u32| site.name(&format!("coupling.conv{i}.w"));
        [
            (w(1), ConvParams::new(1, 1, 1, s.c1(), hid, 3, true)),
            (w(2), ConvParams::new(1, 1, 1, hid, hid, 1, false)),
            (w(3), ConvParams::new(1, 1, 1, hid, self.out_c(&s), 3, true)),
        ]
        .map(|(weight, p)| Packed { weight, p, transposed: true })
        .into()
    }

    fn forward(&self, b: &mut B, site: &Site, x: BufId, logdet: BufId) -> BufId {
        let net = self.net(b, site, x);
        if b.keep_nets {
            b.nets.insert(site.pre.clone(), net);
        }
        let (n, s) = (b.n, site.s);
        let ls = self.affine.then(|| b.g.buf(site.name("logscale"), n * s.pixels() * s.c2()));
        b.g.push(Coupling { x, h: net.h, ls, affine: self.affine, reverse: false, p: Self::params(b, &s) });
        if let Some(ls) = ls {
            let p = ReduceParams { n: n as u32, len: (s.pixels() * s.c2()) as u32, scale: 1.0, c: 0 };
            b.g.push(ReduceImage { src: ls, acc: logdet, p });
        }
        x
    }

    fn inverse(&self, b: &mut B, site: &Site, y: BufId) -> BufId {
        let h = self.net(b, site, y).h;
        b.g.push(Coupling { x: y, h, ls: None, affine: self.affine, reverse: true, p: Self::params(b, &site.s) });
        y
    }

    fn backward(&self, b: &mut B, site: &Site, y: BufId, dy: BufId, g: f64) -> (BufId, BufId) {
        let (n, s, hid) = (b.n, site.s, b.cfg.hidden);
        let hw = s.pixels();
        // kept from the forward pass (or a stored-mode recomputation), else recomputed from z1
        let net = match b.nets.remove(&site.pre) {
            Some(net) => net,
            None => self.net(b, site, y),
        };
        let NetTrace { h1, h2, h, p: [mut p1, mut p2, mut p3] } = net;
        // the geometry of the fused convs, for their backward (epilogue = actnorm / zero-conv scale)
        (p1.epilogue, p1.relu, p2.epilogue, p2.relu, p3.epilogue) = (1, 1, 1, 1, 1);
        let dh = b.g.buf(site.name("bdh"), n * hw * self.out_c(&s));
        let cp = CouplingBackwardParams { cp: Self::params(b, &s), ld_scale: g as f32, _pad: [0; 3] };
        b.g.push(CouplingBackward { y, h, dy, dh, affine: self.affine, p: cp });
        // back through the net: conv3 (zero conv), ReLU·actnorm·conv2, ReLU·actnorm·conv1
        let names = |i: u32| {
            let (conv, an) =
                (format!("coupling.conv{i}"), if i == 3 { "coupling.conv3".into() } else { format!("coupling.an{i}") });
            (site.name(&format!("{conv}.w")), site.name(&format!("{an}.bias")), site.name(&format!("{an}.logs")))
        };
        let hidu = hid as u32;
        let dh2 = b.g.buf(site.name("bdh2"), n * hw * hid);
        let (w, bias, logs) = names(3);
        b.conv_backward(h2, h, dh, &w, &bias, &logs, p3, false, Some((dh2, false, hidu, 0)));
        let dh1 = b.g.buf(site.name("bdh1"), n * hw * hid);
        let (w, bias, logs) = names(2);
        b.conv_backward(h1, h2, dh2, &w, &bias, &logs, p2, true, Some((dh1, false, hidu, 0)));
        let (w, bias, logs) = names(1);
        b.conv_backward(y, h1, dh1, &w, &bias, &logs, p1, true, Some((dy, true, s.c as u32, 0)));
        (y, dy)
    }
}

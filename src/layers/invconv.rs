//! The invertible 1x1 convolution `y = x·W` (paper section 3.2): a free `W` initialised as a
//! random rotation, or its LU parametrisation `W = P·L·(U + diag(sign_s·exp(log_s)))` (`lu`).
//! log|det| per image `H·W·log|det W|` (`Σ log_s` for LU). Derived tensors (host f64 here, on
//! the device every training step by `ops::invconv::InvconvPrepare`):
//! `derived.{pre}.invconv.{w, w_inv, logabsdet}`.
use std::collections::BTreeMap;

use super::{conv1x1, conv1x1_backward, packed_1x1, Derived, Init, Kind, Layer, Packed, Site, Spec};
use crate::config::GlowConfig;
use crate::flow::B;
use crate::graph::BufId;
use crate::linalg::Mat;
use crate::ops::invconv::{push_lu_grad, InvconvLogdetGrad, InvconvPrepare};
use crate::ops::reduce::{ParamSum, ReduceParams};
use crate::params::{lu_compose, lu_factors, mat_tensor, tensor_mat, Params, Tensor};
use crate::rng::HostRng;

pub(crate) struct Invconv {
    pub lu: bool,
}

impl Invconv {
    /// The weight the forward conv reads.
    fn w(&self, site: &Site) -> String {
        if self.lu {
            site.derived("invconv.w")
        } else {
            site.name("invconv.w")
        }
    }
}

impl Layer for Invconv {
    /// `{pre}.invconv.w` `[C, C]`, or for LU `.invconv.p` `[C, C]` (frozen), `.sign_s` `[C]`
    /// (frozen), `.log_s` `[C]`, `.lower`, `.upper` `[C, C]`.
    fn specs(&self, _cfg: &GlowConfig, site: &Site) -> Vec<Spec> {
        let c = site.s.c;
        let spec =
            |n: &str, shape: Vec<usize>, kind| Spec::new(site.name(&format!("invconv.{n}")), shape, Init::Layer, kind);
        if !self.lu {
            return vec![spec("w", vec![c, c], Kind::Trainable)];
        }
        vec![
            spec("p", vec![c, c], Kind::Frozen),
            spec("sign_s", vec![c], Kind::Frozen),
            spec("log_s", vec![c], Kind::Trainable),
            spec("lower", vec![c, c], Kind::Trainable),
            spec("upper", vec![c, c], Kind::Trainable),
        ]
    }

    /// A random rotation (QR of a Gaussian matrix), or its LU factors.
    fn init(&self, _cfg: &GlowConfig, site: &Site, rng: &mut HostRng, out: &mut BTreeMap<String, Tensor>) {
        let c = site.s.c;
        let mut g = Mat::zeros(c);
        g.a.iter_mut().for_each(|v| *v = rng.normal());
        let w = g.qr_q();
        if !self.lu {
            out.insert(site.name("invconv.w"), mat_tensor(&w));
            return;
        }
        for (n, v) in lu_factors(&w) {
            out.insert(site.name(&format!("invconv.{n}")), v);
        }
    }

    fn derived(&self, _cfg: &GlowConfig, site: &Site, params: &Params, out: &mut Derived) {
        let c = site.s.c;
        let w =
            if self.lu { lu_compose(params, &site.pre, c) } else { tensor_mat(params.get(&site.name("invconv.w"))) };
        out.insert(site.derived("invconv.logabsdet"), (vec![1], vec![w.logabsdet()]));
        out.insert(site.derived("invconv.w_inv"), (vec![c, c], w.inverse().a));
        out.insert(site.derived("invconv.w"), (vec![c, c], w.a));
    }

    fn prepare(&self, b: &mut B, site: &Site) {
        let c = site.s.c;
        if self.lu {
            b.g.push(InvconvPrepare::lu(&site.pre, c));
        } else {
            let scratch = b.g.buf(site.name("gj"), InvconvPrepare::scratch_len(c));
            b.g.push(InvconvPrepare::plain(&site.pre, c, scratch));
        }
    }

    fn packed(&self, _cfg: &GlowConfig, site: &Site) -> Vec<Packed> {
        packed_1x1(site, self.w(site), site.derived("invconv.w_inv"))
    }

    /// LU: the gradient of the composed W, turned into the factors' gradients by `push_lu_grad`.
    fn grad_scratch(&self, site: &Site) -> Vec<(String, Vec<usize>)> {
        if self.lu {
            vec![(format!("grad.{}", site.name("invconv.w")), vec![site.s.c, site.s.c])]
        } else {
            Vec::new()
        }
    }

    fn forward(&self, b: &mut B, site: &Site, x: BufId, logdet: BufId) -> BufId {
        let (n, hw, c) = (b.n as u32, site.s.pixels(), site.s.c);
        let y = conv1x1(b, site, x, self.w(site));
        let (param, len) =
            if self.lu { (site.name("invconv.log_s"), c) } else { (site.derived("invconv.logabsdet"), 1) };
        b.g.push(ParamSum { param, acc: logdet, p: ReduceParams { n, len: len as u32, scale: hw as f32, c: 0 } });
        y
    }

    fn inverse(&self, b: &mut B, site: &Site, y: BufId) -> BufId {
        conv1x1(b, site, y, site.derived("invconv.w_inv"))
    }

    fn backward(&self, b: &mut B, site: &Site, y: BufId, dy: BufId, g: f64) -> (BufId, BufId) {
        let (n, hw, c) = (b.n, site.s.pixels(), site.s.c);
        // grad.{pre}.invconv.w += xᵀ·dy (for LU the scratch gradient of the composed W)
        let w_inv = site.derived("invconv.w_inv");
        let (x, dx) = conv1x1_backward(b, site, y, dy, self.w(site), w_inv, &site.name("invconv.w"));
        let ld = n as f64 * g * hw as f64;
        if self.lu {
            push_lu_grad(&mut b.g, &site.pre, c, ld);
        } else {
            b.g.push(InvconvLogdetGrad::new(&site.pre, c, ld));
        }
        (x, dx)
    }
}

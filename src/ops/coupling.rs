//! Coupling update of `z2 = x[..., c1..c]` given the net output `h` (computed from `z1`), in place.
//! - affine: `shift = h[..., 0::2]`, `scale = sigmoid(h[..., 1::2] + 2)`, `z2 = (z2 + shift)·scale`;
//!   inverse `z2 = z2/scale - shift`; forward writes `log scale` per element to `ls` for the logdet
//!   (summed per image by `reduce::ReduceImage`).
//! - additive: `z2 = z2 + h`, inverse `z2 = z2 - h`; logdet 0.
//!
//! Shader: `shaders/coupling.wgsl`
//! (`affine_forward`, `affine_inverse`, `additive_forward`, `additive_inverse`).
use bytemuck::{Pod, Zeroable};

use super::{groups, uniform, CpuCtx, Real};
use crate::graph::{Access, Bind, BufId, GpuCall};

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct CouplingParams {
    pub pixels: u32,
    pub c: u32,
    pub c1: u32,
    pub c2: u32,
}

#[derive(Clone, Debug)]
pub struct Coupling {
    pub x: BufId,
    pub h: BufId,
    /// Per-element log scale [pixels, c2] (affine forward only).
    pub ls: Option<BufId>,
    pub affine: bool,
    pub reverse: bool,
    pub p: CouplingParams,
}

/// `log(sigmoid(a))` computed without overflow.
pub fn log_sigmoid(a: f64) -> f64 {
    -((-a.abs()).exp().ln_1p() + (-a).max(0.0))
}

impl Coupling {
    pub fn gpu(&self) -> GpuCall {
        let entry = match (self.affine, self.reverse) {
            (true, false) => "affine_forward",
            (true, true) => "affine_inverse",
            (false, false) => "additive_forward",
            (false, true) => "additive_inverse",
        };
        let mut binds = vec![Bind::Buf(self.x, Access::ReadWrite), Bind::Buf(self.h, Access::Read)];
        if self.affine && !self.reverse {
            binds.push(Bind::Buf(self.ls.expect("affine forward writes log scales"), Access::ReadWrite));
        }
        GpuCall {
            shader: "coupling",
            entry,
            uniform: uniform(&self.p),
            base: 1,
            binds,
            workgroups: groups((self.p.pixels * self.p.c2) as usize, 64),
        }
    }
    pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) {
        let p = self.p;
        let (c, c1, c2) = (p.c as usize, p.c1 as usize, p.c2 as usize);
        let mut x = ctx.take(self.x);
        let mut ls = self.ls.filter(|_| self.affine && !self.reverse).map(|b| ctx.take(b));
        let h = ctx.get(self.h);
        let two = T::f(2.0);
        for px in 0..p.pixels as usize {
            for j in 0..c2 {
                let xi = px * c + c1 + j;
                if self.affine {
                    let shift = h[px * 2 * c2 + 2 * j];
                    let a = h[px * 2 * c2 + 2 * j + 1] + two;
                    let scale = T::one() / (T::one() + (-a).exp());
                    if self.reverse {
                        x[xi] = x[xi] / scale - shift;
                    } else {
                        x[xi] = (x[xi] + shift) * scale;
                        if let Some(ls) = ls.as_mut() {
                            ls[px * c2 + j] = T::f(log_sigmoid(a.to64()));
                        }
                    }
                } else {
                    let s = h[px * c2 + j];
                    x[xi] = if self.reverse { x[xi] - s } else { x[xi] + s };
                }
            }
        }
        ctx.put(self.x, x);
        if let (Some(b), Some(v)) = (self.ls, ls) {
            ctx.put(b, v);
        }
    }
}

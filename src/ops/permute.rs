//! Fixed channel permutation (`shuffle` and `reverse`): forward `y[p, c] = x[p, perm[c]]`,
//! inverse `x[p, perm[c]] = y[p, c]`. `perm` is a parameter holding indices as floats (exact
//! below 2^24). No logdet (a permutation has |det| = 1).
//!
//! Shader: `shaders/permute.wgsl` (`forward`, `inverse`).
use bytemuck::{Pod, Zeroable};

use super::{groups, uniform, CpuCtx, Real};
use crate::ir::{Access, Bind, BufId, GpuCall, GpuCaps, Layout};

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct PermuteParams {
    pub pixels: u32,
    pub c: u32,
    pub _pad: [u32; 2],
}

#[derive(Clone, Debug)]
pub struct Permute {
    pub x: BufId,
    pub y: BufId,
    pub perm: String,
    pub reverse: bool,
    pub p: PermuteParams,
}

impl Permute {
    pub fn gpu(&self, _caps: GpuCaps) -> GpuCall {
        GpuCall {
            shader: "permute",
            entry: if self.reverse { "inverse" } else { "forward" },
            defines: &[],
            uniform: uniform(&self.p),
            binds: vec![
                Bind::Buf(self.x, Access::Read),
                Bind::Param(self.perm.clone(), Layout::Plain, Access::Read),
                Bind::Buf(self.y, Access::ReadWrite),
            ],
            workgroups: groups((self.p.pixels * self.p.c) as usize, 64),
        }
    }
    pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) {
        let c = self.p.c as usize;
        let perm: Vec<usize> = ctx.param(&self.perm).iter().map(|v| v.to64() as usize).collect();
        let mut y = ctx.take(self.y);
        let x = ctx.get(self.x);
        for px in 0..self.p.pixels as usize {
            for (k, &pk) in perm.iter().enumerate() {
                if self.reverse {
                    y[px * c + pk] = x[px * c + k];
                } else {
                    y[px * c + k] = x[px * c + pk];
                }
            }
        }
        ctx.put(self.y, y);
    }
}

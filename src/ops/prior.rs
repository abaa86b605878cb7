//! Diagonal Gaussian prior with mean and log-std from `h` (the split prior's conv output, or the
//! top prior's learned / class-conditional tensor).
//! - forward: `eps = (z - mean)·exp(-logs)` (the standardised latent the demo stores) and
//!   per-element `log p = -0.5·(log 2π + 2·logs + eps²)` into `lp` (summed by `ReduceImage`);
//! - inverse: `z = mean + exp(logs)·eps`.
//!
//! `z` is a channel slice `[z_off, z_off + cz)` of a tensor with `z_stride` channels. `h` holds
//! `2·cz` channels: interleaved `mean = h[0::2], logs = h[1::2]` (split prior) or halves
//! `mean = h[:cz], logs = h[cz:]` (top prior); it is per image or shared by the batch
//! (`h_batched = 0`), plus an optional per-image vector `v` [n, 2cz] (class embedding).
//!
//! Shader: `shaders/prior.wgsl` (`forward`, `inverse`).
use bytemuck::{Pod, Zeroable};

use super::{groups, uniform, CpuCtx, Real};
use crate::graph::{Access, Bind, BufId, GpuCall};

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct PriorParams {
    pub n: u32,
    /// h·w of the level.
    pub pixels: u32,
    pub cz: u32,
    pub z_stride: u32,
    pub z_off: u32,
    pub interleaved: u32,
    pub h_batched: u32,
    pub has_vec: u32,
}

impl PriorParams {
    pub fn elements(&self) -> usize {
        (self.n * self.pixels * self.cz) as usize
    }
    /// (z index, mean index in h, logs index in h) of element `i` of [n, pixels, cz].
    fn idx(&self, i: usize) -> (usize, usize, usize) {
        let cz = self.cz as usize;
        let (j, px) = (i % cz, i / cz);
        let pp = px % self.pixels as usize;
        let zi = px * self.z_stride as usize + self.z_off as usize + j;
        let hp = if self.h_batched == 1 { px } else { pp };
        let (mi, li) = if self.interleaved == 1 { (2 * j, 2 * j + 1) } else { (j, cz + j) };
        (zi, hp * 2 * cz + mi, hp * 2 * cz + li)
    }
    fn vec_idx(&self, i: usize) -> (usize, usize) {
        let cz = self.cz as usize;
        let (j, n) = (i % cz, i / cz / self.pixels as usize);
        if self.interleaved == 1 {
            (n * 2 * cz + 2 * j, n * 2 * cz + 2 * j + 1)
        } else {
            (n * 2 * cz + j, n * 2 * cz + cz + j)
        }
    }
}

#[derive(Clone, Debug)]
pub struct Prior {
    pub z: BufId,
    pub h: BufId,
    pub v: Option<BufId>,
    pub eps: BufId,
    /// Per-element log density (forward only).
    pub lp: Option<BufId>,
    pub reverse: bool,
    pub p: PriorParams,
}

pub const HALF_LOG_2PI: f64 = 0.918_938_533_204_672_8;

impl Prior {
    pub fn gpu(&self) -> GpuCall {
        let v = match self.v {
            Some(b) => Bind::Buf(b, Access::Read),
            None => Bind::Dummy,
        };
        let (entry, base, binds) = if self.reverse {
            (
                "inverse",
                6,
                vec![
                    Bind::Buf(self.eps, Access::Read),
                    Bind::Buf(self.h, Access::Read),
                    v,
                    Bind::Buf(self.z, Access::ReadWrite),
                ],
            )
        } else {
            (
                "forward",
                1,
                vec![
                    Bind::Buf(self.z, Access::Read),
                    Bind::Buf(self.h, Access::Read),
                    v,
                    Bind::Buf(self.eps, Access::ReadWrite),
                    Bind::Buf(self.lp.expect("prior forward writes log p"), Access::ReadWrite),
                ],
            )
        };
        GpuCall {
            shader: "prior",
            entry,
            uniform: uniform(&self.p),
            base,
            binds,
            workgroups: groups(self.p.elements(), 64),
        }
    }

    pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) {
        let p = self.p;
        let out_id = if self.reverse { self.z } else { self.eps };
        let mut out = ctx.take(out_id);
        let mut lp = if self.reverse { None } else { self.lp.map(|b| ctx.take(b)) };
        let h = ctx.get(self.h);
        let v = self.v.map(|b| ctx.get(b));
        for i in 0..p.elements() {
            let (zi, mi, li) = p.idx(i);
            let (mut mean, mut logs) = (h[mi], h[li]);
            if let Some(v) = v {
                let (vm, vl) = p.vec_idx(i);
                mean = mean + v[vm];
                logs = logs + v[vl];
            }
            if self.reverse {
                let e = ctx.get(self.eps)[i];
                out[zi] = mean + logs.exp() * e;
            } else {
                let e = (ctx.get(self.z)[zi] - mean) * (-logs).exp();
                out[i] = e;
                if let Some(lp) = lp.as_mut() {
                    lp[i] = T::f(-HALF_LOG_2PI) - logs - T::f(0.5) * e * e;
                }
            }
        }
        ctx.put(out_id, out);
        if let (Some(b), Some(l)) = (self.lp, lp) {
            ctx.put(b, l);
        }
    }
}

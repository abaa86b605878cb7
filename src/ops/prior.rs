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
//! Backward (`PriorBackward`, docs/backward.md): with the loss coefficient `g = ld_scale` of each
//! image's `Σ log p`, per element `dz = -g·eps·exp(-logs)`, `dmean = g·eps·exp(-logs)`,
//! `dlogs = g·(eps² - 1)`:
//! - `dz` is SET in the channel slice `[z_off, z_off + cz)` of a gradient tensor laid out like `z`
//!   (other channels untouched);
//! - `dh` (shaped like `h`) is SET: per image when `h_batched = 1`, else summed over the batch
//!   (each invocation loops over the images, no atomics);
//! - `dv` [n, 2cz] (only with `v`) is SET to the sum over pixels (each invocation loops over them).
//!
//! Shader: `shaders/prior.wgsl` (`forward`, `inverse`, `backward`). Its `struct P` is
//! [`PriorBackwardParams`]; forward and inverse dispatches upload their [`PriorParams`]
//! zero-extended to that size (it is the prefix).
use bytemuck::{Pod, Zeroable};

use super::{groups, uniform, CpuCtx, Real};
use crate::ir::{Access, Bind, BufId, GpuCall, GpuCaps};

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

/// Uniform of every prior dispatch (the shader's `struct P`): the forward params, then the
/// backward-only fields (zero for forward and inverse).
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct PriorBackwardParams {
    pub pp: PriorParams,
    /// Loss coefficient `g` of each image's `Σ log p`.
    pub ld_scale: f32,
    pub _pad: [u32; 3],
}

impl PriorBackwardParams {
    /// Invocations of the backward dispatch: one per element of `h`'s per-image or shared
    /// [rows, cz] (looping over the images when `h` is shared), then one per (image, channel) of
    /// `dv` when there is a vector.
    fn invocations(&self) -> usize {
        let p = &self.pp;
        let rows = if p.h_batched == 1 { p.n * p.pixels } else { p.pixels };
        (rows * p.cz + p.has_vec * p.n * p.cz) as usize
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
    pub fn gpu(&self, _caps: GpuCaps) -> GpuCall {
        let v = match self.v {
            Some(b) => Bind::Buf(b, Access::Read),
            None => Bind::Dummy,
        };
        let (entry, defines, binds): (_, &'static [&'static str], _) = if self.reverse {
            (
                "inverse",
                &["INVERSE"],
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
                &["FORWARD"],
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
            defines,
            uniform: uniform(&PriorBackwardParams { pp: self.p, ..Zeroable::zeroed() }),
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

/// Backward of the prior's `log p` (see the module docs).
#[derive(Clone, Debug)]
pub struct PriorBackward {
    /// The latent (read), channels `[z_off, z_off + cz)` of a `z_stride`-channel tensor.
    pub z: BufId,
    /// Mean / log-std tensor (read): [n, pixels, 2cz] or shared [pixels, 2cz].
    pub h: BufId,
    /// Optional per-image vector [n, 2cz] (read); `has_vec` must match.
    pub v: Option<BufId>,
    /// Gradient w.r.t. `z`, laid out like `z`: the slice is set.
    pub dz: BufId,
    /// Gradient w.r.t. `h`, shaped like `h` (set).
    pub dh: BufId,
    /// Gradient w.r.t. `v` [n, 2cz] (set); required exactly when `v` is given.
    pub dv: Option<BufId>,
    pub p: PriorBackwardParams,
}

impl PriorBackward {
    pub fn gpu(&self, _caps: GpuCaps) -> GpuCall {
        assert_eq!(self.v.is_some(), self.p.pp.has_vec == 1, "prior backward: v and has_vec disagree");
        assert_eq!(self.v.is_some(), self.dv.is_some(), "prior backward: dv is required exactly with v");
        let (v, dv) = match (self.v, self.dv) {
            (Some(v), Some(dv)) => (Bind::Buf(v, Access::Read), Bind::Buf(dv, Access::ReadWrite)),
            // without a vector the dv binding is never accessed: a writable placeholder (dz again)
            _ => (Bind::Dummy, Bind::Buf(self.dz, Access::ReadWrite)),
        };
        GpuCall {
            shader: "prior",
            entry: "backward",
            defines: &["BACKWARD"],
            uniform: uniform(&self.p),
            binds: vec![
                Bind::Buf(self.z, Access::Read),
                Bind::Buf(self.h, Access::Read),
                v,
                Bind::Buf(self.dz, Access::ReadWrite),
                Bind::Buf(self.dh, Access::ReadWrite),
                dv,
            ],
            workgroups: groups(self.p.invocations(), 64),
        }
    }

    pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) {
        let p = self.p.pp;
        assert_eq!(self.v.is_some(), p.has_vec == 1, "prior backward: v and has_vec disagree");
        assert_eq!(self.v.is_some(), self.dv.is_some(), "prior backward: dv is required exactly with v");
        let (n, cz) = (p.n as usize, p.cz as usize);
        let hl = if p.h_batched == 1 { n } else { 1 } * p.pixels as usize * 2 * cz;
        let mut dz = ctx.take(self.dz);
        let mut dh = ctx.take(self.dh);
        let mut dv = self.dv.map(|b| ctx.take(b));
        dh[..hl].iter_mut().for_each(|d| *d = T::zero());
        if let Some(dv) = dv.as_mut() {
            dv[..n * 2 * cz].iter_mut().for_each(|d| *d = T::zero());
        }
        let (z, h) = (ctx.get(self.z), ctx.get(self.h));
        let v = self.v.map(|b| ctx.get(b));
        let g = T::f(self.p.ld_scale as f64);
        for i in 0..p.elements() {
            let (zi, mi, li) = p.idx(i);
            let (mut mean, mut logs) = (h[mi], h[li]);
            let vi = p.vec_idx(i);
            if let Some(v) = v {
                mean = mean + v[vi.0];
                logs = logs + v[vi.1];
            }
            let inv = (-logs).exp();
            let e = (z[zi] - mean) * inv;
            let dmean = g * e * inv;
            let dlogs = g * (e * e - T::one());
            dz[zi] = -dmean;
            dh[mi] = dh[mi] + dmean;
            dh[li] = dh[li] + dlogs;
            if let Some(dv) = dv.as_mut() {
                dv[vi.0] = dv[vi.0] + dmean;
                dv[vi.1] = dv[vi.1] + dlogs;
            }
        }
        ctx.put(self.dz, dz);
        ctx.put(self.dh, dh);
        if let (Some(b), Some(d)) = (self.dv, dv) {
            ctx.put(b, d);
        }
    }
}

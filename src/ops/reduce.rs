//! Reductions into per-image accumulators (logdet, log p) and the class head's spatial mean.
//! - `ReduceImage`: `acc[n] += scale · Σ_i src[n·len + i]` (one workgroup per image);
//! - `ParamSum`: `acc[n] += scale · Σ_i param[i]` for every image (actnorm / 1x1 conv logdets,
//!   which do not depend on the data);
//! - `MeanHw`: `y[n, c] = mean over pixels of x[n, ·, c]`.
//!
//! - `MeanHwBackward`, `ClassLossBackward`: gradients of the class head (training).
//!
//! Shader: `shaders/reduce.wgsl` (`per_image`, `param_sum`, `mean_hw`, `mean_hw_backward`,
//! `class_loss_backward`).
use bytemuck::{Pod, Zeroable};

use super::{groups, uniform, CpuCtx, Real};
use crate::ir::{Access, Bind, BufId, GpuCall, GpuCaps, Layout};

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct ReduceParams {
    pub n: u32,
    /// Elements per image (`ReduceImage`), parameter length (`ParamSum`) or pixels (`MeanHw`).
    pub len: u32,
    pub scale: f32,
    /// Channels (`MeanHw`).
    pub c: u32,
}

#[derive(Clone, Debug)]
pub struct ReduceImage {
    pub src: BufId,
    pub acc: BufId,
    pub p: ReduceParams,
}

impl ReduceImage {
    pub fn gpu(&self, _caps: GpuCaps) -> GpuCall {
        GpuCall {
            shader: "reduce",
            entry: "per_image",
            defines: &["PER_IMAGE"],
            uniform: uniform(&self.p),
            binds: vec![Bind::Buf(self.src, Access::Read), Bind::Buf(self.acc, Access::ReadWrite)],
            workgroups: self.p.n,
        }
    }
    pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) {
        let len = self.p.len as usize;
        let mut acc = ctx.take(self.acc);
        let src = ctx.get(self.src);
        for (n, a) in acc[..self.p.n as usize].iter_mut().enumerate() {
            let s: T = src[n * len..(n + 1) * len].iter().copied().sum();
            *a = *a + T::f(self.p.scale as f64) * s;
        }
        ctx.put(self.acc, acc);
    }
}

#[derive(Clone, Debug)]
pub struct ParamSum {
    pub param: String,
    pub acc: BufId,
    pub p: ReduceParams,
}

impl ParamSum {
    pub fn gpu(&self, _caps: GpuCaps) -> GpuCall {
        GpuCall {
            shader: "reduce",
            entry: "param_sum",
            defines: &["PARAM_SUM"],
            uniform: uniform(&self.p),
            binds: vec![
                Bind::Param(self.param.clone(), Layout::Plain, Access::Read),
                Bind::Buf(self.acc, Access::ReadWrite),
            ],
            workgroups: 1,
        }
    }
    pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) {
        let s: T = ctx.param(&self.param)[..self.p.len as usize].iter().copied().sum();
        let add = T::f(self.p.scale as f64) * s;
        let mut acc = ctx.take(self.acc);
        acc[..self.p.n as usize].iter_mut().for_each(|a| *a = *a + add);
        ctx.put(self.acc, acc);
    }
}

#[derive(Clone, Debug)]
pub struct MeanHw {
    pub x: BufId,
    pub y: BufId,
    pub p: ReduceParams,
}

impl MeanHw {
    pub fn gpu(&self, _caps: GpuCaps) -> GpuCall {
        GpuCall {
            shader: "reduce",
            entry: "mean_hw",
            defines: &["MEAN_HW"],
            uniform: uniform(&self.p),
            binds: vec![Bind::Buf(self.x, Access::Read), Bind::Buf(self.y, Access::ReadWrite)],
            workgroups: groups((self.p.n * self.p.c) as usize, 64),
        }
    }
    pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) {
        let (np, c) = (self.p.len as usize, self.p.c as usize);
        let mut y = ctx.take(self.y);
        let x = ctx.get(self.x);
        for n in 0..self.p.n as usize {
            for k in 0..c {
                let s: T = (0..np).map(|i| x[(n * np + i) * c + k]).sum();
                y[n * c + k] = s / T::f(np as f64);
            }
        }
        ctx.put(self.y, y);
    }
}

/// Gradient of `MeanHw`, added into `z`'s gradient: `dx[n, q, k] += dy[n, k] / len`.
/// Shader entry `mean_hw_backward`.
#[derive(Clone, Debug)]
pub struct MeanHwBackward {
    pub dy: BufId,
    pub dx: BufId,
    pub p: ReduceParams,
}

impl MeanHwBackward {
    pub fn gpu(&self, _caps: GpuCaps) -> GpuCall {
        GpuCall {
            shader: "reduce",
            entry: "mean_hw_backward",
            defines: &["MEAN_HW_BACKWARD"],
            uniform: uniform(&self.p),
            binds: vec![Bind::Buf(self.dy, Access::Read), Bind::Buf(self.dx, Access::ReadWrite)],
            workgroups: groups((self.p.n * self.p.len * self.p.c) as usize, 64),
        }
    }
    pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) {
        let (np, c) = (self.p.len as usize, self.p.c as usize);
        let mut dx = ctx.take(self.dx);
        let dy = ctx.get(self.dy);
        for (i, v) in dx[..self.p.n as usize * np * c].iter_mut().enumerate() {
            let (k, n) = (i % c, i / (np * c));
            *v = *v + dy[n * c + k] / T::f(np as f64);
        }
        ctx.put(self.dx, dx);
    }
}

/// Gradient of the class head's loss `scale · Σ_images cross-entropy(softmax(logits), label)`
/// w.r.t. the logits: `dlogits = scale · (softmax(logits) − onehot)` (set). `len` = classes.
/// Shader entry `class_loss_backward`.
#[derive(Clone, Debug)]
pub struct ClassLossBackward {
    pub logits: BufId,
    pub onehot: BufId,
    pub dlogits: BufId,
    pub p: ReduceParams,
}

impl ClassLossBackward {
    pub fn gpu(&self, _caps: GpuCaps) -> GpuCall {
        GpuCall {
            shader: "reduce",
            entry: "class_loss_backward",
            defines: &["CLASS_LOSS_BACKWARD"],
            uniform: uniform(&self.p),
            binds: vec![
                Bind::Buf(self.logits, Access::Read),
                Bind::Buf(self.onehot, Access::Read),
                Bind::Buf(self.dlogits, Access::ReadWrite),
            ],
            workgroups: groups(self.p.n as usize, 64),
        }
    }
    pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) {
        let nc = self.p.len as usize;
        let mut dl = ctx.take(self.dlogits);
        let (lg, oh) = (ctx.get(self.logits), ctx.get(self.onehot));
        for n in 0..self.p.n as usize {
            let row = &lg[n * nc..(n + 1) * nc];
            let m = row.iter().copied().fold(T::neg_infinity(), T::max);
            let z: T = row.iter().map(|&v| (v - m).exp()).sum();
            for j in 0..nc {
                dl[n * nc + j] = T::f(self.p.scale as f64) * ((row[j] - m).exp() / z - oh[n * nc + j]);
            }
        }
        ctx.put(self.dlogits, dl);
    }
}

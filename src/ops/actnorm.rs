//! Actnorm: per-channel affine `y = (x + b) · exp(3·logs)` (official `logscale_factor = 3`),
//! optionally followed by ReLU (inside the coupling net); inverse `x = y · exp(-3·logs) - b`.
//! In place on `x` [pixels, c]. Its logdet `H·W·3·Σ logs` is added by `reduce::ParamSum`.
//! Data-dependent init (`ActNormInit`): `b = -mean(x)`, `logs = log(1/(sqrt(mean((x+b)²)) + 1e-6))/3`
//! over all pixels of the batch, written into the parameters on the device.
//!
//! Backward (`ActNormBackward`, see docs/backward.md), in two stages issued in this order
//! (`ActNormBackward::stages` makes both):
//! 1. `ActNormStage::Params` reads the forward output `y` and its gradient `dy` (both left
//!    unchanged) and ACCUMULATES into the parameters `grad.<bias>` / `grad.<logs>`:
//!    `grad.bias += exp(3·logs)·Σ_pixels dy`, `grad.logs += 3·Σ_pixels dy·y + ld_scale·n·3·hw`
//!    (the second term is the gradient of the logdet `hw·3·Σ logs` that every image carries, with
//!    loss coefficient `ld_scale`); one workgroup per channel, no atomics.
//! 2. `ActNormStage::Data`, elementwise, in place: `dy ← dx = dy·exp(3·logs)` and
//!    `y ← x = y·exp(-3·logs) - b` (the forward input, for the reversible backward).
//!
//! With `relu = 1` (the actnorms inside the coupling net, fused into the conv epilogue) `y` is
//! the post-ReLU output: `dy` is first masked by `y > 0` (there `y` equals the pre-activation,
//! elsewhere the masked `dy` is 0, so `Σ dy·y` is exact); `y` is NOT inverted (ReLU loses
//! information; it is bound read-write but left unchanged) and `ld_scale` must be 0 (these
//! actnorms are not part of the flow's logdet). `dx` is the gradient w.r.t. the actnorm input
//! (the conv output).
//!
//! Shader: `shaders/actnorm.wgsl` (`forward`, `inverse`, `init`, `backward_params`,
//! `backward_data`). Its `struct P` is [`ActNormBackwardParams`]; the forward, inverse and init
//! dispatches upload their [`ActNormParams`] zero-extended to that size (it is the prefix).
use bytemuck::{Pod, Zeroable};

use super::{groups, uniform, CpuCtx, Real};
use crate::ir::{Access, Bind, BufId, GpuCall, GpuCaps, Layout};
use crate::platform;

/// Pixels per parallel task of the CPU loops.
const TASK_PIXELS: usize = 1024;

pub const LOGSCALE_FACTOR: f64 = 3.0;

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct ActNormParams {
    /// n·h·w.
    pub pixels: u32,
    pub c: u32,
    /// 1: ReLU after the forward affine.
    pub relu: u32,
    pub _pad: u32,
}

/// Uniform of every actnorm dispatch (the shader's `struct P`): the forward params, then the
/// backward-only fields (zero for forward, inverse and init).
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct ActNormBackwardParams {
    /// `pixels = n·hw`, `c`, `relu`.
    pub an: ActNormParams,
    /// Images in the batch.
    pub n: u32,
    /// Pixels per image (h·w).
    pub hw: u32,
    /// Loss coefficient `g` of each image's logdet (0 for the ReLU actnorms of coupling nets).
    pub ld_scale: f32,
    pub _pad: u32,
}

impl ActNormBackwardParams {
    /// Panics when `relu` comes with a logdet coefficient (a ReLU actnorm has no logdet term).
    pub fn new(n: usize, hw: usize, c: usize, relu: bool, ld_scale: f32) -> Self {
        assert!(!relu || ld_scale == 0.0, "ReLU actnorms (coupling net) contribute no logdet: ld_scale must be 0");
        ActNormBackwardParams {
            an: ActNormParams { pixels: (n * hw) as u32, c: c as u32, relu: relu as u32, _pad: 0 },
            n: n as u32,
            hw: hw as u32,
            ld_scale,
            _pad: 0,
        }
    }
}

/// The forward params zero-extended to the shader's `struct P` ([`ActNormBackwardParams`]).
fn uniform_ext(p: &ActNormParams) -> Vec<u8> {
    uniform(&ActNormBackwardParams { an: *p, ..Zeroable::zeroed() })
}

/// Name of the gradient accumulator of parameter `name`.
pub fn grad_name(name: &str) -> String {
    format!("grad.{name}")
}

#[derive(Clone, Debug)]
pub struct ActNorm {
    pub x: BufId,
    pub bias: String,
    pub logs: String,
    pub reverse: bool,
    pub p: ActNormParams,
}

impl ActNorm {
    pub fn gpu(&self, _caps: GpuCaps) -> GpuCall {
        GpuCall {
            shader: "actnorm",
            entry: if self.reverse { "inverse" } else { "forward" },
            defines: &["FLOW"],
            uniform: uniform_ext(&self.p),
            binds: vec![
                Bind::Buf(self.x, Access::ReadWrite),
                Bind::Param(self.bias.clone(), Layout::Plain, Access::Read),
                Bind::Param(self.logs.clone(), Layout::Plain, Access::Read),
            ],
            workgroups: groups((self.p.pixels * self.p.c) as usize, 64),
        }
    }
    pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) {
        let c = self.p.c as usize;
        let mut x = ctx.take(self.x);
        let b = ctx.param(&self.bias);
        let s: Vec<T> = ctx.param(&self.logs).iter().map(|&l| (l * T::f(LOGSCALE_FACTOR)).exp()).collect();
        let (relu, reverse) = (self.p.relu == 1, self.reverse);
        let per = platform::pixels_per_task(self.p.pixels as usize, c, TASK_PIXELS);
        platform::par_chunks(&mut x[..self.p.pixels as usize * c], per * c, |_, part| {
            for row in part.chunks_exact_mut(c) {
                for ((v, &bk), &sk) in row.iter_mut().zip(b).zip(&s) {
                    *v = if reverse {
                        *v / sk - bk
                    } else {
                        let y = (*v + bk) * sk;
                        if relu && y < T::zero() {
                            T::zero()
                        } else {
                            y
                        }
                    };
                }
            }
        });
        ctx.put(self.x, x);
    }
}

/// Data-dependent initialisation of an actnorm's parameters from `x` [pixels, c].
#[derive(Clone, Debug)]
pub struct ActNormInit {
    pub x: BufId,
    pub bias: String,
    pub logs: String,
    pub p: ActNormParams,
}

impl ActNormInit {
    pub fn gpu(&self, _caps: GpuCaps) -> GpuCall {
        GpuCall {
            shader: "actnorm",
            entry: "init",
            defines: &["INIT"],
            uniform: uniform_ext(&self.p),
            binds: vec![
                Bind::Buf(self.x, Access::Read),
                Bind::Param(self.bias.clone(), Layout::Plain, Access::ReadWrite),
                Bind::Param(self.logs.clone(), Layout::Plain, Access::ReadWrite),
            ],
            // one workgroup of 64 per channel
            workgroups: self.p.c,
        }
    }
    pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) {
        let (np, c) = (self.p.pixels as usize, self.p.c as usize);
        let x = ctx.get(self.x);
        let mut mean = vec![0f64; c];
        for (i, v) in x[..np * c].iter().enumerate() {
            mean[i % c] += v.to64();
        }
        mean.iter_mut().for_each(|m| *m /= np as f64);
        let mut var = vec![0f64; c];
        for (i, v) in x[..np * c].iter().enumerate() {
            var[i % c] += (v.to64() - mean[i % c]).powi(2);
        }
        let logs: Vec<T> =
            var.iter().map(|v| T::f((1.0 / ((v / np as f64).sqrt() + 1e-6)).ln() / LOGSCALE_FACTOR)).collect();
        let bias: Vec<T> = mean.iter().map(|m| T::f(-m)).collect();
        ctx.params.insert(self.bias.clone(), bias);
        ctx.params.insert(self.logs.clone(), logs);
    }
}

/// Which half of an actnorm backward a dispatch does (see the module docs); `Params` must run
/// before `Data`, which overwrites `y` and `dy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActNormStage {
    /// Accumulate `grad.<bias>`, `grad.<logs>` from `y`, `dy` (read only).
    Params,
    /// In place: `dy ← dx`, and (without ReLU) `y ← x`.
    Data,
}

/// Backward of an actnorm given its forward output `y` [pixels, c] and gradient `dy`.
#[derive(Clone, Debug)]
pub struct ActNormBackward {
    pub y: BufId,
    pub dy: BufId,
    /// Forward parameter names; the gradients go to `grad.<bias>` and `grad.<logs>`.
    pub bias: String,
    pub logs: String,
    pub stage: ActNormStage,
    pub p: ActNormBackwardParams,
}

impl ActNormBackward {
    /// Both stages, in the order they must run.
    pub fn stages(y: BufId, dy: BufId, bias: &str, logs: &str, p: ActNormBackwardParams) -> [ActNormBackward; 2] {
        let op = |stage| ActNormBackward { y, dy, bias: bias.to_string(), logs: logs.to_string(), stage, p };
        [op(ActNormStage::Params), op(ActNormStage::Data)]
    }

    pub fn gpu(&self, _caps: GpuCaps) -> GpuCall {
        let p = &self.p.an;
        match self.stage {
            ActNormStage::Params => GpuCall {
                shader: "actnorm",
                entry: "backward_params",
                defines: &["BACKWARD_PARAMS"],
                uniform: uniform(&self.p),
                binds: vec![
                    Bind::Buf(self.y, Access::Read),
                    Bind::Buf(self.dy, Access::Read),
                    Bind::Param(self.logs.clone(), Layout::Plain, Access::Read),
                    Bind::Param(grad_name(&self.bias), Layout::Plain, Access::ReadWrite),
                    Bind::Param(grad_name(&self.logs), Layout::Plain, Access::ReadWrite),
                ],
                // one workgroup of 64 per channel
                workgroups: p.c,
            },
            ActNormStage::Data => GpuCall {
                shader: "actnorm",
                entry: "backward_data",
                defines: &["BACKWARD_DATA"],
                uniform: uniform(&self.p),
                binds: vec![
                    // written unless relu (bound read-write either way: one pipeline layout)
                    Bind::Buf(self.y, Access::ReadWrite),
                    Bind::Buf(self.dy, Access::ReadWrite),
                    Bind::Param(self.bias.clone(), Layout::Plain, Access::Read),
                    Bind::Param(self.logs.clone(), Layout::Plain, Access::Read),
                ],
                workgroups: groups((p.pixels * p.c) as usize, 64),
            },
        }
    }

    /// On the CPU the `Params` stage does both stages in one pass over each chunk of pixels (the
    /// sums read `y`, `dy` before the chunk is rewritten) and `Data` has nothing left to do.
    pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) {
        assert_ne!(self.y, self.dy, "actnorm backward: y and dy must be distinct buffers");
        if self.stage == ActNormStage::Data {
            return;
        }
        let (np, c, relu) = (self.p.an.pixels as usize, self.p.an.c as usize, self.p.an.relu == 1);
        let s: Vec<T> = ctx.param(&self.logs).iter().map(|&l| (l * T::f(LOGSCALE_FACTOR)).exp()).collect();
        let b = ctx.param(&self.bias).to_vec();
        let mut y = ctx.take(self.y);
        let mut dy = ctx.take(self.dy);
        // per fixed chunk of pixels, summed in chunk order (independent of the thread count)
        let chunks: Vec<(&mut [T], &mut [T])> =
            y[..np * c].chunks_mut(TASK_PIXELS * c).zip(dy[..np * c].chunks_mut(TASK_PIXELS * c)).collect();
        let partial = platform::par_items(chunks, |(yc, dc)| {
            let (mut s1, mut s2) = (vec![T::zero(); c], vec![T::zero(); c]);
            // branch-free inner loops over channels (they vectorise); the sums run over pixels
            // in order, per channel
            for (yr, dr) in yc.chunks_exact_mut(c).zip(dc.chunks_exact_mut(c)) {
                let acc = s1.iter_mut().zip(s2.iter_mut());
                if relu {
                    for (((&yv, d), (a1, a2)), &sk) in yr.iter().zip(dr.iter_mut()).zip(acc).zip(&s) {
                        let dm = if yv > T::zero() { *d } else { T::zero() };
                        *a1 = *a1 + dm;
                        *a2 = *a2 + dm * yv;
                        *d = dm * sk;
                    }
                } else {
                    for (((yv, d), (a1, a2)), (&sk, &bk)) in
                        yr.iter_mut().zip(dr.iter_mut()).zip(acc).zip(s.iter().zip(&b))
                    {
                        let dv = *d;
                        *a1 = *a1 + dv;
                        *a2 = *a2 + dv * *yv;
                        *d = dv * sk;
                        *yv = *yv / sk - bk;
                    }
                }
            }
            (s1, s2)
        });
        ctx.put(self.y, y);
        ctx.put(self.dy, dy);
        let (mut s1, mut s2) = (vec![T::zero(); c], vec![T::zero(); c]);
        for (a, b) in &partial {
            for k in 0..c {
                s1[k] = s1[k] + a[k];
                s2[k] = s2[k] + b[k];
            }
        }
        let three = T::f(LOGSCALE_FACTOR);
        let ld = T::f(self.p.ld_scale as f64) * three * T::f(self.p.n as f64) * T::f(self.p.hw as f64);
        let gb = grad_mut(ctx, &self.bias);
        for k in 0..c {
            gb[k] = gb[k] + s[k] * s1[k];
        }
        let gl = grad_mut(ctx, &self.logs);
        for k in 0..c {
            gl[k] = gl[k] + three * s2[k] + ld;
        }
    }
}

/// The gradient accumulator `grad.<name>` (panics when the graph's parameters lack it).
fn grad_mut<'a, T: Real>(ctx: &'a mut CpuCtx<T>, name: &str) -> &'a mut [T] {
    let g = grad_name(name);
    ctx.params.get_mut(&g).unwrap_or_else(|| panic!("graph names unknown parameter {g}"))
}

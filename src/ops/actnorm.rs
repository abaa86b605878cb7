//! Actnorm: per-channel affine `y = (x + b) · exp(3·logs)` (official `logscale_factor = 3`),
//! optionally followed by ReLU (inside the coupling net); inverse `x = y · exp(-3·logs) - b`.
//! In place on `x` [pixels, c]. Its logdet `H·W·3·Σ logs` is added by `reduce::ParamSum`.
//! Data-dependent init (`ActNormInit`): `b = -mean(x)`, `logs = log(1/(sqrt(mean((x+b)²)) + 1e-6))/3`
//! over all pixels of the batch, written into the parameters on the device.
//!
//! Shader: `shaders/actnorm.wgsl` (`forward`, `inverse`, `init`).
use bytemuck::{Pod, Zeroable};

use super::{groups, uniform, CpuCtx, Real};
use crate::graph::{Access, Bind, BufId, GpuCall, Layout};

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

#[derive(Clone, Debug)]
pub struct ActNorm {
    pub x: BufId,
    pub bias: String,
    pub logs: String,
    pub reverse: bool,
    pub p: ActNormParams,
}

impl ActNorm {
    pub fn gpu(&self) -> GpuCall {
        GpuCall {
            shader: "actnorm",
            entry: if self.reverse { "inverse" } else { "forward" },
            uniform: uniform(&self.p),
            base: 1,
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
        for (i, v) in x[..self.p.pixels as usize * c].iter_mut().enumerate() {
            let k = i % c;
            *v = if self.reverse {
                *v / s[k] - b[k]
            } else {
                let y = (*v + b[k]) * s[k];
                if self.p.relu == 1 && y < T::zero() {
                    T::zero()
                } else {
                    y
                }
            };
        }
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
    pub fn gpu(&self) -> GpuCall {
        GpuCall {
            shader: "actnorm",
            entry: "init",
            uniform: uniform(&self.p),
            base: 4,
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

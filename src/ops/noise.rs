//! Gaussian noise for sampling: `y[i] = T · N(0,1)` from the run's seed, stream `stream`, index
//! `i` (counter-based: the same numbers on every backend; image k of a batch gets the same noise
//! whatever the batch size). `T` is the run's temperature.
//!
//! Shader: `shaders/noise.wgsl` (`gaussian`).
use bytemuck::{Pod, Zeroable};

use super::{groups, uniform, CpuCtx, Real};
use crate::ir::{Access, Bind, BufId, GpuCall, GpuCaps};
use crate::{platform, rng};

/// Elements per parallel task (fixed: results never depend on the thread count).
const CHUNK: usize = 1 << 14;

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct NoiseParams {
    pub len: u32,
    pub stream: u32,
    pub _pad: [u32; 2],
}

#[derive(Clone, Debug)]
pub struct Gaussian {
    pub y: BufId,
    pub p: NoiseParams,
}

impl Gaussian {
    pub fn gpu(&self, _caps: GpuCaps) -> GpuCall {
        GpuCall {
            shader: "noise",
            entry: "gaussian",
            defines: &[],
            uniform: uniform(&self.p),
            binds: vec![Bind::Runtime, Bind::Buf(self.y, Access::ReadWrite)],
            workgroups: groups(self.p.len as usize, 64),
        }
    }
    pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) {
        let mut y = ctx.take(self.y);
        let (seed, t, stream) = (ctx.args.seed, ctx.args.temperature as f64, self.p.stream);
        // counter-based: element i's value depends on i alone, so the split changes nothing
        platform::par_chunks(&mut y[..self.p.len as usize], CHUNK, |c, part| {
            for (j, v) in part.iter_mut().enumerate() {
                *v = T::f(t * rng::gaussian(seed, stream, (c * CHUNK + j) as u32));
            }
        });
        ctx.put(self.y, y);
    }
}

//! Image bytes <-> model input, as the official preprocessing:
//! `x = floor(v / 2^(8-n_bits)) / n_bins - 0.5 + u`, with `u ~ U(0, 1/n_bins)` (dequantisation
//! noise, `noise = 1`) or `u = 1/(2 n_bins)` (the noise's mean: the bin centre, used by the
//! deterministic encode so that decode's `floor` lands back in the same bin with half a bin to
//! spare); inverse `clip(floor((x + 0.5) n_bins) · 256/n_bins, 0, 255)`.
//!
//! Shader: `shaders/quantize.wgsl` (`forward`, `inverse`), images as u8 packed 4 per u32.
use bytemuck::{Pod, Zeroable};

use super::{groups, uniform, CpuCtx, Real};
use crate::ir::{Access, Bind, BufId, GpuCall, GpuCaps};
use crate::{platform, rng};

/// Elements per parallel task (fixed: results never depend on the thread count).
const CHUNK: usize = 1 << 14;

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct QuantParams {
    /// Number of values (bytes).
    pub len: u32,
    /// 8 - n_bits.
    pub shift: u32,
    pub n_bins: f32,
    /// 1: add U(0, 1/n_bins) noise from the run's seed; 0: add 1/(2 n_bins).
    pub noise: u32,
    pub stream: u32,
    /// Counter of the first value's noise: value `i` draws noise `base + i`, so a shard of a
    /// larger batch (a data-parallel rank's images) gets the noise it would get in that batch.
    pub base: u32,
    pub _pad: [u32; 2],
}

/// `img` (u8, `len` bytes) -> `x` (f32, `len`).
#[derive(Clone, Debug)]
pub struct Quantize {
    pub img: BufId,
    pub x: BufId,
    pub p: QuantParams,
}

impl Quantize {
    pub fn gpu(&self, _caps: GpuCaps) -> GpuCall {
        GpuCall {
            shader: "quantize",
            entry: "forward",
            defines: &["FORWARD"],
            uniform: uniform(&self.p),
            binds: vec![Bind::Runtime, Bind::Buf(self.img, Access::Read), Bind::Buf(self.x, Access::ReadWrite)],
            workgroups: groups(self.p.len as usize, 64),
        }
    }
    pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) {
        let p = self.p;
        let mut x = ctx.take(self.x);
        let img = &ctx.bytes[&self.img];
        let (nb, seed) = (p.n_bins as f64, ctx.args.seed);
        // counter-based noise: element i's value depends on i alone, so the split changes nothing
        platform::par_chunks(&mut x[..p.len as usize], CHUNK, |c, part| {
            for (j, v) in part.iter_mut().enumerate() {
                let i = c * CHUNK + j;
                let bin = (img[i] >> p.shift) as f64;
                let u = if p.noise == 1 {
                    rng::uniform(seed, p.stream, p.base.wrapping_add(i as u32)) / nb
                } else {
                    0.5 / nb
                };
                *v = T::f(bin / nb - 0.5 + u);
            }
        });
        ctx.put(self.x, x);
    }
}

/// `x` (f32, `len`) -> `img` (u8, `len`).
#[derive(Clone, Debug)]
pub struct Dequantize {
    pub x: BufId,
    pub img: BufId,
    pub p: QuantParams,
}

/// Reference of the output mapping.
pub fn to_byte(x: f64, n_bins: f64) -> u8 {
    (((x + 0.5) * n_bins).floor() * (256.0 / n_bins)).clamp(0.0, 255.0) as u8
}

impl Dequantize {
    pub fn gpu(&self, _caps: GpuCaps) -> GpuCall {
        GpuCall {
            shader: "quantize",
            entry: "inverse",
            defines: &["INVERSE"],
            uniform: uniform(&self.p),
            binds: vec![Bind::Buf(self.x, Access::Read), Bind::Buf(self.img, Access::ReadWrite)],
            workgroups: groups((self.p.len as usize).div_ceil(4), 64),
        }
    }
    pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) {
        let n = self.p.len as usize;
        let out: Vec<u8> = ctx.get(self.x)[..n].iter().map(|v| to_byte(v.to64(), self.p.n_bins as f64)).collect();
        ctx.bytes.insert(self.img, out);
    }
}

//! Coupling update of `z2 = x[..., c1..c]` given the net output `h` (computed from `z1`), in place.
//! - affine: `shift = h[..., 0::2]`, `scale = sigmoid(h[..., 1::2] + 2)`, `z2 = (z2 + shift)·scale`;
//!   inverse `z2 = z2/scale - shift`; forward writes `log scale` per element to `ls` for the logdet
//!   (summed per image by `reduce::ReduceImage`).
//! - additive: `z2 = z2 + h`, inverse `z2 = z2 - h`; logdet 0.
//!
//! Backward (`CouplingBackward`, docs/backward.md), elementwise over [pixels, c2], given the
//! forward output `y`, the net output `h` (recomputed by the caller from `z1`) and `dy`:
//! - affine: `y2 ← x2 = y2/s - shift`, `dy2 ← dx2 = dy2·s`, and `dh` SET to interleaved
//!   (`dshift = dy2·s`, `da = ds·s(1-s)`) with `ds = dy2·(x2 + shift) + g/s` (the `g/s` is the
//!   logdet term `g·Σ log s`, `g = ld_scale`); computed as `da = (dy2·y2 + g)·(1-s)`;
//! - additive: `y2 ← x2 = y2 - h`, `dy2` unchanged (`dx2 = dy2`), `dh` SET to `dy2`.
//!
//! Channels `[0, c1)` of `y` and `dy` are left untouched (`dx1 = dy1 + dNN` is the caller's).
//!
//! Shader: `shaders/coupling.wgsl` (`affine_forward`, `affine_inverse`, `additive_forward`,
//! `additive_inverse`, `affine_backward`, `additive_backward`). Its `struct P` is
//! [`CouplingBackwardParams`]; forward and inverse dispatches upload their [`CouplingParams`]
//! zero-extended to that size (it is the prefix).
use bytemuck::{Pod, Zeroable};

use super::{groups, uniform, CpuCtx, Real};
use crate::ir::{Access, Bind, BufId, GpuCall, GpuCaps};
use crate::platform;

/// Pixels per parallel task of the CPU loops.
const TASK_PIXELS: usize = 512;

/// A chunk of the coupling's CPU loop: rows of `x`, rows of log-scales (or none), first pixel.
type Chunk<'a, T> = (&'a mut [T], Option<&'a mut [T]>, usize);

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct CouplingParams {
    pub pixels: u32,
    pub c: u32,
    pub c1: u32,
    pub c2: u32,
}

/// Uniform of every coupling dispatch (the shader's `struct P`): the forward params, then the
/// backward-only fields (zero for forward and inverse).
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct CouplingBackwardParams {
    pub cp: CouplingParams,
    /// Loss coefficient `g` of each image's logdet (affine only).
    pub ld_scale: f32,
    pub _pad: [u32; 3],
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
    pub fn gpu(&self, _caps: GpuCaps) -> GpuCall {
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
            defines: &["FLOW"],
            uniform: uniform(&CouplingBackwardParams { cp: self.p, ..Zeroable::zeroed() }),
            binds,
            workgroups: groups((self.p.pixels * self.p.c2) as usize, 64),
        }
    }
    pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) {
        let p = self.p;
        let (np, c, c1, c2) = (p.pixels as usize, p.c as usize, p.c1 as usize, p.c2 as usize);
        let hc = if self.affine { 2 * c2 } else { c2 };
        let mut x = ctx.take(self.x);
        let mut ls = self.ls.filter(|_| self.affine && !self.reverse).map(|b| ctx.take(b));
        let h = &ctx.get(self.h)[..np * hc];
        let (affine, reverse) = (self.affine, self.reverse);
        let two = T::f(2.0);
        // per chunk of pixels: (x rows, log-scale rows or none, first pixel)
        let per = platform::pixels_per_task(np, c + hc, TASK_PIXELS);
        let xs = x[..np * c].chunks_mut(per * c);
        let items: Vec<Chunk<T>> = match ls.as_mut() {
            Some(l) => xs
                .zip(l[..np * c2].chunks_mut(per * c2).map(Some))
                .enumerate()
                .map(|(i, (a, b))| (a, b, i * per))
                .collect(),
            None => xs.enumerate().map(|(i, a)| (a, None, i * per)).collect(),
        };
        platform::par_items(items, |(xc, mut lc, p0)| {
            for (r, xr) in xc.chunks_exact_mut(c).enumerate() {
                let hr = &h[(p0 + r) * hc..(p0 + r + 1) * hc];
                for j in 0..c2 {
                    let xi = &mut xr[c1 + j];
                    if affine {
                        let shift = hr[2 * j];
                        let a = hr[2 * j + 1] + two;
                        let scale = T::one() / (T::one() + (-a).exp());
                        if reverse {
                            *xi = *xi / scale - shift;
                        } else {
                            *xi = (*xi + shift) * scale;
                            if let Some(l) = lc.as_deref_mut() {
                                l[r * c2 + j] = T::f(log_sigmoid(a.to64()));
                            }
                        }
                    } else {
                        let s = hr[j];
                        *xi = if reverse { *xi - s } else { *xi + s };
                    }
                }
            }
        });
        ctx.put(self.x, x);
        if let (Some(b), Some(v)) = (self.ls, ls) {
            ctx.put(b, v);
        }
    }
}

/// Backward of a coupling update (see the module docs).
#[derive(Clone, Debug)]
pub struct CouplingBackward {
    /// Forward output [pixels, c]; channels `[c1, c)` become the forward input (in place).
    pub y: BufId,
    /// Net output: affine [pixels, 2·c2] (shift, pre-scale interleaved), additive [pixels, c2].
    pub h: BufId,
    /// Gradient w.r.t. `y` [pixels, c]; channels `[c1, c)` become `dx2` (in place).
    pub dy: BufId,
    /// Gradient w.r.t. `h`, shaped like `h` (set).
    pub dh: BufId,
    pub affine: bool,
    pub p: CouplingBackwardParams,
}

impl CouplingBackward {
    pub fn gpu(&self, _caps: GpuCaps) -> GpuCall {
        let cp = &self.p.cp;
        GpuCall {
            shader: "coupling",
            entry: if self.affine { "affine_backward" } else { "additive_backward" },
            defines: &["BACKWARD"],
            uniform: uniform(&self.p),
            binds: vec![
                Bind::Buf(self.y, Access::ReadWrite),
                Bind::Buf(self.h, Access::Read),
                Bind::Buf(self.dy, Access::ReadWrite),
                Bind::Buf(self.dh, Access::ReadWrite),
            ],
            workgroups: groups((cp.pixels * cp.c2) as usize, 64),
        }
    }

    pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) {
        let p = self.p.cp;
        let (np, c, c1, c2) = (p.pixels as usize, p.c as usize, p.c1 as usize, p.c2 as usize);
        let hc = if self.affine { 2 * c2 } else { c2 };
        let mut y = ctx.take(self.y);
        let mut dy = ctx.take(self.dy);
        let mut dh = ctx.take(self.dh);
        let h = &ctx.get(self.h)[..np * hc];
        let (one, two, g) = (T::one(), T::f(2.0), T::f(self.p.ld_scale as f64));
        let affine = self.affine;
        let items: Vec<_> = y[..np * c]
            .chunks_mut(TASK_PIXELS * c)
            .zip(dy[..np * c].chunks_mut(TASK_PIXELS * c))
            .zip(dh[..np * hc].chunks_mut(TASK_PIXELS * hc))
            .enumerate()
            .collect();
        platform::par_items(items, |(i, ((yc, dyc), dhc))| {
            let p0 = i * TASK_PIXELS;
            for (r, ((yr, dr), dhr)) in
                yc.chunks_exact_mut(c).zip(dyc.chunks_exact_mut(c)).zip(dhc.chunks_exact_mut(hc)).enumerate()
            {
                let hr = &h[(p0 + r) * hc..(p0 + r + 1) * hc];
                for j in 0..c2 {
                    let xi = c1 + j;
                    if affine {
                        let a = hr[2 * j + 1] + two;
                        let s = one / (one + (-a).exp());
                        let oms = one / (one + a.exp()); // 1 - s without cancellation
                        let (yv, d) = (yr[xi], dr[xi]);
                        yr[xi] = yv / s - hr[2 * j];
                        dr[xi] = d * s;
                        dhr[2 * j] = d * s;
                        dhr[2 * j + 1] = (d * yv + g) * oms;
                    } else {
                        yr[xi] = yr[xi] - hr[j];
                        dhr[j] = dr[xi];
                    }
                }
            }
        });
        ctx.put(self.y, y);
        ctx.put(self.dy, dy);
        ctx.put(self.dh, dh);
    }
}

//! An orthogonal 1x1 convolution parametrised by Householder reflections (Tomczak & Welling
//! 2016; Golinski et al. 2019), `permutation: householder`: the flow layer, and the device ops
//! that compose W and back-propagate into the reflection vectors.
//!
//! The layer: parameters `{pre}.householder.v` `[C, C]` (R = C reflections, N(0, 1) rows, so
//! W starts as a random orthogonal matrix like the paper's random rotation); derived
//! `derived.{pre}.householder.{w, w_inv}`; `y = x·W`, no logdet term (`|det W| = 1`), the
//! inverse `x = y·Wᵀ` exact up to rounding without any matrix inversion (the plain invconv's
//! inverse is a Gauss-Jordan elimination that grows ill-conditioned as W trains). Same FLOPs
//! as invconv per step; training adds the `compose` and `grad` ops (O(C³), one workgroup).
//!
//! Parameters `v` `[R, C]` (row r is `v_r`; a layer uses R = C, any R ≥ 0 works),
//! `u_r = v_r/|v_r|`, `H_r = I − 2 u_r u_rᵀ`, `W = H_1 H_2 ⋯ H_R` (`[C, C]` row-major, `y = x·W`
//! as the invertible 1x1 conv). W is orthogonal: `log|det W| = 0`, `W⁻¹ = Wᵀ`. A zero row
//! `v_r = 0` is taken as `H_r = I` (no reflection) with a zero gradient, on both backends (the
//! reflection is undefined there; this keeps W orthogonal and everything finite).
//!
//! - `HouseholderCompose` (entry `compose`): reads `v`, writes `w = W` and `w_inv = Wᵀ`.
//!   GPU: one invocation per row i of W (`e_iᵀ H_1⋯H_R`: for r = 1..R, `t = W_i·v_r`,
//!   `W_i −= (2/|v_r|²) t v_r`), no barriers.
//! - `HouseholderGrad` (entry `grad`): reads `v`, `w` (the composed W) and `dw` (dL/dW) and
//!   ACCUMULATES (`+=`) dL/dv into `grad_v`. With `A_r = H_1⋯H_{r−1}` and
//!   `G_r = dW·(H_{r+1}⋯H_R)ᵀ`, `dL/dH_r = A_rᵀ G_r`, so walking r = R..1 from `A = W`,
//!   `G = dW`: `A ← A·H_r` (now `A_r`, as `H_r² = I`); `p = G·u_r`, `q = A·u_r`;
//!   `du_r = −2 (Aᵀp + Gᵀq)`; `dv_r = (du_r − u_r (u_r·du_r))/|v_r|`; then `G ← G·H_r`.
//!   A and G live in a `[2, C, C]` scratch graph buffer ([`HouseholderGrad::scratch_len`]).
//!   GPU: one workgroup of 64 invocations (a 256-invocation workgroup was miscompiled by
//!   lavapipe for invconv's `prepare`); invocation t owns rows t, t + 64, ... for the A / G
//!   updates and p, q, and columns t, t + 64, ... for du; u, p, q in workgroup memory. It uses
//!   `q = A_r u = −A_{r+1} u` (no second pass over A) and `u·du = −4 p·q` (so du needs no
//!   workgroup array); the CPU computes both directly.
//!
//! Bounds: C ≤ [`HOUSEHOLDER_MAX_C`] = 1024 on the GPU (u, p, q take 12 KiB of the 16 KiB of
//! workgroup memory WebGPU guarantees; plus 256 B for `wg_sum`); at most 5 storage buffers per
//! entry. lavapipe (llvmpipe, Mesa 22.3), the test adapter, silently stops all loops of an
//! invocation after 65535 iterations in total: with inner loops unrolled by 4, `grad` makes
//! about `R·(⌈C/64⌉·C + 30)` iterations per invocation and is exact there up to C = R = 136
//! (measured: wrong from 137; C = 128 and 136 are in the tests); `compose` makes about `R·(C/2 + 2)`
//! and is exact up to C = R = 356 (wrong by 360). Real GPUs have no such limit.
//!
//! Shader: `shaders/householder.wgsl`.
use bytemuck::{Pod, Zeroable};

use super::{conv1x1, conv1x1_backward, packed_1x1, Derived, Init, Kind, Layer, Packed, Site, Spec};
use crate::config::GlowConfig;
use crate::error::{Error, Result};
use crate::flow::B;
use crate::graph::Graph;
use crate::ir::{Access, Bind, BufId, GpuCall, GpuCaps, Layout};
use crate::ops::{groups, uniform, CpuCtx, Real};
use crate::params::Params;

/// Largest C the GPU entries support (workgroup memory of `grad`).
pub const HOUSEHOLDER_MAX_C: usize = 1024;

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct HouseholderParams {
    /// Channels C.
    pub c: u32,
    /// Reflections R (rows of `v`).
    pub r: u32,
    pub _pad: [u32; 2],
}

impl HouseholderParams {
    /// R = C reflections (the layer's parametrisation).
    pub fn new(c: usize) -> Self {
        Self::with_reflections(c, c)
    }
    /// `r` reflections of dimension `c`. Panics when `c > HOUSEHOLDER_MAX_C`.
    pub fn with_reflections(c: usize, r: usize) -> Self {
        assert!(c <= HOUSEHOLDER_MAX_C, "Householder 1x1 conv: C = {c} > {HOUSEHOLDER_MAX_C}");
        HouseholderParams { c: c as u32, r: r as u32, _pad: [0; 2] }
    }
}

/// Composes `W = H_1⋯H_R` and `W⁻¹ = Wᵀ` from the reflection vectors.
#[derive(Clone, Debug)]
pub struct HouseholderCompose {
    /// `[R, C]`, read.
    pub v: String,
    /// `[C, C]`, written: W.
    pub w: String,
    /// `[C, C]`, written: Wᵀ.
    pub w_inv: String,
    pub p: HouseholderParams,
}

impl HouseholderCompose {
    /// Step `prefix` with R = C: reads `{prefix}.householder.v`, writes
    /// `derived.{prefix}.householder.{w, w_inv}`.
    pub fn new(prefix: &str, c: usize) -> Self {
        HouseholderCompose {
            v: format!("{prefix}.householder.v"),
            w: format!("derived.{prefix}.householder.w"),
            w_inv: format!("derived.{prefix}.householder.w_inv"),
            p: HouseholderParams::new(c),
        }
    }

    pub fn gpu(&self, _caps: GpuCaps) -> GpuCall {
        GpuCall {
            shader: "householder",
            entry: "compose",
            defines: &["COMPOSE"],
            uniform: uniform(&self.p),
            binds: vec![
                Bind::Param(self.v.clone(), Layout::Plain, Access::Read),
                Bind::Param(self.w.clone(), Layout::Plain, Access::ReadWrite),
                Bind::Param(self.w_inv.clone(), Layout::Plain, Access::ReadWrite),
            ],
            workgroups: groups(self.p.c as usize, 64),
        }
    }

    pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) {
        let (c, r) = (self.p.c as usize, self.p.r as usize);
        let w = compose(&ctx.param(&self.v)[..r * c], c, r);
        let wt: Vec<T> = (0..c * c).map(|e| w[(e % c) * c + e / c]).collect();
        ctx.put_param(&self.w, &w);
        ctx.put_param(&self.w_inv, &wt);
    }
}

/// Accumulates dL/dv from dL/dW.
#[derive(Clone, Debug)]
pub struct HouseholderGrad {
    /// `[R, C]`, read.
    pub v: String,
    /// `[C, C]`, read: the composed W (as `HouseholderCompose` wrote it).
    pub w: String,
    /// `[C, C]`, read: dL/dW.
    pub dw: String,
    /// `[R, C]` accumulator (`+=`): dL/dv.
    pub grad_v: String,
    /// Graph buffer of [`HouseholderGrad::scratch_len`] floats (A and G), overwritten.
    pub scratch: BufId,
    pub p: HouseholderParams,
}

impl HouseholderGrad {
    /// Step `prefix` with R = C: reads `{prefix}.householder.v`,
    /// `derived.{prefix}.householder.w` and `grad.{prefix}.householder.w` (dL/dW), accumulates
    /// into `grad.{prefix}.householder.v`.
    pub fn new(prefix: &str, c: usize, scratch: BufId) -> Self {
        HouseholderGrad {
            v: format!("{prefix}.householder.v"),
            w: format!("derived.{prefix}.householder.w"),
            dw: format!("grad.{prefix}.householder.w"),
            grad_v: format!("grad.{prefix}.householder.v"),
            scratch,
            p: HouseholderParams::new(c),
        }
    }

    /// Floats of the scratch buffer: `2·C·C` (A, then G).
    pub fn scratch_len(c: usize) -> usize {
        2 * c * c
    }

    /// Pushes `HouseholderGrad::new(prefix, c, ·)` with a new scratch graph buffer.
    pub fn push(g: &mut Graph, prefix: &str, c: usize) {
        let scratch = g.buf(format!("{prefix}.householder.grad_scratch"), Self::scratch_len(c));
        g.push(Self::new(prefix, c, scratch));
    }

    pub fn gpu(&self, _caps: GpuCaps) -> GpuCall {
        let rd = |n: &String| Bind::Param(n.clone(), Layout::Plain, Access::Read);
        GpuCall {
            shader: "householder",
            entry: "grad",
            defines: &["GRAD"],
            uniform: uniform(&self.p),
            binds: vec![
                rd(&self.v),
                rd(&self.w),
                rd(&self.dw),
                Bind::Param(self.grad_v.clone(), Layout::Plain, Access::ReadWrite),
                Bind::Buf(self.scratch, Access::ReadWrite),
            ],
            workgroups: 1,
        }
    }

    pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) {
        let (c, r) = (self.p.c as usize, self.p.r as usize);
        let cc = c * c;
        let mut s = ctx.take(self.scratch);
        let (a, g) = s[..2 * cc].split_at_mut(cc);
        a.copy_from_slice(&ctx.param(&self.w)[..cc]);
        g.copy_from_slice(&ctx.param(&self.dw)[..cc]);
        let v = &ctx.param(&self.v)[..r * c];
        let two = T::f(2.0);
        let mut dv = vec![T::zero(); r * c];
        let (mut u, mut pv, mut qv, mut du) =
            (vec![T::zero(); c], vec![T::zero(); c], vec![T::zero(); c], vec![T::zero(); c]);
        for k in (0..r).rev() {
            let inv = unit(&v[k * c..(k + 1) * c], &mut u);
            // A ← A·H_k (rows), then p = G·u, q = A·u
            for i in 0..c {
                let row = &mut a[i * c..(i + 1) * c];
                let t = two * dot(row, &u);
                row.iter_mut().zip(&u).for_each(|(x, &uj)| *x = *x - t * uj);
                qv[i] = dot(row, &u);
                pv[i] = dot(&g[i * c..(i + 1) * c], &u);
            }
            // du = −2 (Aᵀp + Gᵀq)
            du.iter_mut().for_each(|d| *d = T::zero());
            for i in 0..c {
                let (ar, gr) = (&a[i * c..(i + 1) * c], &g[i * c..(i + 1) * c]);
                let (pi, qi) = (pv[i], qv[i]);
                for ((d, &x), &y) in du.iter_mut().zip(ar).zip(gr) {
                    *d = *d + x * pi + y * qi;
                }
            }
            du.iter_mut().for_each(|d| *d = -two * *d);
            let ud = dot(&u, &du);
            for ((d, &duj), &uj) in dv[k * c..(k + 1) * c].iter_mut().zip(&du).zip(&u) {
                *d = (duj - uj * ud) * inv;
            }
            // G ← G·H_k
            for i in 0..c {
                let pi = pv[i];
                g[i * c..(i + 1) * c].iter_mut().zip(&u).for_each(|(x, &uj)| *x = *x - two * pi * uj);
            }
        }
        ctx.put(self.scratch, s);
        ctx.accumulate_param(&self.grad_v, r * c, |e| dv[e]);
    }
}

/// `W = H_1⋯H_R` from `v` `[r, c]`, row by row as the `compose` shader (`W_i −= (2/|v_k|²)
/// (W_i·v_k) v_k` for k = 1..R from `W_i = e_i`).
pub fn compose<T: Real>(v: &[T], c: usize, r: usize) -> Vec<T> {
    let mut w = vec![T::zero(); c * c];
    for i in 0..c {
        let row = &mut w[i * c..(i + 1) * c];
        row[i] = T::one();
        for vk in v[..r * c].chunks_exact(c.max(1)) {
            let n2 = dot(vk, vk);
            let f = if n2 > T::zero() { T::f(2.0) * dot(row, vk) / n2 } else { T::zero() };
            row.iter_mut().zip(vk).for_each(|(x, &y)| *x = *x - f * y);
        }
    }
    w
}

/// `u = v/|v|`; returns `1/|v|` (both zero for `v = 0`).
fn unit<T: Real>(v: &[T], u: &mut [T]) -> T {
    let n2 = dot(v, v);
    let inv = if n2 > T::zero() { T::one() / n2.sqrt() } else { T::zero() };
    u.iter_mut().zip(v).for_each(|(u, &x)| *u = x * inv);
    inv
}

fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    a.iter().zip(b).fold(T::zero(), |s, (&x, &y)| s + x * y)
}

/// The layer (`Permutation::Householder`).
pub(crate) struct Householder;

impl Layer for Householder {
    fn specs(&self, _cfg: &GlowConfig, site: &Site) -> Vec<Spec> {
        let c = site.s.c;
        vec![Spec::new(site.name("householder.v"), vec![c, c], Init::Normal(1.0), Kind::Trainable)]
    }

    fn check(&self, _cfg: &GlowConfig, site: &Site) -> Result<()> {
        if site.s.c > HOUSEHOLDER_MAX_C {
            return Err(Error::Config(format!(
                "permutation householder supports at most {HOUSEHOLDER_MAX_C} channels per level; level {} has {}",
                site.l, site.s.c
            )));
        }
        Ok(())
    }

    fn derived(&self, _cfg: &GlowConfig, site: &Site, params: &Params, out: &mut Derived) {
        let c = site.s.c;
        let v: Vec<f64> = params.get(&site.name("householder.v")).data.iter().map(|&x| x as f64).collect();
        let w = compose(&v, c, c);
        let wt: Vec<f64> = (0..c * c).map(|e| w[(e % c) * c + e / c]).collect();
        out.insert(site.derived("householder.w"), (vec![c, c], w));
        out.insert(site.derived("householder.w_inv"), (vec![c, c], wt));
    }

    fn prepare(&self, b: &mut B, site: &Site) {
        b.g.push(HouseholderCompose::new(&site.pre, site.s.c));
    }

    fn packed(&self, _cfg: &GlowConfig, site: &Site) -> Vec<Packed> {
        packed_1x1(site, site.derived("householder.w"), site.derived("householder.w_inv"))
    }

    /// dL/dW of the composed W, turned into dL/dv by `HouseholderGrad`.
    fn grad_scratch(&self, site: &Site) -> Vec<(String, Vec<usize>)> {
        vec![(format!("grad.{}", site.name("householder.w")), vec![site.s.c, site.s.c])]
    }

    fn forward(&self, b: &mut B, site: &Site, x: BufId, _logdet: BufId) -> BufId {
        conv1x1(b, site, x, site.derived("householder.w"))
    }

    fn inverse(&self, b: &mut B, site: &Site, y: BufId) -> BufId {
        conv1x1(b, site, y, site.derived("householder.w_inv"))
    }

    fn backward(&self, b: &mut B, site: &Site, y: BufId, dy: BufId, _g: f64) -> (BufId, BufId) {
        // grad.{pre}.householder.w += xᵀ·dy, then dL/dv from it
        let (w, w_inv) = (site.derived("householder.w"), site.derived("householder.w_inv"));
        let (x, dx) = conv1x1_backward(b, site, y, dy, w, w_inv, &site.name("householder.w"));
        HouseholderGrad::push(&mut b.g, &site.pre, site.s.c);
        (x, dx)
    }
}

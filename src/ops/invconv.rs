//! The invertible 1x1 convolution's derived tensors and parameter gradients, on the device (so
//! that training can recompute them every step; `Params::with_derived` is the f64 host version).
//!
//! Matrices are `[C, C]` row-major, `y = x·W`. LU form (as `params::lu_compose`):
//! `W = P·L·U'`, `L = I + tril(lower, -1)`, `U' = triu(upper, +1) + diag(sign_s·exp(log_s))`.
//!
//! - `InvconvPrepare` (entries `prepare`, `prepare_lu`): writes `w_inv = W⁻¹` and
//!   `logabsdet = [log|det W|]`; the LU form also writes the composed `W`.
//!   Plain form: Gauss-Jordan with partial pivoting (first row of largest `|a_rk|`),
//!   `log|det W| = Σ log|pivot|`, on a `[C, C]` scratch graph buffer, one workgroup of 64
//!   invocations (invocation t owns columns t, t + 64, ...; 8 barriers per pivot step).
//!   LU form: `W⁻¹ = U'⁻¹·L⁻¹·Pᵀ` by a forward and a back substitution per column (no pivoting
//!   needed, no scratch, one invocation per column), `log|det W| = Σ log_s`.
//! - `InvconvLuGradPermute` (entry `lu_grad_permute`) then `InvconvLuGrad` (entry `lu_grad`):
//!   from `dW` (gradient of the loss w.r.t. the composed W) ACCUMULATE (`+=`)
//!   `grad.lower += tril₋₁(Pᵀ·dW·U'ᵀ)`, `grad.upper += triu₊₁(Lᵀ·Pᵀ·dW)`,
//!   `grad.log_s += diag(Lᵀ·Pᵀ·dW)·sign_s·exp(log_s) + ld` (`ld` = the loss coefficient of
//!   `log|det W|`, e.g. `N·g·H·W`). The first writes `q = Pᵀ·dW` into a `[C, C]` graph buffer,
//!   the second reads it: one entry reading `dW, P, sign_s, log_s, lower, upper` and writing three
//!   gradients would bind 9 storage buffers, over WebGPU's default
//!   `maxStorageBuffersPerShaderStage` of 8. `push_lu_grad` pushes both.
//! - `InvconvLogdetGrad` (entry `logdet_grad`): plain form, `grad.w += ld·W⁻ᵀ` (reads `w_inv`).
//!
//! Every entry keeps to at most 8 storage buffers and 16 KiB of workgroup memory (512 B used).
//!
//! lavapipe (llvmpipe, Mesa 22.3), the test adapter, silently stops all loops of an invocation
//! after 65535 iterations in total: `prepare` is exact there up to C ≈ 210 (tested), `prepare_lu`
//! up to C ≈ 160 (2.5·C² iterations per column); real GPUs have no such limit. A 256-invocation
//! `prepare` was also miscompiled there (invocations 64 and up re-ran parts of a step).
//!
//! Shader: `shaders/invconv.wgsl`.
use bytemuck::{Pod, Zeroable};

use super::{groups, uniform, CpuCtx, OpSink, Real};
use crate::ir::{Access, Bind, BufId, GpuCall, GpuCaps, Layout};

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct InvconvParams {
    /// Channels C.
    pub c: u32,
    /// Loss coefficient of `log|det W|` (`InvconvLuGrad`, `InvconvLogdetGrad`; unused elsewhere).
    pub ld: f32,
    pub _pad: [u32; 2],
}

impl InvconvParams {
    pub fn new(c: usize, ld: f64) -> Self {
        InvconvParams { c: c as u32, ld: ld as f32, _pad: [0; 2] }
    }
}

/// Parameter names of an LU-factored W.
#[derive(Clone, Debug)]
pub struct LuNames {
    pub p: String,
    pub sign_s: String,
    pub log_s: String,
    pub lower: String,
    pub upper: String,
}

impl LuNames {
    /// `{prefix}.invconv.{p, sign_s, log_s, lower, upper}`.
    pub fn new(prefix: &str) -> Self {
        let n = |s: &str| format!("{prefix}.invconv.{s}");
        LuNames { p: n("p"), sign_s: n("sign_s"), log_s: n("log_s"), lower: n("lower"), upper: n("upper") }
    }
}

#[derive(Clone, Debug)]
pub enum PrepareForm {
    /// `w` is the parameter W (read). `scratch`: a graph buffer of `C·C` floats.
    Plain { scratch: BufId },
    /// `w` receives the composed W.
    Lu(LuNames),
}

/// Recomputes W (LU form), W⁻¹ and log|det W| into parameter buffers.
#[derive(Clone, Debug)]
pub struct InvconvPrepare {
    /// `[C, C]`: read (plain) or written (LU).
    pub w: String,
    /// `[C, C]`, written.
    pub w_inv: String,
    /// `[1]`, written.
    pub logabsdet: String,
    pub form: PrepareForm,
    pub p: InvconvParams,
}

impl InvconvPrepare {
    /// Plain form of step `prefix`: reads `{prefix}.invconv.w`, writes
    /// `derived.{prefix}.invconv.{w_inv, logabsdet}` (the names `Params::with_derived` uses).
    pub fn plain(prefix: &str, c: usize, scratch: BufId) -> Self {
        InvconvPrepare {
            w: format!("{prefix}.invconv.w"),
            w_inv: format!("derived.{prefix}.invconv.w_inv"),
            logabsdet: format!("derived.{prefix}.invconv.logabsdet"),
            form: PrepareForm::Plain { scratch },
            p: InvconvParams::new(c, 0.0),
        }
    }
    /// LU form of step `prefix`: reads `{prefix}.invconv.{p, sign_s, log_s, lower, upper}`,
    /// writes `derived.{prefix}.invconv.{w, w_inv, logabsdet}`.
    pub fn lu(prefix: &str, c: usize) -> Self {
        InvconvPrepare {
            w: format!("derived.{prefix}.invconv.w"),
            w_inv: format!("derived.{prefix}.invconv.w_inv"),
            logabsdet: format!("derived.{prefix}.invconv.logabsdet"),
            form: PrepareForm::Lu(LuNames::new(prefix)),
            p: InvconvParams::new(c, 0.0),
        }
    }
    /// Floats of the plain form's scratch buffer.
    pub fn scratch_len(c: usize) -> usize {
        c * c
    }

    pub fn gpu(&self, _caps: GpuCaps) -> GpuCall {
        let rw = |n: &String| Bind::Param(n.clone(), Layout::Plain, Access::ReadWrite);
        let rd = |n: &String| Bind::Param(n.clone(), Layout::Plain, Access::Read);
        match &self.form {
            PrepareForm::Plain { scratch } => GpuCall {
                shader: "invconv",
                entry: "prepare",
                defines: &["PREPARE"],
                uniform: uniform(&self.p),
                binds: vec![rd(&self.w), rw(&self.w_inv), rw(&self.logabsdet), Bind::Buf(*scratch, Access::ReadWrite)],
                workgroups: 1,
            },
            PrepareForm::Lu(n) => GpuCall {
                shader: "invconv",
                entry: "prepare_lu",
                defines: &["PREPARE_LU"],
                uniform: uniform(&self.p),
                binds: vec![
                    rd(&n.p),
                    rd(&n.sign_s),
                    rd(&n.log_s),
                    rd(&n.lower),
                    rd(&n.upper),
                    rw(&self.w),
                    rw(&self.w_inv),
                    rw(&self.logabsdet),
                ],
                workgroups: groups(self.p.c as usize, 64),
            },
        }
    }

    pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) {
        let c = self.p.c as usize;
        let (w, w_inv, logabsdet) = match &self.form {
            PrepareForm::Plain { .. } => {
                let w = ctx.param(&self.w)[..c * c].to_vec();
                let (inv, ld) = gauss_jordan(&w, c);
                (None, inv, ld)
            }
            PrepareForm::Lu(n) => {
                let f = Factors::read(ctx, n, c);
                let w = f.compose();
                let inv = f.inverse();
                let ld = f.log_s.iter().copied().sum();
                (Some(w), inv, ld)
            }
        };
        if let Some(w) = w {
            ctx.put_param(&self.w, &w);
        }
        ctx.put_param(&self.w_inv, &w_inv);
        ctx.put_param(&self.logabsdet, &[logabsdet]);
    }
}

/// First half of the LU gradient: `q = Pᵀ·dW` into a `[C, C]` graph buffer.
#[derive(Clone, Debug)]
pub struct InvconvLuGradPermute {
    /// `[C, C]`: gradient w.r.t. the composed W (e.g. `grad.{prefix}.invconv.w`).
    pub dw: String,
    /// `[C, C]`: the permutation P.
    pub perm: String,
    /// `[C, C]` graph buffer, written.
    pub q: BufId,
    pub p: InvconvParams,
}

impl InvconvLuGradPermute {
    pub fn gpu(&self, _caps: GpuCaps) -> GpuCall {
        GpuCall {
            shader: "invconv",
            entry: "lu_grad_permute",
            defines: &["LU_GRAD_PERMUTE"],
            uniform: uniform(&self.p),
            binds: vec![
                Bind::Param(self.dw.clone(), Layout::Plain, Access::Read),
                Bind::Param(self.perm.clone(), Layout::Plain, Access::Read),
                Bind::Buf(self.q, Access::ReadWrite),
            ],
            workgroups: groups((self.p.c * self.p.c) as usize, 64),
        }
    }

    pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) {
        let c = self.p.c as usize;
        let mut q = ctx.take(self.q);
        let (dw, p) = (ctx.param(&self.dw), ctx.param(&self.perm));
        for k in 0..c {
            for j in 0..c {
                q[k * c + j] = (0..c).map(|m| p[m * c + k] * dw[m * c + j]).sum();
            }
        }
        ctx.put(self.q, q);
    }
}

/// Second half of the LU gradient: from `q = Pᵀ·dW`, accumulates into the gradients of
/// `lower`, `upper` and `log_s` (the latter also `+= ld`).
#[derive(Clone, Debug)]
pub struct InvconvLuGrad {
    /// `[C, C]` graph buffer written by `InvconvLuGradPermute`.
    pub q: BufId,
    pub sign_s: String,
    pub log_s: String,
    pub lower: String,
    pub upper: String,
    /// Accumulators (`+=`): `[C, C]`, `[C, C]`, `[C]`.
    pub grad_lower: String,
    pub grad_upper: String,
    pub grad_log_s: String,
    pub p: InvconvParams,
}

impl InvconvLuGrad {
    pub fn gpu(&self, _caps: GpuCaps) -> GpuCall {
        let rd = |n: &String| Bind::Param(n.clone(), Layout::Plain, Access::Read);
        let rw = |n: &String| Bind::Param(n.clone(), Layout::Plain, Access::ReadWrite);
        GpuCall {
            shader: "invconv",
            entry: "lu_grad",
            defines: &["LU_GRAD"],
            uniform: uniform(&self.p),
            binds: vec![
                Bind::Buf(self.q, Access::Read),
                rd(&self.sign_s),
                rd(&self.log_s),
                rd(&self.lower),
                rd(&self.upper),
                rw(&self.grad_lower),
                rw(&self.grad_upper),
                rw(&self.grad_log_s),
            ],
            workgroups: groups((self.p.c * self.p.c) as usize, 64),
        }
    }

    pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) {
        let c = self.p.c as usize;
        let q = ctx.get(self.q)[..c * c].to_vec();
        let (sign, logs) = (ctx.param(&self.sign_s), ctx.param(&self.log_s));
        let diag: Vec<T> = (0..c).map(|i| sign[i] * logs[i].exp()).collect();
        let (lower, upper) = (ctx.param(&self.lower), ctx.param(&self.upper));
        let mut dl = vec![T::zero(); c * c];
        let mut du = vec![T::zero(); c * c];
        for i in 0..c {
            for j in 0..c {
                if i > j {
                    // (q·U'ᵀ)[i][j] = Σ_{k ≥ j} q[i][k]·U'[j][k]
                    let mut s = q[i * c + j] * diag[j];
                    for k in j + 1..c {
                        s = s + q[i * c + k] * upper[j * c + k];
                    }
                    dl[i * c + j] = s;
                } else {
                    // (Lᵀ·q)[i][j] = q[i][j] + Σ_{k > i} lower[k][i]·q[k][j]
                    let mut s = q[i * c + j];
                    for k in i + 1..c {
                        s = s + lower[k * c + i] * q[k * c + j];
                    }
                    du[i * c + j] = s;
                }
            }
        }
        let ld = T::f(self.p.ld as f64);
        ctx.accumulate_param(&self.grad_lower, c * c, |i| if i / c > i % c { dl[i] } else { T::zero() });
        ctx.accumulate_param(&self.grad_upper, c * c, |i| if i / c < i % c { du[i] } else { T::zero() });
        ctx.accumulate_param(&self.grad_log_s, c, |i| du[i * c + i] * diag[i] + ld);
    }
}

/// Plain form: `grad_w += ld·W⁻ᵀ`, the gradient of `ld·log|det W|`.
#[derive(Clone, Debug)]
pub struct InvconvLogdetGrad {
    /// `[C, C]`: W⁻¹ (e.g. `derived.{prefix}.invconv.w_inv`, written by `InvconvPrepare`).
    pub w_inv: String,
    /// `[C, C]` accumulator (e.g. `grad.{prefix}.invconv.w`).
    pub grad_w: String,
    pub p: InvconvParams,
}

impl InvconvLogdetGrad {
    /// `derived.{prefix}.invconv.w_inv` into `grad.{prefix}.invconv.w`.
    pub fn new(prefix: &str, c: usize, ld: f64) -> Self {
        InvconvLogdetGrad {
            w_inv: format!("derived.{prefix}.invconv.w_inv"),
            grad_w: format!("grad.{prefix}.invconv.w"),
            p: InvconvParams::new(c, ld),
        }
    }

    pub fn gpu(&self, _caps: GpuCaps) -> GpuCall {
        GpuCall {
            shader: "invconv",
            entry: "logdet_grad",
            defines: &["LOGDET_GRAD"],
            uniform: uniform(&self.p),
            binds: vec![
                Bind::Param(self.w_inv.clone(), Layout::Plain, Access::Read),
                Bind::Param(self.grad_w.clone(), Layout::Plain, Access::ReadWrite),
            ],
            workgroups: groups((self.p.c * self.p.c) as usize, 64),
        }
    }

    pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) {
        let c = self.p.c as usize;
        let inv = ctx.param(&self.w_inv)[..c * c].to_vec();
        let ld = T::f(self.p.ld as f64);
        ctx.accumulate_param(&self.grad_w, c * c, |i| ld * inv[(i % c) * c + i / c]);
    }
}

/// Both halves of the LU gradient of step `prefix` (`dW` from `grad.{prefix}.invconv.w`, into
/// `grad.{prefix}.invconv.{lower, upper, log_s}`), with a new `[C, C]` graph buffer for `q`.
pub fn push_lu_grad(g: &mut impl OpSink, prefix: &str, c: usize, ld: f64) {
    let q = g.scratch(format!("{prefix}.invconv.grad_q"), c * c);
    let (perm, grad) = lu_grad_ops(prefix, c, ld, q);
    g.op(perm.into());
    g.op(grad.into());
}

/// The two ops of `push_lu_grad`, with `q` given.
pub fn lu_grad_ops(prefix: &str, c: usize, ld: f64, q: BufId) -> (InvconvLuGradPermute, InvconvLuGrad) {
    let n = LuNames::new(prefix);
    let g = |s: &str| format!("grad.{prefix}.invconv.{s}");
    let p = InvconvParams::new(c, ld);
    (
        InvconvLuGradPermute { dw: g("w"), perm: n.p, q, p },
        InvconvLuGrad {
            q,
            sign_s: n.sign_s,
            log_s: n.log_s,
            lower: n.lower,
            upper: n.upper,
            grad_lower: g("lower"),
            grad_upper: g("upper"),
            grad_log_s: g("log_s"),
            p,
        },
    )
}

/// Inverse and `log|det|` of a row-major `[c, c]` matrix by Gauss-Jordan with partial pivoting
/// (the first row of largest magnitude in the pivot column), as the `prepare` shader.
pub fn gauss_jordan<T: Real>(w: &[T], c: usize) -> (Vec<T>, T) {
    let mut a = w[..c * c].to_vec();
    let mut inv = vec![T::zero(); c * c];
    for i in 0..c {
        inv[i * c + i] = T::one();
    }
    let mut logdet = T::zero();
    for k in 0..c {
        let mut piv = k;
        for r in k + 1..c {
            if a[r * c + k].abs() > a[piv * c + k].abs() {
                piv = r;
            }
        }
        if piv != k {
            for j in 0..c {
                a.swap(k * c + j, piv * c + j);
                inv.swap(k * c + j, piv * c + j);
            }
        }
        let d = a[k * c + k];
        logdet = logdet + d.abs().ln();
        for j in 0..c {
            a[k * c + j] = a[k * c + j] / d;
            inv[k * c + j] = inv[k * c + j] / d;
        }
        for i in 0..c {
            if i == k {
                continue;
            }
            let f = a[i * c + k];
            for j in 0..c {
                a[i * c + j] = a[i * c + j] - f * a[k * c + j];
                inv[i * c + j] = inv[i * c + j] - f * inv[k * c + j];
            }
        }
    }
    (inv, logdet)
}

/// LU parameters of one W, as the CPU holds them.
struct Factors<T> {
    c: usize,
    p: Vec<T>,
    lower: Vec<T>,
    upper: Vec<T>,
    /// sign_s·exp(log_s), the diagonal of U'.
    diag: Vec<T>,
    log_s: Vec<T>,
}

impl<T: Real> Factors<T> {
    fn read(ctx: &CpuCtx<T>, n: &LuNames, c: usize) -> Self {
        let v = |name: &str, len: usize| ctx.param(name)[..len].to_vec();
        let (sign, log_s) = (v(&n.sign_s, c), v(&n.log_s, c));
        let diag = (0..c).map(|i| sign[i] * log_s[i].exp()).collect();
        Factors { c, p: v(&n.p, c * c), lower: v(&n.lower, c * c), upper: v(&n.upper, c * c), diag, log_s }
    }
    fn l(&self, i: usize, k: usize) -> T {
        match i.cmp(&k) {
            std::cmp::Ordering::Greater => self.lower[i * self.c + k],
            std::cmp::Ordering::Equal => T::one(),
            std::cmp::Ordering::Less => T::zero(),
        }
    }
    fn u(&self, k: usize, j: usize) -> T {
        match k.cmp(&j) {
            std::cmp::Ordering::Less => self.upper[k * self.c + j],
            std::cmp::Ordering::Equal => self.diag[k],
            std::cmp::Ordering::Greater => T::zero(),
        }
    }
    /// `P·(L·U')`.
    fn compose(&self) -> Vec<T> {
        let c = self.c;
        let mut m = vec![T::zero(); c * c];
        for i in 0..c {
            for j in 0..c {
                m[i * c + j] = (0..=i.min(j)).map(|k| self.l(i, k) * self.u(k, j)).sum();
            }
        }
        let mut w = vec![T::zero(); c * c];
        for i in 0..c {
            for j in 0..c {
                w[i * c + j] = (0..c).map(|k| self.p[i * c + k] * m[k * c + j]).sum();
            }
        }
        w
    }
    /// `U'⁻¹·L⁻¹·Pᵀ`, column by column.
    fn inverse(&self) -> Vec<T> {
        let c = self.c;
        let mut inv = vec![T::zero(); c * c];
        let mut x = vec![T::zero(); c];
        for j in 0..c {
            // L·y = Pᵀ·e_j
            for i in 0..c {
                let row = &self.lower[i * c..i * c + i];
                x[i] = row.iter().zip(&x[..i]).fold(self.p[j * c + i], |s, (&l, &y)| s - l * y);
            }
            // U'·x = y
            for i in (0..c).rev() {
                let row = &self.upper[i * c + i + 1..(i + 1) * c];
                x[i] = row.iter().zip(&x[i + 1..]).fold(x[i], |s, (&u, &v)| s - u * v) / self.diag[i];
            }
            for i in 0..c {
                inv[i * c + j] = x[i];
            }
        }
        inv
    }
}

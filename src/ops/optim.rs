//! The optimizer as device ops over every trainable parameter, after openai/glow `optim.py`
//! (Adam and Adamax with bias correction, Polyak averaging), plus global-norm gradient clipping
//! and a non-finite guard.
//!
//! Tensors, all parameters in `Layout::Plain` with the shape of parameter `<name>`:
//! `grad.<name>` (the gradient, as accumulated by the backward graph), `opt.m.<name>` (first
//! moment), `opt.v.<name>` (second moment for Adam; the infinity-norm accumulator `u` for Adamax),
//! `ema.<name>` (Polyak average, to be initialised to the parameter itself, as TensorFlow's
//! `ExponentialMovingAverage` initialises a `Variable`'s shadow: see [`init_tensors`]).
//! Plus one per-step parameter [`STATE`] = `opt.state`, 4 floats `[t, lr_t, a, b]` that the host
//! writes before every step with `Backend::set_params` ([`OptConfig::state_params`]), so that one
//! compiled plan serves every step: `t` the 1-based step, `lr_t` the scheduled learning rate, and
//! the update's two step-dependent factors, computed on the host in f64 (on the device `1 − β2^t`
//! would lose most of its digits to cancellation in f32):
//!
//! `θ −= a · m / (b · D + ε)`, `D = sqrt(v)` (Adam) or `u` (Adamax), where per [`BiasCorrection`]:
//! - `Official` (openai/glow, identical in its `adam` and `adamax`):
//!   `a = lr_t · sqrt(1 − β2^t) / (1 − β1^t)`, `b = 1` (ε added to the uncorrected `D`; the
//!   official Adamax thus also carries Adam's `sqrt(1 − β2^t)` factor although `u` has no bias);
//! - `Standard` (Kingma & Ba): Adam `a = lr_t / (1 − β1^t)`, `b = 1 / sqrt(1 − β2^t)`, i.e.
//!   `θ −= lr_t · m̂ / (sqrt(v̂) + ε)`; Adamax `a = lr_t / (1 − β1^t)`, `b = 1`, i.e.
//!   `θ −= lr_t · m̂ / (u + ε)` (only the first moment is corrected);
//! - `Off`: `a = lr_t`, `b = 1`.
//!
//! Schedule: `lr_t = lr · min(1, t / warmup_steps)` (no warmup when `warmup_steps == 0`). The
//! official code warms up by images seen *before* the step, `lr · min(1, n_processed /
//! (n_train · epochs_warmup))`, so its first step has `lr = 0`; ours is that shifted by one step.
//!
//! One optimizer step ([`OptConfig::push_step`]), in one run:
//! 1. [`GradSqSum`] (`grad_sumsq`) per trainable tensor: each workgroup of 64 reduces a block of
//!    `block` elements and writes `(Σ g², non-finite flag)` to its own pair of slots of the scratch
//!    buffer `sumsq` (no float atomics in WebGPU; slots are written, not accumulated, so the buffer
//!    needs no clearing). The flag tests the bits of every element (`x != x` may be folded away
//!    by WGSL compilers).
//! 2. [`ClipFactor`] (`clip_factor`), one workgroup: `clip = [f, skip, ‖g‖, Σ g²]` with
//!    `‖g‖ = sqrt(Σ g²)` over all tensors, `f = min(1, max_norm / (‖g‖ + 1e-6))` (`f = 1` when
//!    `max_norm <= 0`), `skip = 1` when any gradient element or the sum is non-finite (in f32 on
//!    the GPU, so a norm above ~1.8e19 counts as non-finite there). `clip` is a graph output: the
//!    host reads `skip` back and then must not advance `t` (the step did nothing).
//! 3. [`AdamUpdate`] (`adam` / `adamax`) per tensor, with `g = f · grad`:
//!    `m = β1 m + (1 − β1) g`; Adam `v = β2 v + (1 − β2) g²`, Adamax `u = max(β2 u, |g|)`;
//!    `θ −= a · m / (b · D + ε)` as above. Nothing is written when `skip`.
//! 4. [`EmaUpdate`] (`ema`) per tensor, after the update: `ema = d · ema + (1 − d) · θ` (Polyak
//!    averaging; the official code uses `d = β2 = 1 − 1/(train_its · polyak_epochs)`, the same
//!    value as Adam's β2, see [`OptConfig::official`]). Nothing is written when `skip`.
//!
//! Official details not followed: the official `ExponentialMovingAverage` op runs unordered with
//! the update (`tf.group`), here it always averages the updated weights; `weight_decay` (a plain
//! multiplier on `w`, 1 by default) is not implemented; the official code has no clipping.
//!
//! Shader: `shaders/optim.wgsl` (`grad_sumsq`, `clip_factor`, `adam`, `adamax`, `ema`).
use std::collections::BTreeSet;

use bytemuck::{Pod, Zeroable};

use super::{groups, uniform, CpuCtx, OpSink, Real};
use crate::ir::{Access, Bind, BufId, DType, GpuCall, GpuCaps, Layout, ParamMap};

/// The per-step parameter `[t, lr_t, a, b]`.
pub const STATE: &str = "opt.state";
/// Default elements per workgroup of [`GradSqSum`].
pub const SUMSQ_BLOCK: u32 = 16384;

pub fn grad_name(param: &str) -> String {
    format!("grad.{param}")
}
pub fn m_name(param: &str) -> String {
    format!("opt.m.{param}")
}
pub fn v_name(param: &str) -> String {
    format!("opt.v.{param}")
}
pub fn ema_name(param: &str) -> String {
    format!("ema.{param}")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Adam,
    Adamax,
}

/// Where the bias correction goes; see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BiasCorrection {
    /// openai/glow `optim.py`: `α_t = lr_t · sqrt(1 − β2^t) / (1 − β1^t)`, `θ −= α_t · m / (D + ε)`.
    Official,
    /// Kingma & Ba: Adam `m̂ / (sqrt(v̂) + ε)`, Adamax `m̂ / (u + ε)`.
    Standard,
    Off,
}

/// Optimizer hyper-parameters. β1, β2, ε and the EMA decay are f32 (the device's precision); the
/// f64 CPU backend and [`OptConfig::state`] use exactly these f32 values.
#[derive(Clone, Debug, PartialEq)]
pub struct OptConfig {
    pub method: Method,
    pub bias_correction: BiasCorrection,
    pub lr: f64,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    /// Linear warmup length in steps (0: none).
    pub warmup_steps: u64,
    /// Global gradient-norm clipping threshold; `<= 0` disables clipping (the non-finite guard
    /// stays on).
    pub max_norm: f32,
    /// Polyak averaging decay; `None` pushes no [`EmaUpdate`].
    pub ema_decay: Option<f32>,
    /// Elements per workgroup of [`GradSqSum`] (performance only).
    pub sumsq_block: u32,
}

impl Default for OptConfig {
    /// The official defaults (`--optimizer adamax --lr 0.001 --beta1 0.9`, ε = 1e-8) with
    /// β2 = EMA decay = 0.999 (the official value for 1000 iterations per epoch and
    /// `polyak_epochs = 1`), no warmup, no clipping.
    fn default() -> Self {
        OptConfig {
            method: Method::Adamax,
            bias_correction: BiasCorrection::Official,
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            warmup_steps: 0,
            max_norm: 0.0,
            ema_decay: Some(0.999),
            sumsq_block: SUMSQ_BLOCK,
        }
    }
}

impl OptConfig {
    /// The official setup: Adamax with the official bias correction and
    /// `β2 = ema_decay = 1 − 1/(train_its · polyak_epochs)`.
    pub fn official(lr: f64, train_its: u64, polyak_epochs: f64, warmup_steps: u64) -> Self {
        let beta2 = (1.0 - 1.0 / (train_its as f64 * polyak_epochs)) as f32;
        OptConfig { lr, warmup_steps, beta2, ema_decay: Some(beta2), ..Default::default() }
    }

    /// The scheduled learning rate of step `t` (1-based).
    pub fn lr_at(&self, t: u64) -> f64 {
        if self.warmup_steps == 0 {
            self.lr
        } else {
            self.lr * (t as f64 / self.warmup_steps as f64).min(1.0)
        }
    }

    /// `[t, lr_t, a, b]` for step `t` (1-based), see the module documentation.
    pub fn state(&self, t: u64) -> [f64; 4] {
        assert!(t >= 1, "optimizer steps count from 1");
        let lr_t = self.lr_at(t);
        let (b1, b2) = (self.beta1 as f64, self.beta2 as f64);
        let ti = t.min(i32::MAX as u64) as i32;
        let c1 = 1.0 - b1.powi(ti);
        let c2 = 1.0 - b2.powi(ti);
        let (a, b) = match (self.bias_correction, self.method) {
            (BiasCorrection::Official, _) => (lr_t * c2.sqrt() / c1, 1.0),
            (BiasCorrection::Standard, Method::Adam) => (lr_t / c1, 1.0 / c2.sqrt()),
            (BiasCorrection::Standard, Method::Adamax) => (lr_t / c1, 1.0),
            (BiasCorrection::Off, _) => (lr_t, 1.0),
        };
        [t as f64, lr_t, a, b]
    }

    /// The [`STATE`] parameter for step `t`, for `Backend::set_params` before the step's run.
    pub fn state_params(&self, t: u64) -> ParamMap {
        [(STATE.to_string(), (vec![4], self.state(t).to_vec()))].into_iter().collect()
    }

    /// The [`AdamUpdate`] uniform for a tensor of `len` elements.
    pub fn adam_params(&self, len: usize) -> OptParams {
        OptParams { len: len as u32, beta1: self.beta1, beta2: self.beta2, eps: self.eps, ..Default::default() }
    }

    /// Pushes one whole optimizer step over `tensors` (parameter name, element count): the
    /// squared norms, the clip factor, the updates, then the averages. Returns the buffers; read
    /// `clip` back to learn whether the step was skipped.
    pub fn push_step(&self, g: &mut impl OpSink, tensors: &[(String, usize)]) -> OptBuffers {
        let block = self.sumsq_block.max(1);
        let slots: usize = tensors.iter().map(|(_, n)| sumsq_blocks(*n, block)).sum();
        let sumsq = g.scratch("opt.sumsq".into(), 2 * slots);
        let clip = g.output("opt.clip".into(), 4, DType::F32);
        let mut slot = 0;
        for (name, n) in tensors {
            let p = OptParams { len: *n as u32, block, slot: slot as u32, ..Default::default() };
            g.op(GradSqSum { grad: grad_name(name), sumsq, p }.into());
            slot += sumsq_blocks(*n, block);
        }
        let p = OptParams { len: slots as u32, max_norm: self.max_norm, ..Default::default() };
        g.op(ClipFactor { sumsq, clip, p }.into());
        for (name, n) in tensors {
            g.op(AdamUpdate { param: name.clone(), clip, method: self.method, p: self.adam_params(*n) }.into());
        }
        if let Some(decay) = self.ema_decay {
            for (name, n) in tensors {
                let p = OptParams { len: *n as u32, decay, ..Default::default() };
                g.op(EmaUpdate { param: name.clone(), clip, p }.into());
            }
        }
        OptBuffers { sumsq, clip }
    }
}

/// Buffers of one optimizer step.
#[derive(Clone, Copy, Debug)]
pub struct OptBuffers {
    /// Scratch: `(Σ g², non-finite flag)` per block.
    pub sumsq: BufId,
    /// Output: `[clip factor, skip (1 when the gradient is non-finite), ‖g‖, Σ g²]`.
    pub clip: BufId,
}

/// Trainable parameters (not in `frozen`, [`crate::params::frozen`]) with their element counts,
/// in name order.
pub fn trainable(params: &crate::Params, frozen: &BTreeSet<String>) -> Vec<(String, usize)> {
    params.map.iter().filter(|(n, _)| !frozen.contains(*n)).map(|(n, t)| (n.clone(), t.data.len())).collect()
}

/// The optimizer's tensors for the trainable `params`: zero gradients and moments, the EMA equal
/// to the parameters, and the state of step 1 under `cfg`.
pub fn init_tensors(params: &crate::Params, frozen: &BTreeSet<String>, cfg: &OptConfig) -> ParamMap {
    let mut out = cfg.state_params(1);
    for (name, t) in &params.map {
        if frozen.contains(name) {
            continue;
        }
        let zeros = (t.shape.clone(), vec![0.0; t.data.len()]);
        out.insert(grad_name(name), zeros.clone());
        out.insert(m_name(name), zeros.clone());
        out.insert(v_name(name), zeros);
        out.insert(ema_name(name), (t.shape.clone(), t.data.iter().map(|&x| x as f64).collect()));
    }
    out
}

/// Blocks (workgroups, pairs of `sumsq` slots) of a tensor of `len` elements.
pub fn sumsq_blocks(len: usize, block: u32) -> usize {
    len.div_ceil(block.max(1) as usize).max(1)
}

/// The uniform of every optimizer op (mirrored by `struct P` of `shaders/optim.wgsl`); each op
/// reads its own fields.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct OptParams {
    /// Elements of the tensor ([`GradSqSum`], [`AdamUpdate`], [`EmaUpdate`]); slot pairs in
    /// `sumsq` ([`ClipFactor`]).
    pub len: u32,
    /// [`GradSqSum`]: elements per workgroup.
    pub block: u32,
    /// [`GradSqSum`]: its first slot pair (block `k` writes `sumsq[2 (slot + k)]` and `[.. + 1]`).
    pub slot: u32,
    /// [`ClipFactor`]: clipping threshold, `<= 0` for none.
    pub max_norm: f32,
    /// [`AdamUpdate`].
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    /// [`EmaUpdate`].
    pub decay: f32,
}

/// `sumsq[2 (slot + k)] = Σ grad²` and `sumsq[2 (slot + k) + 1] = 1` if any element is
/// non-finite (else 0), over block `k` of `grad.<param>` (elements `[k·block, (k+1)·block)`).
#[derive(Clone, Debug)]
pub struct GradSqSum {
    /// The gradient parameter (`grad.<name>`).
    pub grad: String,
    pub sumsq: BufId,
    pub p: OptParams,
}

impl GradSqSum {
    pub fn gpu(&self, _caps: GpuCaps) -> GpuCall {
        GpuCall {
            shader: "optim",
            entry: "grad_sumsq",
            defines: &["GRAD_SUMSQ"],
            uniform: uniform(&self.p),
            binds: vec![
                Bind::Param(self.grad.clone(), Layout::Plain, Access::Read),
                Bind::Buf(self.sumsq, Access::ReadWrite),
            ],
            workgroups: sumsq_blocks(self.p.len as usize, self.p.block) as u32,
        }
    }
    pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) {
        let (len, block) = (self.p.len as usize, self.p.block.max(1) as usize);
        let mut out = ctx.take(self.sumsq);
        let g = &ctx.param(&self.grad)[..len];
        for k in 0..sumsq_blocks(len, self.p.block) {
            let part = &g[(k * block).min(len)..((k + 1) * block).min(len)];
            let s: T = part.iter().map(|&x| x * x).sum();
            let bad = part.iter().any(|x| !x.is_finite());
            let at = 2 * (self.p.slot as usize + k);
            out[at] = s;
            out[at + 1] = if bad { T::one() } else { T::zero() };
        }
        ctx.put(self.sumsq, out);
    }
}

/// `clip = [f, skip, ‖g‖, Σ g²]` from the `sumsq` slot pairs (one workgroup).
#[derive(Clone, Debug)]
pub struct ClipFactor {
    pub sumsq: BufId,
    pub clip: BufId,
    pub p: OptParams,
}

impl ClipFactor {
    pub fn gpu(&self, _caps: GpuCaps) -> GpuCall {
        GpuCall {
            shader: "optim",
            entry: "clip_factor",
            defines: &["CLIP_FACTOR"],
            uniform: uniform(&self.p),
            binds: vec![Bind::Buf(self.sumsq, Access::Read), Bind::Buf(self.clip, Access::ReadWrite)],
            workgroups: 1,
        }
    }
    pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) {
        let n = self.p.len as usize;
        let s = ctx.get(self.sumsq);
        let total: T = (0..n).map(|k| s[2 * k]).sum();
        let bad = (0..n).any(|k| s[2 * k + 1] != T::zero()) || !total.is_finite();
        let norm = total.sqrt();
        let max_norm = T::f(self.p.max_norm as f64);
        let f = if bad {
            T::zero()
        } else if max_norm > T::zero() {
            T::one().min(max_norm / (norm + T::f(1e-6)))
        } else {
            T::one()
        };
        let mut clip = ctx.take(self.clip);
        clip[..4].copy_from_slice(&[f, if bad { T::one() } else { T::zero() }, norm, total]);
        ctx.put(self.clip, clip);
    }
}

/// One Adam / Adamax step of parameter `param` with its `grad.`, `opt.m.`, `opt.v.` tensors,
/// the clip factor and the [`STATE`] `[t, lr_t, a, b]`; a no-op when `clip` says skip.
#[derive(Clone, Debug)]
pub struct AdamUpdate {
    /// The parameter's name (`θ`); the other tensors' names derive from it.
    pub param: String,
    pub clip: BufId,
    pub method: Method,
    pub p: OptParams,
}

impl AdamUpdate {
    pub fn gpu(&self, _caps: GpuCaps) -> GpuCall {
        let n = &self.param;
        GpuCall {
            shader: "optim",
            entry: match self.method {
                Method::Adam => "adam",
                Method::Adamax => "adamax",
            },
            defines: &["UPDATE"],
            uniform: uniform(&self.p),
            binds: vec![
                Bind::Param(n.clone(), Layout::Plain, Access::ReadWrite),
                Bind::Param(grad_name(n), Layout::Plain, Access::Read),
                Bind::Param(m_name(n), Layout::Plain, Access::ReadWrite),
                Bind::Param(v_name(n), Layout::Plain, Access::ReadWrite),
                Bind::Param(STATE.into(), Layout::Plain, Access::Read),
                Bind::Buf(self.clip, Access::Read),
            ],
            workgroups: groups(self.p.len as usize, 64),
        }
    }
    pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) {
        let clip = ctx.get(self.clip);
        let (f, skip) = (clip[0], clip[1]);
        if skip != T::zero() {
            return;
        }
        let len = self.p.len as usize;
        let n = &self.param;
        let take = |ctx: &mut CpuCtx<T>, name: &str| {
            ctx.params.remove(name).unwrap_or_else(|| panic!("graph names unknown parameter {name}"))
        };
        let (mut th, mut m, mut v) = (take(ctx, n), take(ctx, &m_name(n)), take(ctx, &v_name(n)));
        let st = ctx.param(STATE);
        let (a, b) = (st[2], st[3]);
        let g = &ctx.param(&grad_name(n))[..len];
        let (b1, b2, eps) = (T::f(self.p.beta1 as f64), T::f(self.p.beta2 as f64), T::f(self.p.eps as f64));
        for i in 0..len {
            let gi = g[i] * f;
            m[i] = b1 * m[i] + (T::one() - b1) * gi;
            let d = match self.method {
                Method::Adam => {
                    v[i] = b2 * v[i] + (T::one() - b2) * gi * gi;
                    v[i].sqrt()
                }
                Method::Adamax => {
                    v[i] = (b2 * v[i]).max(gi.abs());
                    v[i]
                }
            };
            th[i] = th[i] - a * m[i] / (b * d + eps);
        }
        ctx.params.insert(n.clone(), th);
        ctx.params.insert(m_name(n), m);
        ctx.params.insert(v_name(n), v);
    }
}

/// `ema.<param> = decay · ema + (1 − decay) · param`; a no-op when `clip` says skip.
#[derive(Clone, Debug)]
pub struct EmaUpdate {
    pub param: String,
    pub clip: BufId,
    pub p: OptParams,
}

impl EmaUpdate {
    pub fn gpu(&self, _caps: GpuCaps) -> GpuCall {
        GpuCall {
            shader: "optim",
            entry: "ema",
            defines: &["EMA"],
            uniform: uniform(&self.p),
            binds: vec![
                Bind::Param(self.param.clone(), Layout::Plain, Access::Read),
                Bind::Param(ema_name(&self.param), Layout::Plain, Access::ReadWrite),
                Bind::Buf(self.clip, Access::Read),
            ],
            workgroups: groups(self.p.len as usize, 64),
        }
    }
    pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) {
        if ctx.get(self.clip)[1] != T::zero() {
            return;
        }
        let len = self.p.len as usize;
        let name = ema_name(&self.param);
        let mut e = ctx.params.remove(&name).unwrap_or_else(|| panic!("graph names unknown parameter {name}"));
        let th = &ctx.param(&self.param)[..len];
        let d = T::f(self.p.decay as f64);
        for (e, &t) in e[..len].iter_mut().zip(th) {
            *e = d * *e + (T::one() - d) * t;
        }
        ctx.params.insert(name, e);
    }
}

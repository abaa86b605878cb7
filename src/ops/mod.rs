//! One module per op: its `#[repr(C)]` params struct (mirrored by the `struct P` of
//! `shaders/<op>.wgsl`), its GPU dispatch description and its CPU implementation, generic over
//! f32 and f64 (f64 is the ground truth the shaders are tested against).
use std::collections::HashMap;

use crate::ir::{Access, Bind, BufId, DType, GpuCall, GpuCaps, RunArgs};

pub mod actnorm;
pub mod conv2d;
pub mod copy;
pub mod coupling;
/// The Householder 1x1 conv's ops live with their layer.
pub use crate::layers::householder;
pub mod invconv;
pub mod noise;
pub mod optim;
pub mod permute;
pub mod prior;
pub mod quantize;
pub mod reduce;
pub mod squeeze;

/// Float type of the CPU backend.
pub trait Real:
    num_traits::Float + num_traits::FloatConst + Default + Send + Sync + std::fmt::Debug + std::iter::Sum + 'static
{
    fn f(v: f64) -> Self;
    fn to64(self) -> f64;
    /// The `gemm` crate's kernel for this type (chosen once for the CPU's features).
    fn gemm_fn() -> GemmFn<Self>;
}
/// `gemm`'s kernel signature: `m, n, k, dst, dst_cs, dst_rs, read_dst, lhs, lhs_cs, lhs_rs, rhs,
/// rhs_cs, rhs_rs, alpha, beta, conj_dst, conj_lhs, conj_rhs, parallelism`.
pub type GemmFn<T> = unsafe fn(
    usize,
    usize,
    usize,
    *mut T,
    isize,
    isize,
    bool,
    *const T,
    isize,
    isize,
    *const T,
    isize,
    isize,
    T,
    T,
    bool,
    bool,
    bool,
    gemm_common::Parallelism,
);
impl Real for f32 {
    fn f(v: f64) -> Self {
        v as f32
    }
    fn to64(self) -> f64 {
        self as f64
    }
    fn gemm_fn() -> GemmFn<f32> {
        gemm_f32::gemm::f32::get_gemm_fn()
    }
}
impl Real for f64 {
    fn f(v: f64) -> Self {
        v
    }
    fn to64(self) -> f64 {
        self
    }
    fn gemm_fn() -> GemmFn<f64> {
        gemm_f64::gemm::f64::get_gemm_fn()
    }
}

/// Buffers and parameters as the CPU backend holds them while running a graph.
pub struct CpuCtx<'a, T> {
    /// Float buffers by graph buffer id (several ids may map to one slot).
    pub slots: &'a mut [Vec<T>],
    pub slot_of: &'a [usize],
    /// Byte buffers (images) by buffer id.
    pub bytes: &'a mut HashMap<BufId, Vec<u8>>,
    pub params: &'a mut HashMap<String, Vec<T>>,
    pub args: RunArgs,
    /// Scratch vectors kept by the plan between ops and runs (no fresh allocation, and no page
    /// faults, per call): see [`CpuCtx::scratch`].
    pub pool: &'a mut Vec<Vec<T>>,
}

impl<T: Real> CpuCtx<'_, T> {
    pub fn get(&self, b: BufId) -> &[T] {
        &self.slots[self.slot_of[b]]
    }
    /// Moves a buffer out (to be written) while others are read; `put` returns it.
    pub fn take(&mut self, b: BufId) -> Vec<T> {
        std::mem::take(&mut self.slots[self.slot_of[b]])
    }
    pub fn put(&mut self, b: BufId, v: Vec<T>) {
        self.slots[self.slot_of[b]] = v;
    }
    /// A scratch vector of `len` elements with unspecified contents, from the plan's pool (the
    /// smallest that holds `len`, else the largest, grown); hand it back with [`CpuCtx::recycle`].
    pub fn scratch(&mut self, len: usize) -> Vec<T> {
        let fit =
            (0..self.pool.len()).filter(|&i| self.pool[i].capacity() >= len).min_by_key(|&i| self.pool[i].capacity());
        let pick = fit.or_else(|| (0..self.pool.len()).max_by_key(|&i| self.pool[i].capacity()));
        let mut v = pick.map(|i| self.pool.swap_remove(i)).unwrap_or_default();
        if v.len() < len {
            v.resize(len, T::zero());
        }
        v.truncate(len);
        v
    }
    pub fn recycle(&mut self, v: Vec<T>) {
        self.pool.push(v);
    }
    pub fn param(&self, name: &str) -> &[T] {
        self.params.get(name).unwrap_or_else(|| panic!("graph names unknown parameter {name}"))
    }
    /// Writes `v` over the first `v.len()` values of parameter `name`.
    pub fn put_param(&mut self, name: &str, v: &[T]) {
        let dst = self.params.get_mut(name).unwrap_or_else(|| panic!("graph names unknown parameter {name}"));
        assert!(dst.len() >= v.len(), "parameter {name} holds {} values, needs {}", dst.len(), v.len());
        dst[..v.len()].copy_from_slice(v);
    }
    /// Adds `f(i)` to value `i` of parameter `name`, for `i < len` (gradient accumulation).
    pub fn accumulate_param(&mut self, name: &str, len: usize, f: impl Fn(usize) -> T) {
        let dst = self.params.get_mut(name).unwrap_or_else(|| panic!("graph names unknown parameter {name}"));
        assert!(dst.len() >= len, "parameter {name} holds {} values, needs {len}", dst.len());
        for (i, d) in dst[..len].iter_mut().enumerate() {
            *d = *d + f(i);
        }
    }
}

/// Where a builder helper of an op (one that pushes several ops and their scratch) puts them. The
/// graph implements it (`graph::Graph`); ops never name the graph, so `ops` depends only on `ir`.
pub trait OpSink {
    /// A scratch buffer of `len` floats (storage shared with other buffers by liveness).
    fn scratch(&mut self, name: String, len: usize) -> BufId;
    /// A buffer kept for the whole run, readable after it (an output).
    fn output(&mut self, name: String, len: usize, dtype: DType) -> BufId;
    fn op(&mut self, op: Op);
}

/// Workgroup count for `n` invocations at workgroup size `wg`.
pub fn groups(n: usize, wg: usize) -> u32 {
    n.div_ceil(wg) as u32
}

pub fn uniform<P: bytemuck::Pod>(p: &P) -> Vec<u8> {
    bytemuck::bytes_of(p).to_vec()
}

macro_rules! ops {
    ($($v:ident($t:ty)),* $(,)?) => {
        /// Every op of the graph.
        #[derive(Clone, Debug)]
        pub enum Op { $($v($t)),* }
        $(impl From<$t> for Op { fn from(o: $t) -> Op { Op::$v(o) } })*
        impl Op {
            /// The op's dispatch on an adapter with `caps` (an op may pick its kernel by them; the
            /// bindings must not depend on them).
            pub fn gpu(&self, caps: GpuCaps) -> GpuCall { match self { $(Op::$v(o) => o.gpu(caps)),* } }
            pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) { match self { $(Op::$v(o) => o.cpu(ctx)),* } }
            /// The op's kind, for profiles.
            pub fn kind(&self) -> &'static str { match self { $(Op::$v(_) => stringify!($v)),* } }
        }
    };
}
ops! {
    Quantize(quantize::Quantize),
    Copy(copy::Copy),
    Dequantize(quantize::Dequantize),
    Squeeze(squeeze::Squeeze),
    ActNorm(actnorm::ActNorm),
    ActNormInit(actnorm::ActNormInit),
    Conv(conv2d::Conv2d),
    ConvBackwardData(conv2d::ConvBackwardData),
    ConvBackwardWeight(conv2d::ConvBackwardWeight),
    ConvPack(conv2d::ConvPack),
    ConvWeightReduce(conv2d::ConvWeightReduce),
    Permute(permute::Permute),
    Coupling(coupling::Coupling),
    Prior(prior::Prior),
    ReduceImage(reduce::ReduceImage),
    ParamSum(reduce::ParamSum),
    MeanHw(reduce::MeanHw),
    MeanHwBackward(reduce::MeanHwBackward),
    ClassLossBackward(reduce::ClassLossBackward),
    Gaussian(noise::Gaussian),
    InvconvPrepare(invconv::InvconvPrepare),
    InvconvLuGradPermute(invconv::InvconvLuGradPermute),
    InvconvLuGrad(invconv::InvconvLuGrad),
    InvconvLogdetGrad(invconv::InvconvLogdetGrad),
    HouseholderCompose(householder::HouseholderCompose),
    HouseholderGrad(householder::HouseholderGrad),
    GradSqSum(optim::GradSqSum),
    ClipFactor(optim::ClipFactor),
    AdamUpdate(optim::AdamUpdate),
    EmaUpdate(optim::EmaUpdate),
    ActNormBackward(actnorm::ActNormBackward),
    CouplingBackward(coupling::CouplingBackward),
    PriorBackward(prior::PriorBackward),
}

impl Op {
    /// Floating-point operations of one run, counting a multiply-add as 2 (convolutions and their
    /// gradients only: every other op is a few flops per element, under 1% of a Glow step).
    pub fn flops(&self) -> f64 {
        match self {
            Op::Conv(c) => c.p.flops(),
            Op::ConvBackwardData(c) => c.p.flops(),
            Op::ConvBackwardWeight(c) => c.p.flops(),
            _ => 0.0,
        }
    }
    /// Graph buffers this op touches (for liveness; the same for every `GpuCaps`).
    pub fn buffers(&self) -> Vec<BufId> {
        self.gpu(GpuCaps::default())
            .binds
            .iter()
            .filter_map(|b| match b {
                Bind::Buf(id, _) => Some(*id),
                _ => None,
            })
            .collect()
    }
    /// Graph buffers this op writes.
    pub fn writes(&self) -> Vec<BufId> {
        self.gpu(GpuCaps::default())
            .binds
            .iter()
            .filter_map(|b| match b {
                Bind::Buf(id, Access::ReadWrite) => Some(*id),
                _ => None,
            })
            .collect()
    }
}

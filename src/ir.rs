//! The IR the ops, the graph and the backends share: buffer ids and types, how an op binds its
//! buffers and parameters, the description of one GPU dispatch, and the adapter capabilities an op
//! picks its kernel from. A leaf module: it imports nothing from the crate, so `graph`, `ops` and
//! `backend` all build on it without importing each other for these types.
use std::collections::BTreeMap;

/// A virtual buffer of a graph (an index into `Graph::bufs`).
pub type BufId = usize;

/// Parameters (and derived tensors) by name: shape and values.
pub type ParamMap = BTreeMap<String, (Vec<usize>, Vec<f64>)>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    /// f32 on the GPU, `T` on the CPU backends.
    F32,
    /// Bytes (images); on the GPU packed four to a u32 word.
    U8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    Read,
    ReadWrite,
}

/// How a parameter is laid out on the GPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layout {
    /// As stored: f32 array.
    Plain,
    /// Conv weights `[k, k, cin_rows, cout]` padded to `[k*k][cin_rows][cout_pad]` (a multiple of 16)
    /// for vec4 loads.
    ConvPacked { cout: u32 },
    /// The input-gradient form of a conv weight: taps flipped, input and output swapped, edge row
    /// dropped: `[k*k][cout][cin_pad]` with `W'[t', co, ci] = W[k*k−1−t', ci, co]` and `cin_pad` a
    /// multiple of 16, so the input gradient runs as a forward convolution (`ConvBackwardData::gpu`).
    ConvPackedT { cin: u32, cout: u32, k: u32 },
}

/// One binding of a dispatch: `GpuCall::binds[i]` is binding `i + 1` of the shader variant
/// (binding 0 is the op's uniform).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Bind {
    Buf(BufId, Access),
    Param(String, Layout, Access),
    /// A placeholder for an optional input the variant does not read.
    Dummy,
    /// The per-run uniform (seed, temperature).
    Runtime,
}

/// What the adapter offers that an op may choose its kernel by (`Op::gpu`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct GpuCaps {
    /// `Features::SUBGROUP` with subgroups of at least 8 lanes (the subgroup convolution).
    pub subgroups: bool,
}

/// Everything the GPU backend needs to record one dispatch of an op: the kernel (entry point
/// `entry` of `shaders/<shader>.wgsl` compiled with `defines`, see `backend::gpu::shader_source`),
/// its uniform (binding 0), its bindings (from 1) and its workgroup count.
#[derive(Clone, Debug)]
pub struct GpuCall {
    pub shader: &'static str,
    pub entry: &'static str,
    /// The names `#ifdef` tests in the shader source: they pick the variant.
    pub defines: &'static [&'static str],
    pub uniform: Vec<u8>,
    /// `binds[i]` is binding `i + 1`.
    pub binds: Vec<Bind>,
    pub workgroups: u32,
}

/// Values that change per run without rebuilding the plan.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RunArgs {
    pub seed: u64,
    pub temperature: f32,
}

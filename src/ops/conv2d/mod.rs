//! 2-D convolution, NHWC, stride 1, kernel 1x1 or 3x3 with SAME zero padding, weights
//! `[k, k, cin + edge, cout]` (HWIO, TF order), no bias in the conv itself.
//! - `edge = 1`: the official edge-bias padding: an extra input channel that is 1 on padded
//!   pixels and 0 inside, realised without materialising it (an out-of-image tap adds the extra
//!   weight row).
//! - Epilogue (optional): `y = (acc + bias) · exp(3·logs)`, which is both the actnorm that follows
//!   the coupling net's convs and `conv2d_zeros`'s scaled output; then optional ReLU.
//! - The input may be a channel slice `[cin_off, cin_off + cin)` of a tensor with `cin_stride`
//!   channels (the coupling net reads `z1` in place).
//! - Also the invertible 1x1 conv (`y = x·W`) and the dense layers of the class head.
//!
//!
//! Shader: `shaders/conv2d.wgsl`, entry `forward`: any channel layout (4 output pixels of a row x 8
//! outputs per invocation), or with the define `V4` input channels in whole vec4s (4 pixels x 16
//! outputs, vec4 loads along the input channels). Weights are packed per row to a multiple of 16
//! outputs. Where the device has subgroups (`GpuCaps::subgroups`: `Features::SUBGROUP`, at least 8
//! lanes; not browsers' WebGPU today) the op picks `shaders/conv2d_sg.wgsl` instead
//! (`Conv2d::subgroup`: weight rows loaded once per subgroup and shared with
//! `subgroupBroadcast`, 4 pixels x 32 outputs per invocation), unless `GLOWGPU_NO_SUBGROUPS=1`.
use bytemuck::{Pod, Zeroable};

mod cpu;
mod cpu_forward;

use super::{groups, uniform, CpuCtx, Real};
use crate::ir::{Access, Bind, BufId, GpuCall, GpuCaps, Layout};

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct ConvParams {
    pub n: u32,
    pub h: u32,
    pub w: u32,
    pub cin: u32,
    pub cin_stride: u32,
    pub cin_off: u32,
    pub cout: u32,
    /// cout rounded up to a multiple of 16 (packed weight row length).
    pub cout_pad: u32,
    /// 1 or 3.
    pub k: u32,
    pub edge: u32,
    pub epilogue: u32,
    pub relu: u32,
    /// 1 adds into the output, 0 overwrites it (`ConvBackwardData` run as a forward conv).
    pub accumulate: u32,
    /// Output pixel stride in floats (0: `cout`, a contiguous output) and channel offset: the
    /// forward kernels write `y[pixel·y_stride + y_off + co]` (`ConvBackwardData` writes a channel
    /// slice of `dx`).
    pub y_stride: u32,
    pub y_off: u32,
    pub _pad: u32,
}

impl ConvParams {
    pub fn new(n: usize, h: usize, w: usize, cin: usize, cout: usize, k: usize, edge: bool) -> Self {
        ConvParams {
            n: n as u32,
            h: h as u32,
            w: w as u32,
            cin: cin as u32,
            cin_stride: cin as u32,
            cin_off: 0,
            cout: cout as u32,
            cout_pad: cout.div_ceil(16) as u32 * 16,
            k: k as u32,
            edge: edge as u32,
            epilogue: 0,
            relu: 0,
            accumulate: 0,
            y_stride: 0,
            y_off: 0,
            _pad: 0,
        }
    }
    /// Whether the input can be read as vec4 along channels (`forward_v4`).
    pub fn vec4_input(&self) -> bool {
        self.cin > 0 && self.cin % 4 == 0 && self.cin_stride % 4 == 0 && self.cin_off % 4 == 0
    }
    pub fn pixels(&self) -> usize {
        (self.n * self.h * self.w) as usize
    }
    /// Multiply-adds x2.
    pub fn flops(&self) -> f64 {
        2.0 * self.pixels() as f64 * (self.k * self.k * self.cin) as f64 * self.cout as f64
    }
}

/// Output pixels per workgroup of `shaders/conv2d_sg.wgsl` (64 invocations x 4 pixels; `work()`
/// in the shader).
const SG_WORKGROUP_PIXELS: usize = 256;

#[derive(Clone, Debug)]
pub struct Conv2d {
    pub x: BufId,
    pub y: BufId,
    pub weight: String,
    /// Epilogue parameters (`p.epilogue = 1`).
    pub bias: Option<String>,
    pub logs: Option<String>,
    pub p: ConvParams,
}

impl Conv2d {
    /// The dispatch on the kernel `caps` allow: the portable one or, with subgroups, the subgroup
    /// one (see `Conv2d::subgroup`). Both bind the same buffers (so liveness does not depend on
    /// `caps`).
    pub fn gpu(&self, caps: GpuCaps) -> GpuCall {
        self.gpu_with(caps, Layout::ConvPacked { cout: self.p.cout })
    }

    /// [`Conv2d::gpu`] reading the weight in `layout` (`ConvBackwardData` passes its transposed form).
    fn gpu_with(&self, caps: GpuCaps, layout: Layout) -> GpuCall {
        if caps.subgroups {
            self.subgroup(layout)
        } else {
            self.portable(layout)
        }
    }

    /// The portable kernel (`shaders/conv2d.wgsl`, entry `forward`): with `V4` where the input slice
    /// is in whole vec4s (4 pixels x 16 outputs per invocation), else 4 pixels x 8 outputs.
    fn portable(&self, layout: Layout) -> GpuCall {
        let p = &self.p;
        let v4 = p.vec4_input();
        let per_block = if v4 { 16 } else { 8 };
        let blocks = p.pixels() / p.w as usize * (p.w as usize).div_ceil(4) * (p.cout as usize).div_ceil(per_block);
        GpuCall {
            shader: "conv2d",
            entry: "forward",
            defines: if v4 { &["FORWARD", "V4"] } else { &["FORWARD"] },
            uniform: uniform(p),
            binds: self.binds(layout),
            workgroups: groups(blocks, 64),
        }
    }

    /// Input, weight, epilogue bias and log scale, output (bindings 1 to 5 of every forward variant).
    fn binds(&self, layout: Layout) -> Vec<Bind> {
        let opt = |o: &Option<String>| match o {
            Some(n) => Bind::Param(n.clone(), Layout::Plain, Access::Read),
            None => Bind::Dummy,
        };
        vec![
            if self.p.cin > 0 { Bind::Buf(self.x, Access::Read) } else { Bind::Dummy },
            Bind::Param(self.weight.clone(), layout, Access::Read),
            opt(&self.bias),
            opt(&self.logs),
            Bind::Buf(self.y, Access::ReadWrite),
        ]
    }

    /// The convolution on `shaders/conv2d_sg.wgsl`, which shares weight rows across the lanes
    /// of a subgroup with `subgroupBroadcast`: it needs `Features::SUBGROUP` and subgroups of at
    /// least 8 lanes (`GpuCaps::subgroups`). Variants: blocks of 32 output channels, or 16 with
    /// `CO16` (for `cout <= 16`); `V4` reads the input as vec4 where the input slice is
    /// vec4-aligned (`cin_stride` and `cin_off` multiples of 4, any `cin`). A workgroup computes 256
    /// pixels x one channel block.
    fn subgroup(&self, layout: Layout) -> GpuCall {
        let p = &self.p;
        let narrow = p.cout <= 16;
        // vec4 reads of the input need a vec4-aligned slice (any cin: the last block masks)
        let v4 = p.cin_stride % 4 == 0 && p.cin_off % 4 == 0;
        let defines: &'static [&'static str] = match (narrow, v4) {
            (false, false) => &[],
            (false, true) => &["V4"],
            (true, false) => &["CO16"],
            (true, true) => &["CO16", "V4"],
        };
        let cb = if narrow { 16 } else { 32 };
        GpuCall {
            shader: "conv2d_sg",
            entry: "forward",
            defines,
            uniform: uniform(p),
            binds: self.binds(layout),
            workgroups: (p.pixels().div_ceil(SG_WORKGROUP_PIXELS) * (p.cout as usize).div_ceil(cb)) as u32,
        }
    }
}

/// Input gradient of a convolution: `dx[q, cin_off + ci] (+)= Σ_taps Σ_co dacc[q − tap, co]·W[tap, ci, co]`
/// (`p.accumulate` chooses `+=` or `=`); `dacc` is the gradient w.r.t. the conv's accumulator
/// (before any epilogue: see `actnorm::ActNormBackward`, whose formula the epilogue shares).
/// On the GPU: the forward entries over the transposed weight (`ConvBackwardData::as_forward`).
#[derive(Clone, Debug)]
pub struct ConvBackwardData {
    pub dacc: BufId,
    pub dx: BufId,
    pub weight: String,
    pub p: ConvParams,
}

impl ConvBackwardData {
    /// On the GPU the input gradient is a forward convolution of `dacc` (`cout` channels) with the
    /// weight transposed and its taps flipped (`Layout::ConvPackedT`, no edge row: the edge channel
    /// has no gradient), writing (or adding into) the `dx` channel slice: the forward kernels, vec4
    /// and subgroup variants included.
    pub fn as_forward(&self) -> Conv2d {
        let p = self.p;
        let mut q = ConvParams::new(
            p.n as usize,
            p.h as usize,
            p.w as usize,
            p.cout as usize,
            p.cin as usize,
            p.k as usize,
            false,
        );
        q.accumulate = p.accumulate;
        q.y_stride = p.cin_stride;
        q.y_off = p.cin_off;
        Conv2d { x: self.dacc, y: self.dx, weight: self.weight.clone(), bias: None, logs: None, p: q }
    }
    pub fn weight_layout(&self) -> Layout {
        Layout::ConvPackedT { cin: self.p.cin, cout: self.p.cout, k: self.p.k }
    }
    pub fn gpu(&self, caps: GpuCaps) -> GpuCall {
        self.as_forward().gpu_with(caps, self.weight_layout())
    }
}

/// Pixels per partial sum of the weight gradient (`WCHUNK` in the shader).
pub const WEIGHT_CHUNK: usize = 2048;

/// Weight gradient of a convolution, accumulated into `grad.<weight>` (plain `[k, k, cin + edge, cout]`):
/// `+= Σ_pixels xin(pixel + tap, ci)·dacc[pixel, co]`, the edge row seeing 1 outside the image.
/// On the GPU two dispatches: `backward_weight` (partial sums over chunks of pixels into `part`)
/// then `weight_reduce` (`ConvWeightReduce`); the CPU does it all here, by GEMM.
#[derive(Clone, Debug)]
pub struct ConvBackwardWeight {
    pub x: BufId,
    pub dacc: BufId,
    pub weight: String,
    /// Scratch of `ConvBackwardWeight::part_len(&p)` floats.
    pub part: BufId,
    pub p: ConvParams,
}

impl ConvBackwardWeight {
    pub fn part_len(p: &ConvParams) -> usize {
        p.pixels().div_ceil(WEIGHT_CHUNK) * (p.k * p.k * (p.cin + p.edge) * p.cout) as usize
    }
    /// Both dispatches, with a new scratch buffer in `g`.
    pub fn push(g: &mut impl super::OpSink, x: BufId, dacc: BufId, weight: &str, p: ConvParams) {
        let part = g.scratch(format!("grad.{weight}.part"), Self::part_len(&p));
        g.op(ConvBackwardWeight { x, dacc, weight: weight.into(), part, p }.into());
        g.op(ConvWeightReduce { part, weight: weight.into(), p }.into());
    }

    pub fn gpu(&self, _caps: GpuCaps) -> GpuCall {
        let p = &self.p;
        let rows = (p.cin + p.edge) as usize;
        let tiles = (p.k * p.k) as usize * rows.div_ceil(4) * (p.cout as usize).div_ceil(4);
        // whole vec4s of input channels and outputs: `V4` (vec4 loads, no masks)
        let v4 = p.vec4_input() && p.cout % 4 == 0;
        GpuCall {
            shader: "conv2d",
            entry: "backward_weight",
            defines: if v4 { &["BACKWARD_WEIGHT", "V4"] } else { &["BACKWARD_WEIGHT"] },
            uniform: uniform(p),
            binds: vec![
                if p.cin > 0 { Bind::Buf(self.x, Access::Read) } else { Bind::Dummy },
                Bind::Buf(self.dacc, Access::Read),
                Bind::Buf(self.part, Access::ReadWrite),
            ],
            workgroups: groups(tiles * p.pixels().div_ceil(WEIGHT_CHUNK), 64),
        }
    }
}

/// Second dispatch of a weight gradient on the GPU: `grad.<weight> += Σ_chunks part`. (The CPU
/// backend's `ConvBackwardWeight` already accumulated: nothing to do there.)
#[derive(Clone, Debug)]
pub struct ConvWeightReduce {
    pub part: BufId,
    pub weight: String,
    pub p: ConvParams,
}

impl ConvWeightReduce {
    pub fn gpu(&self, _caps: GpuCaps) -> GpuCall {
        let p = &self.p;
        GpuCall {
            shader: "conv2d",
            entry: "weight_reduce",
            defines: &["WEIGHT_REDUCE"],
            uniform: uniform(p),
            binds: vec![
                Bind::Buf(self.part, Access::Read),
                Bind::Param(format!("grad.{}", self.weight), Layout::Plain, Access::ReadWrite),
            ],
            workgroups: groups((p.k * p.k * (p.cin + p.edge) * p.cout) as usize, 64),
        }
    }
    pub fn cpu<T: Real>(&self, _ctx: &mut CpuCtx<T>) {}
}

/// Rewrites a conv weight's packed copy from its plain values (after an optimizer step).
/// Shader entries `pack` / `pack_t`; nothing to do on the CPU, which reads the plain weights.
#[derive(Clone, Debug)]
pub struct ConvPack {
    pub weight: String,
    pub p: ConvParams,
    /// Write the input-gradient form (`Layout::ConvPackedT`, shader entry `pack_t`) instead.
    pub transposed: bool,
}

impl ConvPack {
    pub fn gpu(&self, _caps: GpuCaps) -> GpuCall {
        let p = &self.p;
        let (entry, layout, len) = if self.transposed {
            let cin_pad = p.cin.div_ceil(16) * 16;
            ("pack_t", Layout::ConvPackedT { cin: p.cin, cout: p.cout, k: p.k }, p.k * p.k * p.cout * cin_pad)
        } else {
            ("pack", Layout::ConvPacked { cout: p.cout }, p.k * p.k * (p.cin + p.edge) * p.cout_pad)
        };
        GpuCall {
            shader: "conv2d",
            entry,
            defines: &["PACK"],
            uniform: uniform(p),
            binds: vec![
                Bind::Param(self.weight.clone(), Layout::Plain, Access::Read),
                Bind::Param(self.weight.clone(), layout, Access::ReadWrite),
            ],
            workgroups: groups(len as usize, 64),
        }
    }
    pub fn cpu<T: Real>(&self, _ctx: &mut CpuCtx<T>) {}
}

//! The op graph: Glow's encode / decode / init are written once as a list of ops over virtual
//! buffers (see `model::build`). The CPU backend interprets the list; the GPU backend compiles it
//! once per model and batch size into pipelines, bind groups and buffers, and records it into one
//! submission. Buffers that are not inputs, outputs or accumulators share physical storage by
//! liveness (`Graph::plan_memory`).
use crate::ops::Op;

pub type BufId = usize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    /// f32 on the GPU, `T` on the CPU backends.
    F32,
    /// Bytes (images); on the GPU packed four to a u32 word.
    U8,
}

#[derive(Clone, Debug)]
pub struct BufDesc {
    pub name: String,
    /// Elements (floats or bytes).
    pub len: usize,
    pub dtype: DType,
    /// Inputs, outputs and accumulators keep their own storage for the whole run.
    pub persistent: bool,
    /// Cleared to zero at the start of every run (accumulators, constant zero tensors).
    pub zeroed: bool,
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

/// One binding of a dispatch; its binding index is `GpuCall::base` + position (binding 0 is the
/// op's uniform). Entry points of one shader use disjoint binding ranges.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Bind {
    Buf(BufId, Access),
    Param(String, Layout, Access),
    /// A placeholder for an optional input the entry point does not read.
    Dummy,
    /// The per-run uniform (seed, temperature).
    Runtime,
}

/// Everything the GPU backend needs to record one dispatch of an op.
#[derive(Clone, Debug)]
pub struct GpuCall {
    pub shader: &'static str,
    pub entry: &'static str,
    pub uniform: Vec<u8>,
    /// Binding index of `binds[0]`.
    pub base: u32,
    pub binds: Vec<Bind>,
    pub workgroups: u32,
}

/// Values that change per run without rebuilding the plan.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RunArgs {
    pub seed: u64,
    pub temperature: f32,
}

#[derive(Default)]
pub struct Graph {
    pub bufs: Vec<BufDesc>,
    pub ops: Vec<Op>,
    /// Parameters (gradient accumulators, `grad.*`) cleared to zero at the start of every run.
    pub zero_params: Vec<String>,
    /// Images per run (0 if not a batched graph): lets limit errors say what batch would fit.
    pub batch: usize,
}

impl Graph {
    pub fn buf(&mut self, name: impl Into<String>, len: usize) -> BufId {
        self.push_buf(name.into(), len, DType::F32, false, false)
    }
    /// A buffer kept for the whole run (input or output).
    pub fn io(&mut self, name: impl Into<String>, len: usize, dtype: DType) -> BufId {
        self.push_buf(name.into(), len, dtype, true, false)
    }
    /// A persistent buffer cleared to zero at the start of each run.
    pub fn zeroed(&mut self, name: impl Into<String>, len: usize) -> BufId {
        self.push_buf(name.into(), len, DType::F32, true, true)
    }
    fn push_buf(&mut self, name: String, len: usize, dtype: DType, persistent: bool, zeroed: bool) -> BufId {
        self.bufs.push(BufDesc { name, len: len.max(1), dtype, persistent, zeroed });
        self.bufs.len() - 1
    }
    pub fn push(&mut self, op: impl Into<Op>) {
        self.ops.push(op.into());
    }

    /// Floating-point operations of one run, counting a multiply-add as 2 (convolutions and their
    /// gradients only: every other op is a few flops per element, under 1% of a Glow step).
    pub fn flops(&self) -> f64 {
        self.ops
            .iter()
            .map(|o| match o {
                Op::Conv(c) => c.p.flops(),
                Op::ConvBackwardData(c) => c.p.flops(),
                Op::ConvBackwardWeight(c) => c.p.flops(),
                _ => 0.0,
            })
            .sum()
    }

    /// Bytes of activation buffers a backend allocates for this graph (4 bytes per element, after
    /// liveness sharing); parameters and optimizer state are not included.
    pub fn activation_bytes(&self) -> u64 {
        let (slot_of, _) = self.plan_memory();
        let mut words = vec![0usize; slot_of.iter().max().map_or(0, |m| m + 1)];
        for (b, d) in self.bufs.iter().enumerate() {
            let w = if d.dtype == DType::U8 { d.len.div_ceil(4) } else { d.len };
            words[slot_of[b]] = words[slot_of[b]].max(w);
        }
        words.iter().map(|&w| w as u64 * 4).sum()
    }

    /// Assigns every buffer a physical slot. Non-persistent buffers reuse slots whose previous
    /// tenant is dead; an op's outputs never share a slot with its own inputs.
    /// Returns (slot of each buffer, size of each slot in elements).
    pub fn plan_memory(&self) -> (Vec<usize>, Vec<usize>) {
        let nb = self.bufs.len();
        let mut last = vec![usize::MAX; nb];
        let uses: Vec<Vec<BufId>> = self.ops.iter().map(|o| o.buffers()).collect();
        for (i, u) in uses.iter().enumerate() {
            for &b in u {
                last[b] = i;
            }
        }
        let mut slot_of = vec![usize::MAX; nb];
        let mut sizes: Vec<usize> = Vec::new();
        let mut free: Vec<usize> = Vec::new();
        let alloc =
            |b: BufId, slot_of: &mut Vec<usize>, sizes: &mut Vec<usize>, free: &mut Vec<usize>, shared: bool| {
                let need = self.bufs[b].len;
                if shared {
                    // best fit among free slots, else grow the largest free slot
                    let fit = free.iter().enumerate().filter(|(_, &s)| sizes[s] >= need).min_by_key(|(_, &s)| sizes[s]);
                    let pick = fit
                        .map(|(i, _)| i)
                        .or_else(|| free.iter().enumerate().max_by_key(|(_, &s)| sizes[s]).map(|(i, _)| i));
                    if let Some(i) = pick {
                        let s = free.swap_remove(i);
                        sizes[s] = sizes[s].max(need);
                        slot_of[b] = s;
                        return;
                    }
                }
                sizes.push(need);
                slot_of[b] = sizes.len() - 1;
            };
        // persistent buffers first, in their own slots
        for b in 0..nb {
            if self.bufs[b].persistent {
                alloc(b, &mut slot_of, &mut sizes, &mut free, false);
            }
        }
        for (i, u) in uses.iter().enumerate() {
            for &b in u {
                if slot_of[b] == usize::MAX {
                    alloc(b, &mut slot_of, &mut sizes, &mut free, true);
                }
            }
            for &b in u {
                if last[b] == i && !self.bufs[b].persistent && !free.contains(&slot_of[b]) {
                    free.push(slot_of[b]);
                }
            }
        }
        for b in 0..nb {
            if slot_of[b] == usize::MAX {
                alloc(b, &mut slot_of, &mut sizes, &mut free, false);
            }
        }
        (slot_of, sizes)
    }
}

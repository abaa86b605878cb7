//! The op graph: Glow's encode / decode / init are written once as a list of ops over virtual
//! buffers (see `model::build`). The CPU backend interprets the list; the GPU backend compiles it
//! once per model and batch size into pipelines, bind groups and buffers, and records it into one
//! submission. Buffers that are not inputs, outputs or accumulators share physical storage by
//! liveness (`Graph::plan_memory`).
use crate::ops::{Op, OpSink};

// The IR types live in `crate::ir`; re-exported here, where they used to be.
pub use crate::ir::{Access, Bind, BufId, DType, GpuCall, Layout, RunArgs};

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

impl OpSink for Graph {
    fn scratch(&mut self, name: String, len: usize) -> BufId {
        self.buf(name, len)
    }
    fn output(&mut self, name: String, len: usize, dtype: DType) -> BufId {
        self.io(name, len, dtype)
    }
    fn op(&mut self, op: Op) {
        self.push(op)
    }
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

    /// Floating-point operations of one run (`Op::flops`).
    pub fn flops(&self) -> f64 {
        self.ops.iter().map(Op::flops).sum()
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

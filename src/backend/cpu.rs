//! CPU backend: runs each op's Rust implementation. `CpuBackend<f64>` is the ground truth of the
//! tests; `CpuBackend<f32>` is the fallback where no GPU adapter exists.
use std::collections::HashMap;

use super::{Backend, Host, ParamMap};
use crate::error::{Error, Result};
use crate::graph::{BufId, DType, Graph, RunArgs};
use crate::ops::{CpuCtx, Real};

pub struct CpuBackend<T> {
    params: HashMap<String, Vec<T>>,
}

impl<T: Real> Default for CpuBackend<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Real> CpuBackend<T> {
    pub fn new() -> Self {
        CpuBackend { params: HashMap::new() }
    }
}

pub struct CpuPlan<T> {
    graph: Graph,
    slot_of: Vec<usize>,
    slots: Vec<Vec<T>>,
}

impl<T: Real> Backend for CpuBackend<T> {
    type Plan = CpuPlan<T>;

    fn describe(&self) -> String {
        format!("CPU ({})", std::any::type_name::<T>())
    }

    fn set_params(&mut self, params: &ParamMap) -> Result<()> {
        for (k, (_, v)) in params {
            self.params.insert(k.clone(), v.iter().map(|&x| T::f(x)).collect());
        }
        Ok(())
    }

    fn build(&mut self, graph: Graph) -> Result<CpuPlan<T>> {
        let (slot_of, sizes) = graph.plan_memory();
        let param_elems = self.params.values().map(Vec::len).sum();
        crate::memory::check_cpu(&graph, &sizes, std::mem::size_of::<T>(), param_elems)?;
        let slots = sizes.iter().map(|&s| vec![T::zero(); s]).collect();
        Ok(CpuPlan { graph, slot_of, slots })
    }

    async fn run(
        &mut self,
        plan: &mut CpuPlan<T>,
        inputs: Vec<(BufId, Host)>,
        outputs: &[BufId],
        args: RunArgs,
    ) -> Result<Vec<Host>> {
        let mut bytes = HashMap::new();
        for name in &plan.graph.zero_params {
            let v = self.params.get_mut(name).ok_or_else(|| Error::Input(format!("unknown parameter {name}")))?;
            v.iter_mut().for_each(|x| *x = T::zero());
        }
        for (b, d) in plan.graph.bufs.iter().enumerate() {
            if d.zeroed {
                plan.slots[plan.slot_of[b]].iter_mut().for_each(|v| *v = T::zero());
            }
        }
        for (b, data) in inputs {
            let want = plan.graph.bufs[b].len;
            match data {
                Host::U8(v) => {
                    check_len(&plan.graph, b, v.len(), want)?;
                    bytes.insert(b, v);
                }
                Host::F(v) => {
                    check_len(&plan.graph, b, v.len(), want)?;
                    let s = &mut plan.slots[plan.slot_of[b]];
                    for (d, x) in s.iter_mut().zip(v) {
                        *d = T::f(x);
                    }
                }
            }
        }
        let mut ctx = CpuCtx {
            slots: &mut plan.slots,
            slot_of: &plan.slot_of,
            bytes: &mut bytes,
            params: &mut self.params,
            args,
        };
        for op in &plan.graph.ops {
            op.cpu(&mut ctx);
        }
        Ok(outputs
            .iter()
            .map(|&b| {
                let d = &plan.graph.bufs[b];
                match d.dtype {
                    DType::U8 => Host::U8(bytes.remove(&b).unwrap_or_default()),
                    DType::F32 => Host::F(plan.slots[plan.slot_of[b]][..d.len].iter().map(|v| v.to64()).collect()),
                }
            })
            .collect())
    }

    async fn read_params(&mut self, names: &[String]) -> Result<Vec<Vec<f64>>> {
        names
            .iter()
            .map(|n| {
                self.params
                    .get(n)
                    .map(|v| v.iter().map(|x| x.to64()).collect())
                    .ok_or_else(|| Error::Input(format!("unknown parameter {n}")))
            })
            .collect()
    }
}

pub(crate) fn check_len(g: &Graph, b: BufId, got: usize, want: usize) -> Result<()> {
    if got != want {
        return Err(Error::Input(format!("buffer `{}` needs {want} values, got {got}", g.bufs[b].name)));
    }
    Ok(())
}

//! CPU backend: runs each op's Rust implementation. `CpuBackend<f64>` is the ground truth of the
//! tests; `CpuBackend<f32>` is the fallback where no GPU adapter exists.
use std::collections::HashMap;

use super::{Backend, Host, ParamMap};
use crate::error::{Error, Result};
use crate::graph::{BufId, DType, Graph, RunArgs};
use crate::ops::{CpuCtx, Op, Real};

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
    pool: Vec<Vec<T>>,
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
        Ok(CpuPlan { graph, slot_of, slots, pool: Vec::new() })
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
            pool: &mut plan.pool,
        };
        let profile = profiling();
        let ops = &plan.graph.ops;
        crate::platform::in_pool(|| {
            for op in ops {
                let t = profile.then(std::time::Instant::now);
                op.cpu(&mut ctx);
                if let Some(t) = t {
                    profile_add(op, t.elapsed().as_secs_f64());
                }
            }
        });
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

/// Per-op timing of CPU runs, on when `GLOWGPU_PROFILE` is set (benchmarks: `examples/cpu_bench`).
fn profiling() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("GLOWGPU_PROFILE").is_some())
}

type Profile = HashMap<String, (f64, usize, f64)>;
static PROFILE: std::sync::Mutex<Option<Profile>> = std::sync::Mutex::new(None);

fn op_label(op: &Op) -> String {
    let conv = |p: &crate::ops::conv2d::ConvParams| {
        format!("k{} {}->{} px{}{}", p.k, p.cin, p.cout, p.pixels(), if p.edge == 1 { " edge" } else { "" })
    };
    match op {
        Op::Conv(c) => format!("Conv {}", conv(&c.p)),
        Op::ConvBackwardData(c) => format!("ConvBackwardData {}", conv(&c.p)),
        Op::ConvBackwardWeight(c) => format!("ConvBackwardWeight {}", conv(&c.p)),
        o => o.kind().to_string(),
    }
}

fn profile_add(op: &Op, secs: f64) {
    let flops = match op {
        Op::Conv(c) => c.p.flops(),
        Op::ConvBackwardData(c) => c.p.flops(),
        Op::ConvBackwardWeight(c) => c.p.flops(),
        _ => 0.0,
    };
    let mut g = PROFILE.lock().unwrap();
    let e = g.get_or_insert_with(HashMap::new).entry(op_label(op)).or_insert((0.0, 0, 0.0));
    e.0 += secs;
    e.1 += 1;
    e.2 += flops;
}

/// Clears the per-op profile (see `GLOWGPU_PROFILE`).
pub fn profile_reset() {
    *PROFILE.lock().unwrap() = None;
}

/// Prints the per-op profile, per run of `runs`, largest first.
pub fn profile_print(runs: usize) {
    let g = PROFILE.lock().unwrap();
    let Some(p) = g.as_ref() else { return };
    let total: f64 = p.values().map(|v| v.0).sum();
    let mut rows: Vec<_> = p.iter().collect();
    rows.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0));
    println!("profile: {:.1} ms per run", total * 1e3 / runs as f64);
    for (k, (s, c, f)) in rows {
        let gf = if *f > 0.0 { format!("{:7.1} GFLOP/s", f / s / 1e9) } else { String::new() };
        println!("{:6.1} ms {:5.1}% {:5} calls {gf}  {k}", s * 1e3 / runs as f64, 100.0 * s / total, c / runs);
    }
}

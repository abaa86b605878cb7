//! A backend chosen at run time: the GPU (wgpu) or the f32 CPU backend behind one type, so a
//! program that picks one from a flag or from what the machine has (the trainer, the page) holds
//! a `Glow<AnyBackend>` instead of matching on the choice at every call.
use super::cpu::{CpuBackend, CpuPlan};
use super::gpu::{GpuBackend, GpuPlan};
use super::{Backend, Host, ParamMap};
use crate::error::{Error, Result};
use crate::graph::{BufId, Graph, RunArgs};

// one value per program, moved rarely: the size difference costs nothing worth a Box
#[allow(clippy::large_enum_variant)]
pub enum AnyBackend {
    Gpu(GpuBackend),
    Cpu(CpuBackend<f32>),
}

/// A plan of the backend that built it.
#[allow(clippy::large_enum_variant)]
pub enum AnyPlan {
    Gpu(GpuPlan),
    Cpu(CpuPlan<f32>),
}

impl AnyBackend {
    /// The GPU backend, if that is the one.
    pub fn gpu(&self) -> Option<&GpuBackend> {
        match self {
            AnyBackend::Gpu(g) => Some(g),
            AnyBackend::Cpu(_) => None,
        }
    }
    pub fn gpu_mut(&mut self) -> Option<&mut GpuBackend> {
        match self {
            AnyBackend::Gpu(g) => Some(g),
            AnyBackend::Cpu(_) => None,
        }
    }
    pub fn is_gpu(&self) -> bool {
        matches!(self, AnyBackend::Gpu(_))
    }
}

impl From<GpuBackend> for AnyBackend {
    fn from(g: GpuBackend) -> Self {
        AnyBackend::Gpu(g)
    }
}

impl From<CpuBackend<f32>> for AnyBackend {
    fn from(c: CpuBackend<f32>) -> Self {
        AnyBackend::Cpu(c)
    }
}

fn foreign() -> Error {
    Error::Input("a plan built by another backend".into())
}

impl Backend for AnyBackend {
    type Plan = AnyPlan;

    fn describe(&self) -> String {
        match self {
            AnyBackend::Gpu(g) => g.describe(),
            AnyBackend::Cpu(c) => c.describe(),
        }
    }

    fn set_params(&mut self, params: &ParamMap) -> Result<()> {
        match self {
            AnyBackend::Gpu(g) => g.set_params(params),
            AnyBackend::Cpu(c) => c.set_params(params),
        }
    }

    fn build(&mut self, graph: Graph) -> Result<AnyPlan> {
        Ok(match self {
            AnyBackend::Gpu(g) => AnyPlan::Gpu(g.build(graph)?),
            AnyBackend::Cpu(c) => AnyPlan::Cpu(c.build(graph)?),
        })
    }

    async fn run(
        &mut self,
        plan: &mut AnyPlan,
        inputs: Vec<(BufId, Host)>,
        outputs: &[BufId],
        args: RunArgs,
    ) -> Result<Vec<Host>> {
        match (self, plan) {
            (AnyBackend::Gpu(g), AnyPlan::Gpu(p)) => g.run(p, inputs, outputs, args).await,
            (AnyBackend::Cpu(c), AnyPlan::Cpu(p)) => c.run(p, inputs, outputs, args).await,
            _ => Err(foreign()),
        }
    }

    async fn read_params(&mut self, names: &[String]) -> Result<Vec<Vec<f64>>> {
        match self {
            AnyBackend::Gpu(g) => g.read_params(names).await,
            AnyBackend::Cpu(c) => c.read_params(names).await,
        }
    }
}

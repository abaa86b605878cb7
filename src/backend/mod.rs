//! The op interface's two implementations: `cpu` runs a graph's ops in Rust (f32 or f64),
//! `gpu` compiles it into wgpu dispatches.
use crate::error::Result;
use crate::graph::Graph;
pub use crate::ir::ParamMap;
use crate::ir::{BufId, RunArgs};

pub mod any;
pub mod cpu;
pub mod gpu;

/// Host-side data going into or coming out of a graph run.
#[derive(Clone, Debug, PartialEq)]
pub enum Host {
    F(Vec<f64>),
    U8(Vec<u8>),
}

impl Host {
    pub fn floats(self) -> Vec<f64> {
        match self {
            Host::F(v) => v,
            Host::U8(v) => v.into_iter().map(|b| b as f64).collect(),
        }
    }
    pub fn bytes(self) -> Vec<u8> {
        match self {
            Host::U8(v) => v,
            Host::F(_) => panic!("expected a byte buffer"),
        }
    }
}

#[allow(async_fn_in_trait)]
pub trait Backend {
    /// A graph compiled for this backend (built once, run many times).
    type Plan;
    /// Human-readable description (adapter name, or CPU precision).
    fn describe(&self) -> String;
    /// Uploads parameter values; a later call with the same names updates them in place so
    /// existing plans stay valid.
    fn set_params(&mut self, params: &ParamMap) -> Result<()>;
    fn build(&mut self, graph: Graph) -> Result<Self::Plan>;
    /// Runs the whole graph, then returns the requested outputs.
    async fn run(
        &mut self,
        plan: &mut Self::Plan,
        inputs: Vec<(BufId, Host)>,
        outputs: &[BufId],
        args: RunArgs,
    ) -> Result<Vec<Host>>;
    /// Reads parameters back (after a graph wrote them, e.g. actnorm init).
    async fn read_params(&mut self, names: &[String]) -> Result<Vec<Vec<f64>>>;
}

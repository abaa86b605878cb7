//! Glow (Kingma & Dhariwal 2018) on wgpu: every layer as a WGSL compute shader, with an f32/f64
//! CPU backend running the same graph. See README.md.
pub mod attributes;
pub mod backend;
pub mod config;
pub mod error;
pub mod flow;
pub mod graph;
pub mod grow;
pub mod ir;
pub mod latent;
pub mod layers;
pub mod linalg;
pub mod memory;
pub mod model;
pub mod ops;
pub mod params;
pub mod platform;
pub mod rng;
pub mod train;
/// The browser API of the web page (wasm-bindgen); wasm32 only.
#[cfg(target_arch = "wasm32")]
pub mod web;
pub mod weights;

pub use backend::any::AnyBackend;
pub use backend::cpu::CpuBackend;
pub use backend::gpu::GpuBackend;
pub use backend::Backend;
pub use config::{Coupling, GlowConfig, Permutation};
pub use error::{Error, Result};
pub use latent::Latents;
pub use model::{Encoded, Glow, Reconstruction};
pub use params::Params;
pub use weights::{load_weights, save_weights};

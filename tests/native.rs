//! The native test suite as one test binary: each module below is one test file of `tests/`.
//! One binary links once, compiles the generic CPU and GPU code the tests instantiate once (each
//! test file used to monomorphise the backends again at opt-level 2) and opens one GPU device
//! for all of them (`common::gpu`). Run one file's tests with its module path:
//! `cargo test --test native model::` (or `-- --exact model::round_trips`).
//! `fuzz_weights.rs` (its own harness) and `web.rs` (wasm32, scripts/test-web.sh) stay separate.
#![cfg(not(target_arch = "wasm32"))]
mod common;

mod conv_cpu;
mod grad_conv;
mod grad_ops;
mod grow;
mod hostile_weights;
mod householder_ops;
mod invconv_ops;
mod model;
mod ops_gpu;
mod optim_ops;
mod shaders_validate;
mod train;
mod train_split;
mod web_pool;
mod weights;

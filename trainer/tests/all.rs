//! The trainer's tests as one test binary (one link, one compile of what they instantiate): each
//! module is one test file. One file's tests: `cargo test -p trainer --test all shipped_model::`.
//! `distributed.rs` (feature `distributed`, under `mpirun`) stays its own binary.
mod bad_runs;
mod cli;
mod shipped_model;

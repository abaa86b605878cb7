//! Throughput of single convolutions at the benchmark model's shapes (64x64 input, width 256,
//! batch 16), on the GPU backend and the f32 CPU backend:
//!   cargo run --release --example conv_probe
use glowgpu::backend::{Backend, Host};
use glowgpu::graph::{DType, Graph, RunArgs};
use glowgpu::ops::conv2d::{Conv2d, ConvParams};
use glowgpu::platform::block_on;
use std::time::Instant;
fn main() {
    let mut g = block_on(glowgpu::GpuBackend::new()).unwrap();
    for &(n, h, w, cin, cout, k, edge) in &[
        (16, 32, 32, 256, 256, 1, false),
        (16, 32, 32, 6, 256, 3, true),
        (16, 32, 32, 256, 12, 3, true),
        (16, 32, 32, 12, 12, 1, false),
    ] {
        let rows = cin + edge as usize;
        let mut pm = glowgpu::backend::ParamMap::new();
        let name = format!("w{cin}_{cout}_{k}");
        pm.insert(name.clone(), (vec![k * k * rows * cout], vec![0.01; k * k * rows * cout]));
        g.set_params(&pm).unwrap();
        let mut gr = Graph::default();
        let x = gr.io("x", n * h * w * cin, DType::F32);
        let y = gr.io("y", n * h * w * cout, DType::F32);
        let p = ConvParams::new(n, h, w, cin, cout, k, edge);
        let fl = p.flops();
        for _ in 0..4 {
            gr.push(Conv2d { x, y, weight: name.clone(), bias: None, logs: None, p });
        }
        let mut plan = g.build(gr).unwrap();
        block_on(g.run(&mut plan, vec![(x, Host::F(vec![0.5; n * h * w * cin]))], &[], RunArgs::default())).unwrap();
        let t = Instant::now();
        block_on(g.run(&mut plan, vec![], &[y], RunArgs::default())).unwrap();
        let s = t.elapsed().as_secs_f64();
        println!("{cin}->{cout} k{k}: {:.3}s per conv, {:.2} GFLOP/s", s / 4.0, 4.0 * fl / s / 1e9);
        let mut c = glowgpu::CpuBackend::<f32>::new();
        c.set_params(&pm).unwrap();
        let mut gr = Graph::default();
        let x = gr.io("x", n * h * w * cin, DType::F32);
        let y = gr.io("y", n * h * w * cout, DType::F32);
        for _ in 0..4 {
            gr.push(Conv2d { x, y, weight: name.clone(), bias: None, logs: None, p });
        }
        let mut plan = c.build(gr).unwrap();
        let t = Instant::now();
        block_on(c.run(&mut plan, vec![(x, Host::F(vec![0.5; n * h * w * cin]))], &[y], RunArgs::default())).unwrap();
        let s = t.elapsed().as_secs_f64();
        println!("   cpu f32: {:.3}s per conv, {:.2} GFLOP/s", s / 4.0, 4.0 * fl / s / 1e9);
    }
}

//! Throughput of the convolution gradient kernels (input gradient, `backward_weight` +
//! `weight_reduce`) against the forward convolution of the same shape (the same-run baseline)
//! on the GPU backend at the benchmark model's shapes (width 256, batch 16):
//!   cargo run --release --example bwd_probe [reps]
//! The three kernels of a shape run interleaved `reps` times (default 3); the ratios to the
//! forward conv are medians over the rounds, which a loaded machine skews least.
use glowgpu::backend::{Backend, Host};
use glowgpu::graph::{DType, Graph, RunArgs};
use glowgpu::ops::conv2d::{Conv2d, ConvBackwardData, ConvBackwardWeight, ConvParams};
use glowgpu::platform::block_on;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let reps: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(3);
    let mut g = block_on(glowgpu::GpuBackend::new()).unwrap();
    println!("{}; {reps} interleaved rounds", g.describe());
    for &(n, h, w, cin, cout, k, edge) in
        &[(16, 32, 32, 256, 256, 1, false), (16, 32, 32, 6, 256, 3, true), (16, 32, 32, 256, 12, 3, true)]
    {
        let rows = cin + edge as usize;
        let mut pm = glowgpu::backend::ParamMap::new();
        pm.insert("w".into(), (vec![k * k * rows * cout], vec![0.01; k * k * rows * cout]));
        pm.insert("grad.w".into(), (vec![k * k * rows * cout], vec![0.0; k * k * rows * cout]));
        g.set_params(&pm).unwrap();
        let p = ConvParams::new(n, h, w, cin, cout, k, edge);
        let mut plans = Vec::new();
        for which in ["forward", "data", "weight"] {
            let mut gr = Graph::default();
            let x = gr.io("x", n * h * w * cin, DType::F32);
            let d = gr.io("d", n * h * w * cout, DType::F32);
            let dx = gr.io("dx", n * h * w * cin, DType::F32);
            let y = gr.io("y", n * h * w * cout, DType::F32);
            for _ in 0..2 {
                if which == "forward" {
                    gr.push(Conv2d { x, y, weight: "w".into(), bias: None, logs: None, p });
                } else if which == "data" {
                    gr.push(ConvBackwardData { dacc: d, dx, weight: "w".into(), p });
                } else {
                    ConvBackwardWeight::push(&mut gr, x, d, "w", p);
                }
            }
            let mut plan = g.build(gr).unwrap();
            let inputs = vec![(x, Host::F(vec![0.5; n * h * w * cin])), (d, Host::F(vec![0.5; n * h * w * cout]))];
            block_on(g.run(&mut plan, inputs, &[], RunArgs::default())).unwrap();
            plans.push((which, plan, dx));
        }
        let mut secs = vec![Vec::new(); plans.len()];
        for _ in 0..reps {
            for (i, (_, plan, dx)) in plans.iter_mut().enumerate() {
                let t = Instant::now();
                block_on(g.run(plan, vec![], &[*dx], RunArgs::default())).unwrap();
                secs[i].push(t.elapsed().as_secs_f64() / 2.0);
            }
        }
        for (i, (which, _, _)) in plans.iter().enumerate() {
            let s = median(secs[i].clone());
            let ratio = median(secs[0].iter().zip(&secs[i]).map(|(f, t)| f / t).collect());
            println!(
                "{which:>7} {cin}->{cout} k{k}: {s:.3} s, {:.2} GFLOP/s, {ratio:.2}x the forward's throughput",
                p.flops() / s / 1e9
            );
        }
    }
}

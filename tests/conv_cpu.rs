//! The CPU backend's convolution against a direct 7-loop convolution, in each of its shapes (1x1
//! GEMM, tap products with the shift-and-add, im2col), over the whole image and in pixel blocks
//! (`Conv2d::cpu_block`), on several thread counts: every run within 1e-12 of the loops, and the
//! blocked runs bit for bit the same as the whole-image one.
use crate::common;
use common::*;

use glowgpu::backend::Host;
use glowgpu::graph::{DType, Graph, RunArgs};
use glowgpu::ops::conv2d::{Conv2d, ConvParams};
use glowgpu::rng::HostRng;

const ARGS: RunArgs = RunArgs { seed: 1, temperature: 1.0 };

#[derive(Clone, Copy, Debug)]
struct Case {
    n: usize,
    h: usize,
    w: usize,
    cin: usize,
    /// Channels of the tensor the input is a slice of, and the slice's first channel.
    stride: usize,
    off: usize,
    cout: usize,
    k: usize,
    edge: bool,
    epilogue: bool,
    relu: bool,
}

impl Case {
    fn params(&self) -> ConvParams {
        let mut p = ConvParams::new(self.n, self.h, self.w, self.cin, self.cout, self.k, self.edge);
        p.cin_stride = self.stride as u32;
        p.cin_off = self.off as u32;
        p.epilogue = self.epilogue as u32;
        p.relu = self.relu as u32;
        p
    }
    fn pixels(&self) -> usize {
        self.n * self.h * self.w
    }
}

struct Data {
    x: Vec<f64>,
    wt: Vec<f64>,
    bias: Vec<f64>,
    logs: Vec<f64>,
}

fn data(c: &Case, seed: u64) -> Data {
    let mut rng = HostRng::new(seed);
    let rows = c.cin + c.edge as usize;
    Data {
        x: randn(&mut rng, c.pixels() * c.stride, 1.0),
        wt: randn(&mut rng, c.k * c.k * rows * c.cout, 0.3),
        bias: randn(&mut rng, c.cout, 0.5),
        logs: randn(&mut rng, c.cout, 0.1),
    }
}

/// The conv by its definition: zero padding, the edge channel 1 outside the image.
fn naive(c: &Case, d: &Data) -> Vec<f64> {
    let (h, w, k) = (c.h as isize, c.w as isize, c.k as isize);
    let rows = c.cin + c.edge as usize;
    let mut y = vec![0.0; c.pixels() * c.cout];
    for b in 0..c.n as isize {
        for yy in 0..h {
            for xx in 0..w {
                let o = ((b * h + yy) * w + xx) as usize;
                for co in 0..c.cout {
                    let mut s = 0.0;
                    for t in 0..(k * k) as usize {
                        let (iy, ix) = (yy + t as isize / k - k / 2, xx + t as isize % k - k / 2);
                        let inside = iy >= 0 && ix >= 0 && iy < h && ix < w;
                        for ci in 0..rows {
                            let v = match (ci == c.cin, inside) {
                                (true, inside) => (!inside) as u8 as f64,
                                (false, true) => d.x[((b * h + iy) * w + ix) as usize * c.stride + c.off + ci],
                                (false, false) => 0.0,
                            };
                            s += v * d.wt[(t * rows + ci) * c.cout + co];
                        }
                    }
                    if c.epilogue {
                        s = (s + d.bias[co]) * (3.0 * d.logs[co]).exp();
                    }
                    y[o * c.cout + co] = if c.relu { s.max(0.0) } else { s };
                }
            }
        }
    }
    y
}

/// The conv on the f64 CPU backend, on a rayon pool of `threads` threads.
fn cpu(c: &Case, d: &Data, threads: usize) -> Vec<f64> {
    let params = param_map(&[("w", d.wt.clone()), ("b", d.bias.clone()), ("l", d.logs.clone())]);
    let mut g = Graph::default();
    let xb = g.io("x", d.x.len(), DType::F32);
    let yb = g.io("y", c.pixels() * c.cout, DType::F32);
    let conv = Conv2d {
        x: xb,
        y: yb,
        weight: "w".into(),
        bias: c.epilogue.then(|| "b".into()),
        logs: c.epilogue.then(|| "l".into()),
        p: c.params(),
    };
    g.push(conv);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| {
        let mut b = glowgpu::CpuBackend::<f64>::new();
        run(&mut b, &params, g, vec![(xb, Host::F(d.x.clone()))], &[yb], ARGS)[0].clone().floats()
    })
}

fn conv(c: &Case) -> Conv2d {
    Conv2d { x: 0, y: 0, weight: String::new(), bias: None, logs: None, p: c.params() }
}

#[test]
fn small_convs_match_naive_loops() {
    let base =
        Case { n: 2, h: 5, w: 4, cin: 3, stride: 3, off: 0, cout: 6, k: 3, edge: true, epilogue: false, relu: false };
    let cases = [
        base,
        Case { h: 3, w: 5, cin: 7, stride: 7, cout: 2, ..base },
        Case { cin: 5, stride: 9, off: 3, cout: 4, k: 1, edge: false, epilogue: true, relu: true, ..base },
        Case { cin: 7, stride: 7, cout: 2, edge: false, relu: true, ..base },
    ];
    for (i, c) in cases.iter().enumerate() {
        assert_eq!(conv(c).cpu_block(1, 8), None, "case {i} should run over the whole image");
        let d = data(c, 5 + i as u64);
        assert_close(&format!("case {i} {c:?}"), &cpu(c, &d, 2), &naive(c, &d), 1e-12);
    }
}

#[test]
fn blocked_convs_match_naive_loops_and_the_whole_image_run_bit_for_bit() {
    // 13,908 pixels: enough blocks for 3 threads in every shape at f64
    let base = Case {
        n: 4,
        h: 57,
        w: 61,
        cin: 20,
        stride: 23,
        off: 2,
        cout: 3,
        k: 3,
        edge: true,
        epilogue: true,
        relu: false,
    };
    let cases = [
        base,                                                             // taps, edge, epilogue
        Case { edge: false, epilogue: false, ..base },                    // taps without edge
        Case { cin: 3, stride: 3, off: 0, cout: 6, relu: true, ..base },  // im2col, edge, ReLU
        Case { cin: 3, stride: 5, off: 1, cout: 6, edge: false, ..base }, // im2col, slice
        Case { cout: 40, k: 1, edge: false, relu: true, ..base },         // 1x1 on a slice
    ];
    for (i, c) in cases.iter().enumerate() {
        let d = data(c, 11 + i as u64);
        let want = naive(c, &d);
        assert_eq!(conv(c).cpu_block(64, 8), None, "case {i}: 64 threads should run the whole image");
        let whole = cpu(c, &d, 64);
        assert_close(&format!("case {i} whole image"), &whole, &want, 1e-12);
        for threads in [1, 2, 3] {
            let block = conv(c).cpu_block(threads, 8);
            assert!(block.is_some(), "case {i} {c:?} is not blocked on {threads} threads");
            let got = cpu(c, &d, threads);
            assert_close(&format!("case {i} in blocks of {block:?} on {threads} threads"), &got, &want, 1e-12);
            let same = got.iter().zip(&whole).all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "case {i} on {threads} threads differs from the whole-image run");
        }
    }
}

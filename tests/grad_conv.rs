//! Convolution gradients: the CPU f64 backward against central finite differences of the forward
//! convolution, and the GPU entry points against the CPU f64 backward.
use crate::common;
use common::*;

use glowgpu::backend::{Backend, Host, ParamMap};
use glowgpu::graph::{BufId, DType, Graph, RunArgs};
use glowgpu::ops::conv2d::{Conv2d, ConvBackwardData, ConvBackwardWeight, ConvPack, ConvParams};
use glowgpu::rng::HostRng;
use glowgpu::CpuBackend;

const ARGS: RunArgs = RunArgs { seed: 1, temperature: 1.0 };

/// (n, h, w, cin, cin_stride, cin_off, cout, k, edge)
type Case = (usize, usize, usize, usize, usize, usize, usize, usize, bool);
const CASES: &[Case] = &[
    (2, 3, 5, 3, 3, 0, 4, 3, true),
    (3, 4, 3, 5, 9, 2, 7, 3, true),
    (2, 3, 4, 6, 6, 0, 5, 1, false),
    (1, 3, 3, 0, 0, 0, 6, 3, true),
    (2, 2, 5, 4, 8, 4, 3, 3, false),
    // whole vec4s of inputs and outputs (the `_v4` weight-gradient entry), with and without edge
    (2, 3, 5, 8, 12, 4, 8, 3, true),
    (3, 2, 3, 4, 4, 0, 12, 1, false),
];

fn params(p: &ConvParams, n: usize, h: usize, w: usize, cin: usize, st: usize, off: usize) -> ConvParams {
    let mut q = *p;
    q.n = n as u32;
    q.h = h as u32;
    q.w = w as u32;
    q.cin = cin as u32;
    q.cin_stride = st as u32;
    q.cin_off = off as u32;
    q
}

/// S = Σ dacc ⊙ conv(x, W) on the f64 CPU backend.
fn score(x: &[f64], wt: &[f64], dacc: &[f64], p: ConvParams) -> f64 {
    let pm: ParamMap = [("w".to_string(), (vec![wt.len()], wt.to_vec()))].into_iter().collect();
    let mut g = Graph::default();
    let xb = g.io("x", x.len().max(1), DType::F32);
    let yb = g.io("y", dacc.len(), DType::F32);
    g.push(Conv2d { x: xb, y: yb, weight: "w".into(), bias: None, logs: None, p });
    let inputs = if x.is_empty() { vec![] } else { vec![(xb, Host::F(x.to_vec()))] };
    let y = run(&mut CpuBackend::<f64>::new(), &pm, g, inputs, &[yb], ARGS)[0].clone().floats();
    y.iter().zip(dacc).map(|(a, b)| a * b).sum()
}

struct Bwd {
    dx: Vec<f64>,
    gw: Vec<f64>,
}

fn backward<B: glowgpu::Backend>(
    b: &mut B,
    x: &[f64],
    wt: &[f64],
    g0: &[f64],
    dacc: &[f64],
    dx0: &[f64],
    p: ConvParams,
) -> Bwd {
    let pm: ParamMap =
        [("w".to_string(), (vec![wt.len()], wt.to_vec())), ("grad.w".to_string(), (vec![g0.len()], g0.to_vec()))]
            .into_iter()
            .collect();
    let mut g = Graph::default();
    let xb = g.io("x", x.len().max(1), DType::F32);
    let db = g.io("dacc", dacc.len(), DType::F32);
    let dxb: BufId = g.io("dx", dx0.len().max(1), DType::F32);
    ConvBackwardWeight::push(&mut g, xb, db, "w", p);
    if p.cin > 0 {
        g.push(ConvBackwardData { dacc: db, dx: dxb, weight: "w".into(), p });
    }
    let mut inputs = vec![(db, Host::F(dacc.to_vec()))];
    if !x.is_empty() {
        inputs.push((xb, Host::F(x.to_vec())));
        inputs.push((dxb, Host::F(dx0.to_vec())));
    }
    let out = run(b, &pm, g, inputs, &[dxb], ARGS);
    let gw = glowgpu::platform::block_on(b.read_params(&["grad.w".to_string()])).unwrap().remove(0);
    Bwd { dx: if x.is_empty() { vec![] } else { out[0].clone().floats() }, gw }
}

#[test]
fn conv_backward_matches_finite_differences_and_gpu() {
    let mut gpu = gpu();
    let mut rng = HostRng::new(77);
    for (ci, &(n, h, w, cin, st, off, cout, k, edge)) in CASES.iter().enumerate() {
        for accumulate in [false, true] {
            let mut p = params(&ConvParams::new(n, h, w, cin, cout, k, edge), n, h, w, cin, st, off);
            p.accumulate = accumulate as u32;
            let rows = cin + edge as usize;
            let x = randn(&mut rng, n * h * w * st, 1.0);
            let x = if cin == 0 { vec![] } else { x };
            let wt = randn(&mut rng, k * k * rows * cout, 0.5);
            let dacc = randn(&mut rng, n * h * w * cout, 1.0);
            let g0 = randn(&mut rng, wt.len(), 1.0);
            let dx0 = randn(&mut rng, x.len(), 1.0);
            let r = backward(&mut CpuBackend::<f64>::new(), &x, &wt, &g0, &dacc, &dx0, p);
            // finite differences of S w.r.t. W and x
            let eps = 1e-6;
            let fd_w: Vec<f64> = (0..wt.len())
                .map(|i| {
                    let (mut a, mut b) = (wt.clone(), wt.clone());
                    a[i] += eps;
                    b[i] -= eps;
                    (score(&x, &a, &dacc, p) - score(&x, &b, &dacc, p)) / (2.0 * eps)
                })
                .collect();
            let inc: Vec<f64> = r.gw.iter().zip(&g0).map(|(a, b)| a - b).collect();
            assert_close(&format!("case {ci}: dW vs finite differences"), &inc, &fd_w, 1e-6);
            if cin > 0 {
                let fd_x: Vec<f64> = (0..x.len())
                    .map(|i| {
                        let (mut a, mut b) = (x.clone(), x.clone());
                        a[i] += eps;
                        b[i] -= eps;
                        (score(&a, &wt, &dacc, p) - score(&b, &wt, &dacc, p)) / (2.0 * eps)
                    })
                    .collect();
                // outside the slice dx keeps its value; inside it is set or accumulated
                let want: Vec<f64> = (0..x.len())
                    .map(|i| {
                        let c = i % st;
                        let inside = c >= off && c < off + cin;
                        if !inside {
                            dx0[i]
                        } else if accumulate {
                            dx0[i] + fd_x[i]
                        } else {
                            fd_x[i]
                        }
                    })
                    .collect();
                assert_close(&format!("case {ci}: dx vs finite differences"), &r.dx, &want, 1e-6);
            }
            let gg = backward(&mut gpu, &x, &wt, &g0, &dacc, &dx0, p);
            assert_close(&format!("case {ci}: GPU dW"), &gg.gw, &r.gw, 1e-4);
            if cin > 0 {
                assert_close(&format!("case {ci}: GPU dx"), &gg.dx, &r.dx, 1e-4);
            }
        }
    }
}

#[test]
fn pack_refreshes_the_forward_weights_on_the_gpu() {
    // a conv after new plain values were written by an op: ConvPack makes the forward kernel see them
    let mut gpu = gpu();
    let mut rng = HostRng::new(78);
    let (n, h, w, cin, cout) = (2, 3, 4, 5, 6);
    let p = ConvParams::new(n, h, w, cin, cout, 3, true);
    let x = randn(&mut rng, n * h * w * cin, 1.0);
    let w1 = randn(&mut rng, 9 * (cin + 1) * cout, 0.5);
    let w2 = randn(&mut rng, w1.len(), 0.5);
    let pm = |v: &[f64]| -> ParamMap { [("w".to_string(), (vec![v.len()], v.to_vec()))].into_iter().collect() };
    let make = |with_pack: bool| {
        let mut g = Graph::default();
        let xb = g.io("x", x.len(), DType::F32);
        let yb = g.io("y", n * h * w * cout, DType::F32);
        if with_pack {
            g.push(ConvPack { weight: "w".into(), p, transposed: false });
        }
        g.push(Conv2d { x: xb, y: yb, weight: "w".into(), bias: None, logs: None, p });
        (g, xb, yb)
    };

    gpu.set_params(&pm(&w1)).unwrap();
    let (g, xb, yb) = make(true);
    let mut plan = gpu.build(g).unwrap();
    // overwrite only the plain copy (as an optimizer op would), then run with the pack op
    gpu.write_plain_param("w", &w2).unwrap();
    let got = glowgpu::platform::block_on(gpu.run(&mut plan, vec![(xb, Host::F(x.clone()))], &[yb], ARGS)).unwrap();
    let (g, xb2, yb2) = make(false);
    let want = run(&mut CpuBackend::<f64>::new(), &pm(&w2), g, vec![(xb2, Host::F(x.clone()))], &[yb2], ARGS);
    assert_close("conv after pack", &got[0].clone().floats(), &want[0].clone().floats(), 1e-4);

    // the same for the input gradient, which reads the transposed form (`pack_t`), into a channel
    // slice of a wider tensor, adding to what is there
    let mut q = p;
    q.cin_stride = cin as u32 + 3;
    q.cin_off = 2;
    q.accumulate = 1;
    let d = randn(&mut rng, n * h * w * cout, 1.0);
    let dx0 = randn(&mut rng, n * h * w * (cin + 3), 1.0);
    let make = |with_pack: bool| {
        let mut g = Graph::default();
        let db = g.io("d", d.len(), DType::F32);
        let dxb = g.io("dx", dx0.len(), DType::F32);
        if with_pack {
            g.push(ConvPack { weight: "w".into(), p, transposed: true });
        }
        g.push(ConvBackwardData { dacc: db, dx: dxb, weight: "w".into(), p: q });
        (g, db, dxb)
    };
    gpu.set_params(&pm(&w1)).unwrap();
    let (g, db, dxb) = make(true);
    let mut plan = gpu.build(g).unwrap();
    gpu.write_plain_param("w", &w2).unwrap();
    let inputs = |db, dxb| vec![(db, Host::F(d.clone())), (dxb, Host::F(dx0.clone()))];
    let got = glowgpu::platform::block_on(gpu.run(&mut plan, inputs(db, dxb), &[dxb], ARGS)).unwrap();
    let (g, db2, dxb2) = make(false);
    let want = run(&mut CpuBackend::<f64>::new(), &pm(&w2), g, inputs(db2, dxb2), &[dxb2], ARGS);
    assert_close("input gradient after pack_t", &got[0].clone().floats(), &want[0].clone().floats(), 1e-4);
}

#[test]
fn weight_gradient_over_many_pixels() {
    // 65536 pixels: more than one invocation may loop over on llvmpipe (65535-iteration cap)
    big_weight_grad_inner();
}

fn big_weight_grad_inner() {
    let mut rng = HostRng::new(1);
    let (n, h, w, cin, cout) = (16, 64, 64, 4, 4);
    let p = ConvParams::new(n, h, w, cin, cout, 3, true);
    let x = randn(&mut rng, n * h * w * cin, 1.0);
    let d = randn(&mut rng, n * h * w * cout, 1.0);
    let kk = 9 * (cin + 1) * cout;
    let pm: ParamMap =
        [("w".to_string(), (vec![kk], vec![0.0; kk])), ("grad.w".to_string(), (vec![kk], vec![0.0; kk]))]
            .into_iter()
            .collect();
    let mk = || {
        let mut g = Graph::default();
        let xb = g.io("x", x.len(), DType::F32);
        let db = g.io("d", d.len(), DType::F32);
        ConvBackwardWeight::push(&mut g, xb, db, "w", p);
        (g, vec![(xb, Host::F(x.clone())), (db, Host::F(d.clone()))])
    };
    let mut c = glowgpu::CpuBackend::<f64>::new();
    let (g, i) = mk();
    run(&mut c, &pm, g, i, &[], RunArgs::default());
    let want = glowgpu::platform::block_on(c.read_params(&["grad.w".into()])).unwrap().remove(0);
    let mut gp = gpu();
    let (g, i) = mk();
    run(&mut gp, &pm, g, i, &[], RunArgs::default());
    let got = glowgpu::platform::block_on(gp.read_params(&["grad.w".into()])).unwrap().remove(0);
    assert_close("big dW", &got, &want, 1e-4);
}

/// Direct sums of the convolution gradients (the definition, no GEMM): `dW[t, r, co]` and `dx`.
fn naive_backward(x: &[f64], wt: &[f64], dacc: &[f64], p: &ConvParams) -> (Vec<f64>, Vec<f64>) {
    let (n, h, w) = (p.n as usize, p.h as usize, p.w as usize);
    let (cin, cout, k, st, off) =
        (p.cin as usize, p.cout as usize, p.k as usize, p.cin_stride as usize, p.cin_off as usize);
    let rows = cin + p.edge as usize;
    let half = (k / 2) as isize;
    let mut gw = vec![0.0; k * k * rows * cout];
    let mut dx = vec![0.0; n * h * w * st];
    for b in 0..n {
        for yy in 0..h {
            for xx in 0..w {
                let o = (b * h + yy) * w + xx;
                for t in 0..k * k {
                    let (iy, ix) = (yy as isize + (t / k) as isize - half, xx as isize + (t % k) as isize - half);
                    let inside = iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w;
                    let q = if inside { (b * h + iy as usize) * w + ix as usize } else { 0 };
                    for co in 0..cout {
                        let d = dacc[o * cout + co];
                        for ci in 0..rows {
                            let xv = match (inside, ci < cin) {
                                (true, true) => x[q * st + off + ci],
                                (false, false) => 1.0,
                                _ => 0.0,
                            };
                            gw[(t * rows + ci) * cout + co] += xv * d;
                            if inside && ci < cin {
                                dx[q * st + off + ci] += wt[(t * rows + ci) * cout + co] * d;
                            }
                        }
                    }
                }
            }
        }
    }
    (gw, dx)
}

#[test]
fn cpu_gradients_over_many_pixel_chunks_match_direct_sums() {
    // 2 x 40 x 41 = 3280 pixels: more than one WEIGHT_CHUNK (2048) of partial sums, and more than
    // one parallel task of the gathers; every CPU path: 1x1 (strided slice), im2col + Z gather
    // (more outputs than inputs), tap gather D (fewer outputs than inputs, strided, edge)
    let cases: &[Case] =
        &[(2, 40, 41, 6, 9, 2, 5, 1, false), (2, 40, 41, 3, 3, 0, 7, 3, true), (2, 40, 41, 8, 11, 3, 3, 3, true)];
    let mut rng = HostRng::new(9);
    for (ci, &(n, h, w, cin, st, off, cout, k, edge)) in cases.iter().enumerate() {
        let p = params(&ConvParams::new(n, h, w, cin, cout, k, edge), n, h, w, cin, st, off);
        let kk = k * k * (cin + edge as usize) * cout;
        let x = randn(&mut rng, n * h * w * st, 1.0);
        let wt = randn(&mut rng, kk, 1.0);
        let dacc = randn(&mut rng, n * h * w * cout, 1.0);
        let (want_w, want_dx) = naive_backward(&x, &wt, &dacc, &p);
        let mut cpu = CpuBackend::<f64>::new();
        let r = backward(&mut cpu, &x, &wt, &vec![0.0; kk], &dacc, &vec![0.0; x.len()], p);
        assert_close(&format!("case {ci}: dW vs direct sums"), &r.gw, &want_w, 1e-12);
        // outside the channel slice dx keeps its (zero) value: the direct sums leave it zero too
        assert_close(&format!("case {ci}: dx vs direct sums"), &r.dx, &want_dx, 1e-12);
    }
}

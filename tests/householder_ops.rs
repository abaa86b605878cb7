//! The Householder 1x1 conv's device ops (`HouseholderCompose`, `HouseholderGrad`): CPU f64
//! against a dense f64 product of the reflections (<= 1e-12, W orthogonal to 1e-12) and the
//! gradient against central finite differences of `L = Σ dW ⊙ W(v)` (per element, <= 1e-6 with
//! an absolute floor of 1); CPU f32 and the GPU against CPU f64 (<= 1e-4, as the invconv ops).
use crate::common;
use common::*;

use std::collections::BTreeMap;

use glowgpu::backend::{Backend, ParamMap};
use glowgpu::graph::{Graph, RunArgs};
use glowgpu::linalg::Mat;
use glowgpu::ops::householder::{HouseholderCompose, HouseholderGrad, HouseholderParams};
use glowgpu::platform::block_on;
use glowgpu::rng::HostRng;
use glowgpu::CpuBackend;

const TOL_GPU: f64 = 1e-4;
const TOL_F32: f64 = 1e-4;
const TOL_REF: f64 = 1e-12;
const TOL_FD: f64 = 1e-6;
const ARGS: RunArgs = RunArgs { seed: 7, temperature: 1.0 };

/// Awkward shapes: (C, R). R = C is the layer; R ≠ C, 128 (two rows per invocation) and 136
/// (the largest C that `grad` gets right on lavapipe, see `src/ops/householder.rs`) besides.
const SHAPES: &[(usize, usize)] =
    &[(1, 1), (3, 3), (12, 12), (47, 47), (96, 96), (12, 5), (5, 9), (128, 128), (136, 136)];

fn run_read<B: Backend>(b: &mut B, params: &ParamMap, g: Graph, names: &[String]) -> Vec<Vec<f64>> {
    run(b, params, g, vec![], &[], ARGS);
    block_on(b.read_params(names)).unwrap()
}

/// `assert_close`, printing the error (visible with `--nocapture`).
fn close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    if got.iter().all(|v| v.is_finite()) {
        println!("{what}: relative error {:.2e} (tolerance {tol:.0e})", rel_err(got, want));
    }
    assert_close(what, got, want, tol);
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

fn f32r(v: Vec<f64>) -> Vec<f64> {
    v.into_iter().map(|x| x as f32 as f64).collect()
}

/// `[r, c]` reflection vectors with row norms spread over about [0.1, 5] (the ops must
/// normalise), representable in f32; row `zero_row` (if any) is zero.
fn random_v(rng: &mut HostRng, c: usize, r: usize, zero_row: Option<usize>) -> Vec<f64> {
    let mut v = Vec::with_capacity(r * c);
    for k in 0..r {
        let scale = (rng.normal() * 0.8).exp() / (c as f64).sqrt();
        let row = randn(rng, c, scale);
        v.extend(row.into_iter().map(|x| if Some(k) == zero_row { 0.0 } else { x }));
    }
    f32r(v)
}

/// Independent f64 reference: each `H_k = I − 2 v vᵀ/|v|²` built densely, multiplied in order
/// (`H_k = I` for `v_k = 0`).
fn dense_w(v: &[f64], c: usize, r: usize) -> Mat {
    let mut w = Mat::eye(c);
    for k in 0..r {
        let vk = &v[k * c..(k + 1) * c];
        let n2: f64 = vk.iter().map(|x| x * x).sum();
        let mut h = Mat::eye(c);
        if n2 > 0.0 {
            for i in 0..c {
                for j in 0..c {
                    h.set(i, j, h.at(i, j) - 2.0 * vk[i] * vk[j] / n2);
                }
            }
        }
        w = w.matmul(&h);
    }
    w
}

/// W(v) by applying the reflections to the identity's rows, `M ← M − 2 (M v) vᵀ/|v|²`: O(R·C²),
/// for the finite differences.
fn fast_w(v: &[f64], c: usize, r: usize) -> Vec<f64> {
    let mut m = Mat::eye(c).a;
    for k in 0..r {
        let vk = &v[k * c..(k + 1) * c];
        let n2: f64 = vk.iter().map(|x| x * x).sum();
        if n2 == 0.0 {
            continue;
        }
        for row in m.chunks_exact_mut(c) {
            let t: f64 = row.iter().zip(vk).map(|(a, b)| a * b).sum::<f64>() * 2.0 / n2;
            row.iter_mut().zip(vk).for_each(|(a, b)| *a -= t * b);
        }
    }
    m
}

fn names(pre: &str) -> [String; 5] {
    [
        format!("{pre}.householder.v"),
        format!("derived.{pre}.householder.w"),
        format!("derived.{pre}.householder.w_inv"),
        format!("grad.{pre}.householder.w"),
        format!("grad.{pre}.householder.v"),
    ]
}

/// Parameters of one case: v, zeroed W / Wᵀ, dL/dW and the gradient accumulator's start.
fn case_params(pre: &str, c: usize, r: usize, v: &[f64], dw: &[f64], gv0: &[f64]) -> ParamMap {
    let [nv, nw, ninv, ndw, ngv] = names(pre);
    let mut m: ParamMap = BTreeMap::new();
    m.insert(nv, (vec![r, c], v.to_vec()));
    m.insert(nw, (vec![c, c], vec![0.0; c * c]));
    m.insert(ninv, (vec![c, c], vec![0.0; c * c]));
    m.insert(ndw, (vec![c, c], dw.to_vec()));
    m.insert(ngv, (vec![r, c], gv0.to_vec()));
    m
}

fn compose_op(pre: &str, c: usize, r: usize) -> HouseholderCompose {
    let mut op = HouseholderCompose::new(pre, c);
    op.p = HouseholderParams::with_reflections(c, r);
    op
}

/// A training step's order: compose (forward), then the gradient (R = C: as a layer pushes it).
fn compose_and_grad(pre: &str, c: usize, r: usize) -> Graph {
    let mut g = Graph::default();
    g.push(compose_op(pre, c, r));
    if r == c {
        HouseholderGrad::push(&mut g, pre, c);
        return g;
    }
    let scratch = g.buf("scratch", HouseholderGrad::scratch_len(c));
    let mut op = HouseholderGrad::new(pre, c, scratch);
    op.p = HouseholderParams::with_reflections(c, r);
    op.p._pad = [5, 9]; // padding is ignored
    g.push(op);
    g
}

fn transpose(v: &[f64], c: usize) -> Vec<f64> {
    (0..c * c).map(|e| v[(e % c) * c + e / c]).collect()
}

#[test]
fn compose_matches_dense_product_and_is_orthogonal() {
    let mut rng = HostRng::new(31);
    let mut cases: Vec<(usize, usize, Option<usize>)> = SHAPES.iter().map(|&(c, r)| (c, r, None)).collect();
    cases.push((7, 7, Some(3)));
    cases.push((4, 0, None));
    for (c, r, zero) in cases {
        let pre = format!("h{c}r{r}");
        let v = random_v(&mut rng, c, r, zero);
        let params = case_params(&pre, c, r, &v, &vec![0.0; c * c], &vec![0.0; r * c]);
        let [_, nw, ninv, ..] = names(&pre);
        let out = [nw, ninv];
        let make = || {
            let mut g = Graph::default();
            g.push(compose_op(&pre, c, r));
            g
        };
        let want = run_read(&mut CpuBackend::<f64>::new(), &params, make(), &out);
        let dense = dense_w(&v, c, r);
        let e = max_abs_diff(&want[0], &dense.a);
        println!("C={c} R={r} W (CPU f64 vs dense product): max abs error {e:.2e}");
        assert!(e <= TOL_REF, "C={c} R={r}: W differs from the dense product by {e:.3e}");
        assert_eq!(want[1], transpose(&want[0], c), "C={c} R={r}: w_inv is not exactly Wᵀ");
        let wwt = Mat { n: c, a: want[0].clone() }.matmul(&Mat { n: c, a: want[1].clone() });
        let e = max_abs_diff(&wwt.a, &Mat::eye(c).a);
        assert!(e <= TOL_REF, "C={c} R={r}: |W Wᵀ − I| = {e:.3e}");
        if r > 0 {
            let det = dense.logabsdet();
            assert!(det.abs() < 1e-10, "C={c} R={r}: log|det W| = {det}");
        }
        let f32s = run_read(&mut CpuBackend::<f32>::new(), &params, make(), &out);
        close(&format!("C={c} R={r} W (CPU f32)"), &f32s[0], &want[0], TOL_F32);
        close(&format!("C={c} R={r} W^T (CPU f32)"), &f32s[1], &want[1], TOL_F32);
    }
}

#[test]
fn grad_matches_finite_differences() {
    let mut rng = HostRng::new(32);
    // the zero row's central differences are 0 too (H(h e_k) = H(−h e_k)), as the op's convention
    let cases =
        [(1, 1, None), (3, 3, None), (12, 12, None), (47, 47, None), (12, 5, None), (5, 9, None), (7, 7, Some(2))];
    for (c, r, zero) in cases {
        let pre = format!("g{c}r{r}");
        let v = random_v(&mut rng, c, r, zero);
        let dw = randn(&mut rng, c * c, 1.0);
        let gv0 = randn(&mut rng, r * c, 0.5);
        let params = case_params(&pre, c, r, &v, &dw, &gv0);
        let ngv = names(&pre)[4].clone();
        let got = run_read(&mut CpuBackend::<f64>::new(), &params, compose_and_grad(&pre, c, r), &[ngv]);
        let delta: Vec<f64> = got[0].iter().zip(&gv0).map(|(a, b)| a - b).collect();
        let want = central(&v, |x| fast_w(x, c, r).iter().zip(&dw).map(|(a, b)| a * b).sum());
        let worst = delta.iter().zip(&want).map(|(g, f)| (g - f).abs() / f.abs().max(1.0)).fold(0.0, f64::max);
        println!("C={c} R={r} dL/dv (CPU f64 vs finite differences): worst scaled error {worst:.2e}");
        for (e, (g, f)) in delta.iter().zip(&want).enumerate() {
            assert!(
                (g - f).abs() <= TOL_FD * f.abs().max(1.0),
                "C={c} R={r}: dL/dv[{}][{}] = {g}, finite differences {f}",
                e / c,
                e % c
            );
        }
        if let Some(z) = zero {
            assert!(delta[z * c..(z + 1) * c].iter().all(|&d| d == 0.0), "zero row's gradient is not 0");
        }
        // the finite differences' W(v) is the dense product
        assert!(max_abs_diff(&fast_w(&v, c, r), &dense_w(&v, c, r).a) <= TOL_REF);
    }
}

#[test]
fn gpu_and_f32_match_f64() {
    let mut gpu = gpu();
    let mut rng = HostRng::new(33);
    for &(c, r) in SHAPES {
        let pre = format!("d{c}r{r}");
        let v = random_v(&mut rng, c, r, None);
        let dw = f32r(randn(&mut rng, c * c, 1.0));
        let gv0 = f32r(randn(&mut rng, r * c, 0.5));
        let params = case_params(&pre, c, r, &v, &dw, &gv0);
        let [_, nw, ninv, _, ngv] = names(&pre);
        let out = [nw, ninv, ngv];
        let want = run_read(&mut CpuBackend::<f64>::new(), &params, compose_and_grad(&pre, c, r), &out);
        let f32s = run_read(&mut CpuBackend::<f32>::new(), &params, compose_and_grad(&pre, c, r), &out);
        let got = run_read(&mut gpu, &params, compose_and_grad(&pre, c, r), &out);
        // the accumulated part alone (the start values would hide errors in it)
        let delta = |g: &[f64]| g.iter().zip(&gv0).map(|(a, b)| a - b).collect::<Vec<_>>();
        for (k, what) in ["W", "W^T"].iter().enumerate() {
            close(&format!("C={c} R={r} {what} (CPU f32)"), &f32s[k], &want[k], TOL_F32);
            close(&format!("C={c} R={r} {what} (GPU)"), &got[k], &want[k], TOL_GPU);
        }
        let dwant = delta(&want[2]);
        close(&format!("C={c} R={r} dL/dv (CPU f32)"), &delta(&f32s[2]), &dwant, TOL_F32);
        close(&format!("C={c} R={r} dL/dv (GPU)"), &delta(&got[2]), &dwant, TOL_GPU);
    }
}

#[test]
fn gpu_zero_reflection_is_identity_with_zero_gradient() {
    let mut gpu = gpu();
    let mut rng = HostRng::new(34);
    let (c, r) = (9, 9);
    let pre = "z";
    let v = random_v(&mut rng, c, r, Some(4));
    let dw = f32r(randn(&mut rng, c * c, 1.0));
    let params = case_params(pre, c, r, &v, &dw, &vec![0.0; r * c]);
    let [_, nw, _, _, ngv] = names(pre);
    let out = [nw, ngv];
    let want = run_read(&mut CpuBackend::<f64>::new(), &params, compose_and_grad(pre, c, r), &out);
    let got = run_read(&mut gpu, &params, compose_and_grad(pre, c, r), &out);
    close("zero row: W (GPU)", &got[0], &want[0], TOL_GPU);
    close("zero row: dL/dv (GPU)", &got[1], &want[1], TOL_GPU);
    assert!(got[1][4 * c..5 * c].iter().all(|&d| d == 0.0), "GPU: the zero row's gradient is not 0");
}

#[test]
#[should_panic(expected = "C = 1025 > 1024")]
fn channels_past_the_workgroup_memory_bound_are_refused() {
    HouseholderParams::new(1025);
}

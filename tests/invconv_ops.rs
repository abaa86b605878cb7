//! The 1x1 conv's device-side derived tensors (`InvconvPrepare`) and parameter gradients
//! (`InvconvLuGradPermute` + `InvconvLuGrad`, `InvconvLogdetGrad`): CPU f64 against
//! `src/linalg.rs` / `params::lu_compose` (relative error <= 1e-10) and against central finite
//! differences (<= 1e-6), CPU f32 and the GPU against CPU f64 (<= 1e-4).
use crate::common;
use common::*;

use std::collections::BTreeMap;

use glowgpu::backend::{Backend, ParamMap};
use glowgpu::graph::{Graph, RunArgs};
use glowgpu::linalg::Mat;
use glowgpu::ops::invconv::{push_lu_grad, InvconvLogdetGrad, InvconvPrepare, LuNames};
use glowgpu::params::{lu_compose, Tensor};
use glowgpu::platform::block_on;
use glowgpu::rng::HostRng;
use glowgpu::{CpuBackend, GlowConfig, Params, Permutation};

const TOL_GPU: f64 = 1e-4;
const TOL_F32: f64 = 1e-4;
const TOL_REF: f64 = 1e-10;
const TOL_FD: f64 = 1e-6;
const ARGS: RunArgs = RunArgs { seed: 7, temperature: 1.0 };
const LD: f64 = -0.75; // exact in f32 (the ops take it as f32)

/// Runs `g` (no graph inputs or outputs) and reads the parameters `names` back.
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

fn mat(v: &[f64], c: usize) -> Mat {
    Mat { n: c, a: v.to_vec() }
}

fn transpose(v: &[f64], c: usize) -> Vec<f64> {
    (0..c * c).map(|e| v[(e % c) * c + e / c]).collect()
}

fn f32r(v: Vec<f64>) -> Vec<f64> {
    v.into_iter().map(|x| x as f32 as f64).collect()
}

/// A well-conditioned W: a scaled random rotation plus noise (singular values in about [0.8, 1.4]).
fn rotation_plus_noise(rng: &mut HostRng, c: usize) -> Vec<f64> {
    let q = mat(&randn(rng, c * c, 1.0), c).qr_q();
    let noise = randn(rng, c * c, 0.15 / (c as f64).sqrt());
    f32r(q.a.iter().zip(&noise).map(|(a, n)| 1.1 * a + n).collect())
}

/// LU parameters, values representable in f32.
#[derive(Clone)]
struct Lu {
    c: usize,
    p: Vec<f64>,
    sign: Vec<f64>,
    log_s: Vec<f64>,
    lower: Vec<f64>,
    upper: Vec<f64>,
}

impl Lu {
    /// From a random rotation's pivoted LU (as `Params::init` makes them), then perturbed.
    fn random(rng: &mut HostRng, c: usize, noise: f64) -> Self {
        let w = mat(&randn(rng, c * c, 1.0), c).qr_q();
        let (p, l, u) = w.lu();
        let mut lu = Lu {
            c,
            p: p.a,
            sign: (0..c).map(|i| u.at(i, i).signum()).collect(),
            log_s: (0..c).map(|i| u.at(i, i).abs().ln()).collect(),
            lower: (0..c * c).map(|e| if e / c > e % c { l.a[e] } else { 0.0 }).collect(),
            upper: (0..c * c).map(|e| if e / c < e % c { u.a[e] } else { 0.0 }).collect(),
        };
        lu.perturb(rng, noise);
        lu
    }
    /// From `Params::init` (an `invconv_lu` config, perturbed as the other op tests do).
    fn from_params(p: &Params, prefix: &str, c: usize) -> Self {
        let g = |n: &str| p.get(&format!("{prefix}.invconv.{n}")).data.iter().map(|&v| v as f64).collect::<Vec<_>>();
        Lu { c, p: g("p"), sign: g("sign_s"), log_s: g("log_s"), lower: g("lower"), upper: g("upper") }
    }
    /// Moves the trainable factors (all entries, masked ones included) and shifts log_s so that
    /// log|det W| is far from 0.
    fn perturb(&mut self, rng: &mut HostRng, noise: f64) {
        for v in [&mut self.lower, &mut self.upper, &mut self.log_s] {
            let n = randn(rng, v.len(), noise);
            *v = f32r(v.iter().zip(&n).map(|(a, b)| a + b).collect());
        }
        self.log_s = f32r(self.log_s.iter().map(|v| v + 0.1).collect());
    }
    fn params(&self, prefix: &str) -> ParamMap {
        let n = LuNames::new(prefix);
        let c = self.c;
        [(n.p, &self.p), (n.sign_s, &self.sign), (n.log_s, &self.log_s), (n.lower, &self.lower), (n.upper, &self.upper)]
            .into_iter()
            .map(|(k, v)| (k, (if v.len() == c { vec![c] } else { vec![c, c] }, v.clone())))
            .collect()
    }
    /// `params::lu_compose` on these values (exact in f32).
    fn reference_w(&self, prefix: &str) -> Mat {
        let map: BTreeMap<String, Tensor> = self
            .params(prefix)
            .into_iter()
            .map(|(k, (shape, v))| (k, Tensor { shape, data: v.iter().map(|&x| x as f32).collect() }))
            .collect();
        lu_compose(&Params { map, actnorm_initialized: false }, prefix, self.c)
    }
    /// `W = P (I + tril(lower, -1)) (triu(upper, 1) + diag(sign exp(log_s)))` in f64.
    fn compose(&self, lower: &[f64], upper: &[f64], log_s: &[f64]) -> Mat {
        let c = self.c;
        let mut l = Mat::eye(c);
        let mut u = Mat::zeros(c);
        for i in 0..c {
            for j in 0..c {
                if i > j {
                    l.set(i, j, lower[i * c + j]);
                } else if i < j {
                    u.set(i, j, upper[i * c + j]);
                }
            }
            u.set(i, i, self.sign[i] * log_s[i].exp());
        }
        mat(&self.p, c).matmul(&l).matmul(&u)
    }
}

fn zeros_entry(c: usize, len: usize) -> (Vec<usize>, Vec<f64>) {
    (if len == 1 { vec![1] } else { vec![c, c] }, vec![0.0; len])
}

fn derived_names(prefix: &str) -> [String; 3] {
    [
        format!("derived.{prefix}.invconv.w"),
        format!("derived.{prefix}.invconv.w_inv"),
        format!("derived.{prefix}.invconv.logabsdet"),
    ]
}

fn check_inverse_on_gpu(what: &str, inv: &[f64], w: &[f64], c: usize) {
    let prod = mat(inv, c).matmul(&mat(w, c));
    close(&format!("{what}: GPU W^-1 W = I"), &prod.a, &Mat::eye(c).a, TOL_GPU);
}

#[test]
fn prepare_plain_matches_linalg_and_gpu() {
    let mut gpu = gpu();
    let mut rng = HostRng::new(21);
    for c in [1, 5, 12, 33, 64, 65, 130, 200] {
        let pre = format!("t{c}");
        let w = rotation_plus_noise(&mut rng, c);
        let [_, w_inv, logdet] = derived_names(&pre);
        let mut params: ParamMap = BTreeMap::new();
        params.insert(format!("{pre}.invconv.w"), (vec![c, c], w.clone()));
        params.insert(w_inv.clone(), zeros_entry(c, c * c));
        params.insert(logdet.clone(), zeros_entry(c, 1));
        let make = || {
            let mut g = Graph::default();
            let scratch = g.buf("scratch", InvconvPrepare::scratch_len(c));
            let mut op = InvconvPrepare::plain(&pre, c, scratch);
            op.p._pad = [0, 9];
            g.push(op);
            g
        };
        let names = vec![w_inv.clone(), logdet.clone()];
        let want = run_read(&mut CpuBackend::<f64>::new(), &params, make(), &names);
        let m = mat(&w, c);
        close(&format!("C={c} plain W^-1 (CPU f64 vs linalg)"), &want[0], &m.inverse().a, TOL_REF);
        close(&format!("C={c} plain log|det| (CPU f64 vs linalg)"), &want[1], &[m.logabsdet()], TOL_REF);
        assert!(m.logabsdet().abs() > 0.05, "test matrix with log|det W| = {}", m.logabsdet());
        let f32s = run_read(&mut CpuBackend::<f32>::new(), &params, make(), &names);
        close(&format!("C={c} plain W^-1 (CPU f32)"), &f32s[0], &want[0], TOL_F32);
        close(&format!("C={c} plain log|det| (CPU f32)"), &f32s[1], &want[1], TOL_F32);
        let got = run_read(&mut gpu, &params, make(), &names);
        close(&format!("C={c} plain W^-1 (GPU)"), &got[0], &want[0], TOL_GPU);
        close(&format!("C={c} plain log|det| (GPU)"), &got[1], &want[1], TOL_GPU);
        check_inverse_on_gpu(&format!("C={c} plain"), &got[0], &w, c);
    }
}

/// LU test cases: from `Params::init` (C = 12, 24) and from random rotations (C = 1, 5, 33, 100).
fn lu_cases() -> Vec<Lu> {
    let mut cfg = GlowConfig::tiny(8, 8, 3);
    cfg.permutation = Permutation::InvconvLu;
    let p = perturbed(&cfg, 3, 0.05);
    let mut rng = HostRng::new(22);
    let mut out = vec![Lu::random(&mut rng, 1, 0.05), Lu::random(&mut rng, 5, 0.05)];
    for (l, c) in [(0, 12), (1, 24)] {
        let mut lu = Lu::from_params(&p, &glowgpu::params::step_prefix(l, 0), c);
        assert_eq!(lu.p.len(), c * c);
        lu.log_s = f32r(lu.log_s.iter().map(|v| v + 0.1).collect());
        out.push(lu);
    }
    out.push(Lu::random(&mut rng, 33, 0.05));
    out.push(Lu::random(&mut rng, 100, 0.01));
    out
}

#[test]
fn prepare_lu_matches_lu_compose_and_gpu() {
    let mut gpu = gpu();
    for lu in lu_cases() {
        let c = lu.c;
        let pre = format!("lu{c}");
        let names = derived_names(&pre).to_vec();
        let mut params = lu.params(&pre);
        for (n, len) in names.iter().zip([c * c, c * c, 1]) {
            params.insert(n.clone(), zeros_entry(c, len));
        }
        let make = || {
            let mut g = Graph::default();
            g.push(InvconvPrepare::lu(&pre, c));
            g
        };
        let want = run_read(&mut CpuBackend::<f64>::new(), &params, make(), &names);
        let r = lu.reference_w(&pre);
        close(&format!("C={c} LU W (CPU f64 vs lu_compose)"), &want[0], &r.a, TOL_REF);
        close(&format!("C={c} LU W^-1 (CPU f64 vs linalg)"), &want[1], &r.inverse().a, TOL_REF);
        close(&format!("C={c} LU log|det| (CPU f64 vs linalg)"), &want[2], &[r.logabsdet()], TOL_REF);
        assert!(r.logabsdet().abs() > 0.05, "test matrix with log|det W| = {}", r.logabsdet());
        let f32s = run_read(&mut CpuBackend::<f32>::new(), &params, make(), &names);
        let got = run_read(&mut gpu, &params, make(), &names);
        for (k, what) in ["W", "W^-1", "log|det|"].iter().enumerate() {
            close(&format!("C={c} LU {what} (CPU f32)"), &f32s[k], &want[k], TOL_F32);
            close(&format!("C={c} LU {what} (GPU)"), &got[k], &want[k], TOL_GPU);
        }
        check_inverse_on_gpu(&format!("C={c} LU"), &got[1], &r.a, c);
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn lu_grad_matches_finite_differences_and_gpu() {
    let mut gpu = gpu();
    let mut rng = HostRng::new(23);
    for lu in lu_cases().into_iter().filter(|l| l.c <= 33) {
        let c = lu.c;
        let pre = format!("g{c}");
        let gw = randn(&mut rng, c * c, 1.0);
        let g = |n: &str| format!("grad.{pre}.invconv.{n}");
        let init: Vec<Vec<f64>> = [c * c, c * c, c].iter().map(|&n| randn(&mut rng, n, 0.5)).collect();
        let names = vec![g("lower"), g("upper"), g("log_s")];
        let mut params = lu.params(&pre);
        params.insert(g("w"), (vec![c, c], gw.clone()));
        for (n, v) in names.iter().zip(&init) {
            params.insert(n.clone(), (vec![v.len()], v.clone()));
        }
        for (n, len) in derived_names(&pre).iter().zip([c * c, c * c, 1]) {
            params.insert(n.clone(), zeros_entry(c, len));
        }
        // a training step's order: prepare (forward), then the gradient
        let make = || {
            let mut gr = Graph::default();
            gr.push(InvconvPrepare::lu(&pre, c));
            push_lu_grad(&mut gr, &pre, c, LD);
            gr
        };
        let want = run_read(&mut CpuBackend::<f64>::new(), &params, make(), &names);
        let loss = |lower: &[f64], upper: &[f64], log_s: &[f64]| {
            let w = lu.compose(lower, upper, log_s);
            dot(&gw, &w.a) + LD * w.logabsdet()
        };
        let fds = [
            central(&lu.lower, |x| loss(x, &lu.upper, &lu.log_s)),
            central(&lu.upper, |x| loss(&lu.lower, x, &lu.log_s)),
            central(&lu.log_s, |x| loss(&lu.lower, &lu.upper, x)),
        ];
        let f32s = run_read(&mut CpuBackend::<f32>::new(), &params, make(), &names);
        let got = run_read(&mut gpu, &params, make(), &names);
        for k in 0..3 {
            let delta: Vec<f64> = want[k].iter().zip(&init[k]).map(|(a, b)| a - b).collect();
            close(&format!("C={c} {} (CPU f64 vs finite differences)", names[k]), &delta, &fds[k], TOL_FD);
            close(&format!("C={c} {} (CPU f32)", names[k]), &f32s[k], &want[k], TOL_F32);
            close(&format!("C={c} {} (GPU)", names[k]), &got[k], &want[k], TOL_GPU);
        }
    }
}

#[test]
fn logdet_grad_matches_finite_differences_and_gpu() {
    let mut gpu = gpu();
    let mut rng = HostRng::new(24);
    for c in [1, 5, 12, 33] {
        let pre = format!("d{c}");
        let w = rotation_plus_noise(&mut rng, c);
        let gw = randn(&mut rng, c * c, 1.0);
        let gname = format!("grad.{pre}.invconv.w");
        let [_, w_inv, logdet] = derived_names(&pre);
        let mut params: ParamMap = BTreeMap::new();
        params.insert(format!("{pre}.invconv.w"), (vec![c, c], w.clone()));
        params.insert(w_inv.clone(), zeros_entry(c, c * c));
        params.insert(logdet.clone(), zeros_entry(c, 1));
        // the accumulator starts at the data term's gradient G (as if a conv op had written it)
        params.insert(gname.clone(), (vec![c, c], gw.clone()));
        let make = || {
            let mut g = Graph::default();
            let scratch = g.buf("scratch", InvconvPrepare::scratch_len(c));
            g.push(InvconvPrepare::plain(&pre, c, scratch));
            g.push(InvconvLogdetGrad::new(&pre, c, LD));
            g
        };
        let names = vec![gname.clone(), w_inv.clone()];
        let want = run_read(&mut CpuBackend::<f64>::new(), &params, make(), &names);
        let fds = central(&w, |x| dot(&gw, x) + LD * mat(x, c).logabsdet());
        close(&format!("C={c} grad.w (CPU f64 vs finite differences)"), &want[0], &fds, TOL_FD);
        let direct: Vec<f64> = gw.iter().zip(transpose(&want[1], c)).map(|(g, t)| g + LD * t).collect();
        close(&format!("C={c} grad.w = G + ld W^-T"), &want[0], &direct, 1e-14);
        let f32s = run_read(&mut CpuBackend::<f32>::new(), &params, make(), &names);
        close(&format!("C={c} grad.w (CPU f32)"), &f32s[0], &want[0], TOL_F32);
        let got = run_read(&mut gpu, &params, make(), &names);
        close(&format!("C={c} grad.w (GPU)"), &got[0], &want[0], TOL_GPU);
    }
}

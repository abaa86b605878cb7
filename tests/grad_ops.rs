//! Backward ops (docs/backward.md): each CPU f64 backward against central finite differences
//! (h = 1e-6) of a scalar loss built from the op's FORWARD CPU f64 implementation (relative error
//! <= 1e-6); each GPU backward entry point against the CPU f64 backward on the same inputs
//! (relative error <= 1e-4, parameter gradients accumulated onto nonzero starting values); and the
//! reversible property (the in-place inverted activation equals the forward input, <= 1e-5 on the
//! GPU). Awkward shapes throughout: odd channels, batch 2-3, non-square images.
use crate::common;
use common::*;

use glowgpu::backend::gpu::{shader_source, KERNELS};
use glowgpu::backend::{Backend, Host, ParamMap};
use glowgpu::graph::{BufId, DType, Graph, RunArgs};
use glowgpu::ops::actnorm::{grad_name, ActNorm, ActNormBackward, ActNormBackwardParams, ActNormParams};
use glowgpu::ops::coupling::{Coupling, CouplingBackward, CouplingBackwardParams, CouplingParams};
use glowgpu::ops::prior::{Prior, PriorBackward, PriorBackwardParams, PriorParams};
use glowgpu::ops::reduce::{ParamSum, ReduceParams};
use glowgpu::platform::block_on;
use glowgpu::rng::HostRng;
use glowgpu::CpuBackend;

const FD_TOL: f64 = 1e-6;
const GPU_TOL: f64 = 1e-4;
const INV_TOL: f64 = 1e-5;
const ARGS: RunArgs = RunArgs { seed: 0x5eed, temperature: 1.0 };

/// Random values rounded to f32, so that the CPU f64 and GPU runs see identical inputs.
fn rn(rng: &mut HostRng, n: usize, std: f64) -> Vec<f64> {
    randn(rng, n, std).into_iter().map(|v| v as f32 as f64).collect()
}

/// A random loss coefficient, exactly representable as the f32 `ld_scale` of the params.
fn rand_g(rng: &mut HostRng) -> f64 {
    (0.5 + rng.uniform()) as f32 as f64 * if rng.uniform() < 0.5 { -1.0 } else { 1.0 }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `assert_close`, printing the error (`cargo test --test native grad_ops:: -- --nocapture`).
fn check(what: &str, got: &[f64], want: &[f64], tol: f64) {
    eprintln!("{what}: relative error {:.2e} (tol {tol:.0e})", rel_err(got, want));
    assert_close(what, got, want, tol);
}

fn sub(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x - y).collect()
}

/// Runs a graph; returns its float outputs and the named parameters after the run.
fn run_read<B: Backend>(
    b: &mut B,
    params: &ParamMap,
    g: Graph,
    inputs: Vec<(BufId, Host)>,
    outputs: &[BufId],
    read: &[String],
) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let outs = run(b, params, g, inputs, outputs, ARGS).into_iter().map(Host::floats).collect();
    let ps = block_on(b.read_params(read)).unwrap();
    (outs, ps)
}

fn cpu64(params: &ParamMap, g: Graph, inputs: Vec<(BufId, Host)>, outputs: &[BufId]) -> Vec<Vec<f64>> {
    run(&mut CpuBackend::<f64>::new(), params, g, inputs, outputs, ARGS).into_iter().map(Host::floats).collect()
}

#[test]
fn backward_shaders_validate_with_naga() {
    for &(name, _, defines) in KERNELS.iter().filter(|k| ["actnorm", "coupling", "prior"].contains(&k.0)) {
        let src = shader_source(name, defines).unwrap();
        let module =
            naga::front::wgsl::parse_str(&src).unwrap_or_else(|e| panic!("{name}.wgsl: {}", e.emit_to_string(&src)));
        let mut v =
            naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::empty());
        v.validate(&module).unwrap_or_else(|e| panic!("{name}.wgsl invalid: {e:?}"));
    }
}

// ---------------------------------------------------------------- actnorm

#[derive(Clone, Copy)]
struct AnCase {
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    relu: bool,
}

impl AnCase {
    fn hw(&self) -> usize {
        self.h * self.w
    }
    fn len(&self) -> usize {
        self.n * self.hw() * self.c
    }
    fn fwd(&self) -> ActNormParams {
        ActNormParams { pixels: (self.n * self.hw()) as u32, c: self.c as u32, relu: self.relu as u32, _pad: 0 }
    }
    fn bwd(&self, g: f64) -> ActNormBackwardParams {
        ActNormBackwardParams::new(self.n, self.hw(), self.c, self.relu, if self.relu { 0.0 } else { g as f32 })
    }
}

/// Inputs of an actnorm test: x, bias, logs, dy, g, starting values of grad.b / grad.s.
struct AnData {
    x: Vec<f64>,
    b: Vec<f64>,
    l: Vec<f64>,
    dy: Vec<f64>,
    g: f64,
    gb0: Vec<f64>,
    gl0: Vec<f64>,
}

fn an_data(k: &AnCase, seed: u64, grad0: bool) -> AnData {
    let mut rng = HostRng::new(seed);
    let x = rn(&mut rng, k.len(), 1.3).iter().map(|v| (v + 0.2) as f32 as f64).collect();
    let (b, l) = (rn(&mut rng, k.c, 0.5), rn(&mut rng, k.c, 0.3));
    let dy = rn(&mut rng, k.len(), 1.0);
    let g = if k.relu { 0.0 } else { rand_g(&mut rng) };
    let (gb0, gl0) =
        if grad0 { (rn(&mut rng, k.c, 1.0), rn(&mut rng, k.c, 1.0)) } else { (vec![0.0; k.c], vec![0.0; k.c]) };
    AnData { x, b, l, dy, g, gb0, gl0 }
}

/// S = Σ dy·actnorm(x) + g·Σ_images logdet, from the forward op (and `ParamSum`, the flow's
/// actnorm logdet `3·hw·Σ logs` per image; no logdet for the ReLU variant).
fn an_loss(k: &AnCase, x: &[f64], b: &[f64], l: &[f64], dy: &[f64], g: f64) -> f64 {
    let mut gr = Graph::default();
    let xb = gr.io("x", x.len(), DType::F32);
    let ld = gr.io("ld", k.n, DType::F32);
    gr.push(ActNorm { x: xb, bias: "b".into(), logs: "s".into(), reverse: false, p: k.fwd() });
    if !k.relu {
        let p = ReduceParams { n: k.n as u32, len: k.c as u32, scale: (3 * k.hw()) as f32, c: 0 };
        gr.push(ParamSum { param: "s".into(), acc: ld, p });
    }
    let params = param_map(&[("b", b.to_vec()), ("s", l.to_vec())]);
    let out = cpu64(&params, gr, vec![(xb, Host::F(x.to_vec())), (ld, Host::F(vec![0.0; k.n]))], &[xb, ld]);
    dot(dy, &out[0]) + g * out[1].iter().sum::<f64>()
}

fn an_forward_cpu(k: &AnCase, d: &AnData) -> Vec<f64> {
    let mut gr = Graph::default();
    let xb = gr.io("x", d.x.len(), DType::F32);
    gr.push(ActNorm { x: xb, bias: "b".into(), logs: "s".into(), reverse: false, p: k.fwd() });
    let params = param_map(&[("b", d.b.clone()), ("s", d.l.clone())]);
    cpu64(&params, gr, vec![(xb, Host::F(d.x.clone()))], &[xb]).remove(0)
}

/// Both backward stages on (y, dy): returns (y after = x, dx, grad.b, grad.s after the run).
fn an_backward<B: Backend>(be: &mut B, k: &AnCase, d: &AnData, y: &[f64]) -> [Vec<f64>; 4] {
    let mut gr = Graph::default();
    let yb = gr.io("y", y.len(), DType::F32);
    let dyb = gr.io("dy", y.len(), DType::F32);
    for op in ActNormBackward::stages(yb, dyb, "b", "s", k.bwd(d.g)) {
        gr.push(op);
    }
    let params = param_map(&[
        ("b", d.b.clone()),
        ("s", d.l.clone()),
        (&grad_name("b"), d.gb0.clone()),
        (&grad_name("s"), d.gl0.clone()),
    ]);
    let names = [grad_name("b"), grad_name("s")];
    let inputs = vec![(yb, Host::F(y.to_vec())), (dyb, Host::F(d.dy.clone()))];
    let (mut o, mut p) = run_read(be, &params, gr, inputs, &[yb, dyb], &names);
    [o.remove(0), o.remove(0), p.remove(0), p.remove(0)]
}

const AN_CASES: [AnCase; 4] = [
    AnCase { n: 2, h: 3, w: 5, c: 7, relu: false },
    AnCase { n: 3, h: 4, w: 2, c: 9, relu: false },
    AnCase { n: 2, h: 3, w: 5, c: 7, relu: true },
    AnCase { n: 3, h: 2, w: 4, c: 9, relu: true },
];

#[test]
fn actnorm_backward_matches_finite_differences() {
    for (ci, k) in AN_CASES.iter().enumerate() {
        let d = an_data(k, 100 + ci as u64, false);
        let y = an_forward_cpu(k, &d);
        if k.relu {
            assert!(y.contains(&0.0) && y.iter().any(|&v| v > 0.0), "case {ci}: ReLU must be active");
        }
        let [x_back, dx, gb, gl] = an_backward(&mut CpuBackend::<f64>::new(), k, &d, &y);
        let what = |s: &str| format!("actnorm case {ci} (relu={}): {s}", k.relu);
        let fd_x = central(&d.x, |x| an_loss(k, x, &d.b, &d.l, &d.dy, d.g));
        let fd_b = central(&d.b, |b| an_loss(k, &d.x, b, &d.l, &d.dy, d.g));
        let fd_l = central(&d.l, |l| an_loss(k, &d.x, &d.b, l, &d.dy, d.g));
        check(&what("dx"), &dx, &fd_x, FD_TOL);
        check(&what("grad.bias"), &gb, &fd_b, FD_TOL);
        check(&what("grad.logs"), &gl, &fd_l, FD_TOL);
        if k.relu {
            assert_eq!(x_back, y, "{}", what("the ReLU variant leaves y unchanged"));
        } else {
            check(&what("inverted x"), &x_back, &d.x, 1e-12);
        }
    }
}

#[test]
fn actnorm_backward_gpu_matches_cpu() {
    let mut gpu = gpu();
    // more than 64 pixels per channel so the workgroup loop strides; a plain and a ReLU case
    let cases = [
        AnCase { n: 3, h: 5, w: 7, c: 7, relu: false },
        AnCase { n: 2, h: 9, w: 4, c: 9, relu: true },
        AnCase { n: 2, h: 16, w: 11, c: 5, relu: false },
        AnCase { n: 3, h: 6, w: 13, c: 3, relu: true },
    ];
    for (ci, k) in cases.iter().enumerate() {
        let d = an_data(k, 200 + ci as u64, true);
        let y: Vec<f64> = an_forward_cpu(k, &d).into_iter().map(|v| v as f32 as f64).collect();
        let want = an_backward(&mut CpuBackend::<f64>::new(), k, &d, &y);
        let got = an_backward(&mut gpu, k, &d, &y);
        let what = |s: &str| format!("actnorm gpu case {ci} (relu={}): {s}", k.relu);
        check(&what("y -> x"), &got[0], &want[0], GPU_TOL);
        check(&what("dx"), &got[1], &want[1], GPU_TOL);
        check(&what("grad.bias"), &got[2], &want[2], GPU_TOL);
        check(&what("grad.logs"), &got[3], &want[3], GPU_TOL);
        // the increments alone (accumulation onto the nonzero starting values)
        check(&what("grad.bias increment"), &sub(&got[2], &d.gb0), &sub(&want[2], &d.gb0), GPU_TOL);
        check(&what("grad.logs increment"), &sub(&got[3], &d.gl0), &sub(&want[3], &d.gl0), GPU_TOL);
        if k.relu {
            assert_eq!(got[0], y, "{}", what("the ReLU variant leaves y unchanged"));
        }
    }
}

#[test]
fn actnorm_forward_then_backward_recovers_input() {
    let mut gpu = gpu();
    let k = AnCase { n: 3, h: 5, w: 6, c: 9, relu: false };
    let d = an_data(&k, 300, true);
    let make = || {
        let mut gr = Graph::default();
        let x = gr.io("x", k.len(), DType::F32);
        let dy = gr.io("dy", k.len(), DType::F32);
        gr.push(ActNorm { x, bias: "b".into(), logs: "s".into(), reverse: false, p: k.fwd() });
        for op in ActNormBackward::stages(x, dy, "b", "s", k.bwd(d.g)) {
            gr.push(op);
        }
        (gr, vec![(x, Host::F(d.x.clone())), (dy, Host::F(d.dy.clone()))], vec![x])
    };
    let params = param_map(&[
        ("b", d.b.clone()),
        ("s", d.l.clone()),
        (&grad_name("b"), d.gb0.clone()),
        (&grad_name("s"), d.gl0.clone()),
    ]);
    let (want, got) = cpu_and_gpu(&mut gpu, &params, make, ARGS);
    check("actnorm reversible (cpu f64)", &want[0].clone().floats(), &d.x, 1e-12);
    check("actnorm reversible (gpu)", &got[0].clone().floats(), &d.x, INV_TOL);
}

// ---------------------------------------------------------------- coupling

#[derive(Clone, Copy)]
struct CpCase {
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    affine: bool,
}

impl CpCase {
    fn pixels(&self) -> usize {
        self.n * self.h * self.w
    }
    fn c2(&self) -> usize {
        self.c - self.c / 2
    }
    fn hlen(&self) -> usize {
        self.pixels() * if self.affine { 2 * self.c2() } else { self.c2() }
    }
    fn fwd(&self) -> CouplingParams {
        let c1 = self.c / 2;
        CouplingParams { pixels: self.pixels() as u32, c: self.c as u32, c1: c1 as u32, c2: self.c2() as u32 }
    }
}

struct CpData {
    x: Vec<f64>,
    h: Vec<f64>,
    dy: Vec<f64>,
    g: f64,
}

fn cp_data(k: &CpCase, seed: u64) -> CpData {
    let mut rng = HostRng::new(seed);
    let x = rn(&mut rng, k.pixels() * k.c, 1.0);
    let h = rn(&mut rng, k.hlen(), 1.5);
    let dy = rn(&mut rng, k.pixels() * k.c, 1.0);
    CpData { x, h, dy, g: rand_g(&mut rng) }
}

/// The forward op on (x, h): returns (y, per-element log scale (affine) or empty).
fn cp_forward(k: &CpCase, x: &[f64], h: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut gr = Graph::default();
    let xb = gr.io("x", x.len(), DType::F32);
    let hb = gr.io("h", h.len(), DType::F32);
    let ls = k.affine.then(|| gr.io("ls", k.pixels() * k.c2(), DType::F32));
    gr.push(Coupling { x: xb, h: hb, ls, affine: k.affine, reverse: false, p: k.fwd() });
    let mut outs = vec![xb];
    outs.extend(ls);
    let mut o = cpu64(&Default::default(), gr, vec![(xb, Host::F(x.to_vec())), (hb, Host::F(h.to_vec()))], &outs);
    let y = o.remove(0);
    (y, o.pop().unwrap_or_default())
}

/// S = Σ dy·coupling(x, h) + g·Σ log s (the affine logdet).
fn cp_loss(k: &CpCase, x: &[f64], h: &[f64], dy: &[f64], g: f64) -> f64 {
    let (y, ls) = cp_forward(k, x, h);
    dot(dy, &y) + g * ls.iter().sum::<f64>()
}

/// Backward on (y, h, dy): returns (y after = x, dy after = dx, dh).
fn cp_backward<B: Backend>(be: &mut B, k: &CpCase, y: &[f64], h: &[f64], dy: &[f64], g: f64) -> [Vec<f64>; 3] {
    let mut gr = Graph::default();
    let yb = gr.io("y", y.len(), DType::F32);
    let hb = gr.io("h", h.len(), DType::F32);
    let dyb = gr.io("dy", dy.len(), DType::F32);
    let dhb = gr.io("dh", h.len(), DType::F32);
    let p = CouplingBackwardParams { cp: k.fwd(), ld_scale: g as f32, _pad: [0; 3] };
    gr.push(CouplingBackward { y: yb, h: hb, dy: dyb, dh: dhb, affine: k.affine, p });
    // dh starts as garbage: the op sets it
    let inputs = vec![
        (yb, Host::F(y.to_vec())),
        (hb, Host::F(h.to_vec())),
        (dyb, Host::F(dy.to_vec())),
        (dhb, Host::F(vec![7.0; h.len()])),
    ];
    let (mut o, _) = run_read(be, &Default::default(), gr, inputs, &[yb, dyb, dhb], &[]);
    [o.remove(0), o.remove(0), o.remove(0)]
}

const CP_CASES: [CpCase; 4] = [
    CpCase { n: 2, h: 3, w: 5, c: 9, affine: true },
    CpCase { n: 3, h: 4, w: 2, c: 7, affine: true },
    CpCase { n: 2, h: 3, w: 5, c: 9, affine: false },
    CpCase { n: 3, h: 2, w: 3, c: 7, affine: false },
];

#[test]
fn coupling_backward_matches_finite_differences() {
    for (ci, k) in CP_CASES.iter().enumerate() {
        let d = cp_data(k, 400 + ci as u64);
        let (y, _) = cp_forward(k, &d.x, &d.h);
        let [x_back, dx, dh] = cp_backward(&mut CpuBackend::<f64>::new(), k, &y, &d.h, &d.dy, d.g);
        let what = |s: &str| format!("coupling case {ci} (affine={}): {s}", k.affine);
        // dx over all channels: z1's part is dy1 passed through (the net's share is the caller's)
        let fd_x = central(&d.x, |x| cp_loss(k, x, &d.h, &d.dy, d.g));
        let fd_h = central(&d.h, |h| cp_loss(k, &d.x, h, &d.dy, d.g));
        check(&what("dx"), &dx, &fd_x, FD_TOL);
        check(&what("dh"), &dh, &fd_h, FD_TOL);
        check(&what("inverted x"), &x_back, &d.x, 1e-12);
    }
}

#[test]
fn coupling_backward_gpu_matches_cpu() {
    let mut gpu = gpu();
    let cases = [
        CpCase { n: 3, h: 5, w: 7, c: 9, affine: true },
        CpCase { n: 2, h: 6, w: 3, c: 7, affine: true },
        CpCase { n: 3, h: 5, w: 7, c: 9, affine: false },
        CpCase { n: 2, h: 4, w: 9, c: 5, affine: false },
    ];
    for (ci, k) in cases.iter().enumerate() {
        let d = cp_data(k, 500 + ci as u64);
        let y: Vec<f64> = cp_forward(k, &d.x, &d.h).0.into_iter().map(|v| v as f32 as f64).collect();
        let want = cp_backward(&mut CpuBackend::<f64>::new(), k, &y, &d.h, &d.dy, d.g);
        let got = cp_backward(&mut gpu, k, &y, &d.h, &d.dy, d.g);
        for (name, i) in [("y -> x", 0), ("dx", 1), ("dh", 2)] {
            check(&format!("coupling gpu case {ci} (affine={}): {name}", k.affine), &got[i], &want[i], GPU_TOL);
        }
    }
}

#[test]
fn coupling_forward_then_backward_recovers_input() {
    let mut gpu = gpu();
    for (ci, k) in [CpCase { n: 3, h: 5, w: 6, c: 9, affine: true }, CpCase { n: 2, h: 3, w: 7, c: 7, affine: false }]
        .iter()
        .enumerate()
    {
        let d = cp_data(k, 600 + ci as u64);
        let make = || {
            let mut gr = Graph::default();
            let x = gr.io("x", d.x.len(), DType::F32);
            let h = gr.io("h", d.h.len(), DType::F32);
            let dy = gr.io("dy", d.dy.len(), DType::F32);
            let dh = gr.io("dh", d.h.len(), DType::F32);
            let ls = k.affine.then(|| gr.buf("ls", k.pixels() * k.c2()));
            gr.push(Coupling { x, h, ls, affine: k.affine, reverse: false, p: k.fwd() });
            let p = CouplingBackwardParams { cp: k.fwd(), ld_scale: d.g as f32, _pad: [0; 3] };
            gr.push(CouplingBackward { y: x, h, dy, dh, affine: k.affine, p });
            let ins = vec![(x, Host::F(d.x.clone())), (h, Host::F(d.h.clone())), (dy, Host::F(d.dy.clone()))];
            (gr, ins, vec![x])
        };
        let (want, got) = cpu_and_gpu(&mut gpu, &Default::default(), make, ARGS);
        let what = format!("coupling reversible (affine={})", k.affine);
        check(&format!("{what} cpu f64"), &want[0].clone().floats(), &d.x, 1e-12);
        check(&format!("{what} gpu"), &got[0].clone().floats(), &d.x, INV_TOL);
    }
}

// ---------------------------------------------------------------- prior

struct PrData {
    z: Vec<f64>,
    h: Vec<f64>,
    v: Vec<f64>,
    dz0: Vec<f64>,
    g: f64,
}

fn pr_lens(p: &PriorParams) -> (usize, usize, usize) {
    let (n, px, cz) = (p.n as usize, p.pixels as usize, p.cz as usize);
    let zl = n * px * p.z_stride as usize;
    let hl = if p.h_batched == 1 { n } else { 1 } * px * 2 * cz;
    (zl, hl, n * 2 * cz)
}

fn pr_data(p: &PriorParams, seed: u64) -> PrData {
    let mut rng = HostRng::new(seed);
    let (zl, hl, vl) = pr_lens(p);
    PrData {
        z: rn(&mut rng, zl, 1.0),
        h: rn(&mut rng, hl, 0.5),
        v: rn(&mut rng, vl, 0.4),
        dz0: rn(&mut rng, zl, 1.0),
        g: rand_g(&mut rng),
    }
}

/// S = g·Σ log p, from the forward op.
fn pr_loss(p: &PriorParams, z: &[f64], h: &[f64], v: &[f64], g: f64) -> f64 {
    let mut gr = Graph::default();
    let zb = gr.io("z", z.len(), DType::F32);
    let hb = gr.io("h", h.len(), DType::F32);
    let vb = (p.has_vec == 1).then(|| gr.io("v", v.len(), DType::F32));
    let ne = p.n as usize * p.pixels as usize * p.cz as usize;
    let eps = gr.io("eps", ne, DType::F32);
    let lp = gr.io("lp", ne, DType::F32);
    gr.push(Prior { z: zb, h: hb, v: vb, eps, lp: Some(lp), reverse: false, p: *p });
    let mut ins = vec![(zb, Host::F(z.to_vec())), (hb, Host::F(h.to_vec()))];
    if let Some(vb) = vb {
        ins.push((vb, Host::F(v.to_vec())));
    }
    g * cpu64(&Default::default(), gr, ins, &[lp])[0].iter().sum::<f64>()
}

/// Backward: returns (dz buffer after the run, dh, dv (empty without a vector)).
fn pr_backward<B: Backend>(be: &mut B, p: &PriorParams, d: &PrData) -> [Vec<f64>; 3] {
    let mut gr = Graph::default();
    let zb = gr.io("z", d.z.len(), DType::F32);
    let hb = gr.io("h", d.h.len(), DType::F32);
    let vb = (p.has_vec == 1).then(|| gr.io("v", d.v.len(), DType::F32));
    let dz = gr.io("dz", d.z.len(), DType::F32);
    let dh = gr.io("dh", d.h.len(), DType::F32);
    let dv = (p.has_vec == 1).then(|| gr.io("dv", d.v.len(), DType::F32));
    let bp = PriorBackwardParams { pp: *p, ld_scale: d.g as f32, _pad: [0; 3] };
    gr.push(PriorBackward { z: zb, h: hb, v: vb, dz, dh, dv, p: bp });
    // dz starts random (only its slice is set); dh, dv start as garbage (set)
    let mut ins = vec![
        (zb, Host::F(d.z.clone())),
        (hb, Host::F(d.h.clone())),
        (dz, Host::F(d.dz0.clone())),
        (dh, Host::F(vec![3.0; d.h.len()])),
    ];
    let mut outs = vec![dz, dh];
    if let (Some(vb), Some(dv)) = (vb, dv) {
        ins.push((vb, Host::F(d.v.clone())));
        ins.push((dv, Host::F(vec![-5.0; d.v.len()])));
        outs.push(dv);
    }
    let (mut o, _) = run_read(be, &Default::default(), gr, ins, &outs, &[]);
    let dvo = if p.has_vec == 1 { o.remove(2) } else { vec![] };
    [o.remove(0), o.remove(0), dvo]
}

/// Indices of z's channel slice [z_off, z_off + cz) in a [n·pixels, z_stride] tensor.
fn slice_mask(p: &PriorParams) -> Vec<bool> {
    let zs = p.z_stride as usize;
    (0..(p.n * p.pixels) as usize * zs).map(|i| (p.z_off..p.z_off + p.cz).contains(&((i % zs) as u32))).collect()
}

/// `[n, pixels, cz, z_stride, z_off, interleaved, h_batched, has_vec]`.
fn pp(a: [u32; 8]) -> PriorParams {
    let [n, pixels, cz, z_stride, z_off, interleaved, h_batched, has_vec] = a;
    PriorParams { n, pixels, cz, z_stride, z_off, interleaved, h_batched, has_vec }
}

fn prior_cases() -> Vec<PriorParams> {
    vec![
        // split prior: interleaved, h per image, z2 = channels [6, 11) of 11
        pp([3, 15, 5, 11, 6, 1, 1, 0]),
        // top prior: halves, h shared by the batch, class vector
        pp([2, 6, 7, 7, 0, 0, 0, 1]),
        // top prior without a vector
        pp([2, 6, 3, 3, 0, 0, 0, 0]),
        // every option at once: interleaved, shared h, vector, a slice with an offset
        pp([3, 10, 3, 9, 2, 1, 0, 1]),
        // halves, h per image, vector
        pp([2, 12, 5, 5, 0, 0, 1, 1]),
    ]
}

#[test]
fn prior_backward_matches_finite_differences() {
    for (ci, p) in prior_cases().iter().enumerate() {
        let d = pr_data(p, 700 + ci as u64);
        let [dz, dh, dv] = pr_backward(&mut CpuBackend::<f64>::new(), p, &d);
        let what = |s: &str| format!("prior case {ci} (il={} hb={} v={}): {s}", p.interleaved, p.h_batched, p.has_vec);
        let fd_z = central(&d.z, |z| pr_loss(p, z, &d.h, &d.v, d.g));
        let fd_h = central(&d.h, |h| pr_loss(p, &d.z, h, &d.v, d.g));
        let mask = slice_mask(p);
        let pick = |v: &[f64], inside: bool| -> Vec<f64> {
            v.iter().zip(&mask).filter(|(_, &m)| m == inside).map(|(&x, _)| x).collect()
        };
        check(&what("dz (slice)"), &pick(&dz, true), &pick(&fd_z, true), FD_TOL);
        assert!(pick(&fd_z, false).iter().all(|&v| v == 0.0), "{}", what("z outside the slice is not read"));
        assert_eq!(pick(&dz, false), pick(&d.dz0, false), "{}", what("dz outside the slice untouched"));
        check(&what("dh"), &dh, &fd_h, FD_TOL);
        if p.has_vec == 1 {
            let fd_v = central(&d.v, |v| pr_loss(p, &d.z, &d.h, v, d.g));
            check(&what("dv"), &dv, &fd_v, FD_TOL);
        }
    }
}

#[test]
fn prior_backward_gpu_matches_cpu() {
    let mut gpu = gpu();
    let mut cases = prior_cases();
    // a larger level: many pixels per dv invocation and many images per shared-h invocation
    cases.push(pp([3, 8 * 11, 6, 12, 6, 1, 0, 1]));
    for (ci, p) in cases.iter().enumerate() {
        let d = pr_data(p, 800 + ci as u64);
        let want = pr_backward(&mut CpuBackend::<f64>::new(), p, &d);
        let got = pr_backward(&mut gpu, p, &d);
        let what =
            |s: &str| format!("prior gpu case {ci} (il={} hb={} v={}): {s}", p.interleaved, p.h_batched, p.has_vec);
        check(&what("dz"), &got[0], &want[0], GPU_TOL);
        check(&what("dh"), &got[1], &want[1], GPU_TOL);
        if p.has_vec == 1 {
            check(&what("dv"), &got[2], &want[2], GPU_TOL);
        }
    }
}

//! Every shader entry point against the f64 CPU reference, on fresh random inputs and random
//! parameters at awkward shapes (odd channels, batch > 1, non-square): relative error <= 1e-4.
use crate::common;
use common::*;

use glowgpu::backend::Host;
use glowgpu::graph::{DType, Graph, RunArgs};
use glowgpu::ir::GpuCaps;
use glowgpu::ops::actnorm::{ActNorm, ActNormInit, ActNormParams};
use glowgpu::ops::conv2d::{Conv2d, ConvParams};
use glowgpu::ops::coupling::{Coupling, CouplingParams};
use glowgpu::ops::noise::{Gaussian, NoiseParams};
use glowgpu::ops::permute::{Permute, PermuteParams};
use glowgpu::ops::prior::{Prior, PriorParams};
use glowgpu::ops::quantize::{Dequantize, QuantParams, Quantize};
use glowgpu::ops::reduce::{MeanHw, ParamSum, ReduceImage, ReduceParams};
use glowgpu::ops::squeeze::{Squeeze, SqueezeParams};
use glowgpu::rng::HostRng;

const TOL: f64 = 1e-4;
const ARGS: RunArgs = RunArgs { seed: 0x1234_5678_9abc, temperature: 0.7 };

#[test]
fn conv2d_all_variants() {
    let mut g = gpu();
    // (n, h, w, cin, cin_stride, cin_off, cout, k, edge, epilogue, relu)
    let cases: [ConvCase; 13] = [
        (2, 5, 7, 3, 3, 0, 5, 3, true, true, true),
        (3, 6, 3, 5, 11, 0, 13, 3, true, false, false),
        (2, 4, 9, 7, 7, 0, 8, 1, false, true, false),
        (1, 3, 5, 0, 0, 0, 10, 3, true, true, false), // top prior: zero input, edge only
        (2, 7, 6, 9, 9, 0, 17, 1, false, false, false),
        (3, 4, 4, 6, 12, 3, 9, 3, true, true, true), // a channel slice with an offset
        // input channels in whole vec4s: `forward_v4`
        (2, 5, 7, 8, 8, 0, 21, 3, true, true, true),
        (3, 6, 5, 12, 24, 0, 33, 3, true, false, false), // a slice of a wider tensor
        (2, 4, 9, 16, 16, 0, 16, 1, false, true, true),
        (2, 3, 6, 4, 12, 8, 7, 3, true, true, false), // slice with an offset of 8 channels
        (1, 9, 2, 20, 20, 0, 48, 1, false, false, false),
        // fewer outputs than inputs: the CPU reference's tap-GEMM path
        (2, 5, 6, 11, 11, 0, 4, 3, true, true, false),
        (2, 4, 3, 7, 13, 5, 2, 3, false, false, false),
    ];
    let v4 = cases
        .iter()
        .filter(|c| ConvParams::new(1, 1, 1, c.3, 1, 1, false).vec4_input() && c.4 % 4 == 0 && c.5 % 4 == 0);
    assert_eq!(v4.count(), 5, "both conv entry points must be exercised");
    check_conv_cases(&mut g, &cases, "default kernels");
}

#[test]
fn actnorm_forward_inverse_init() {
    let mut g = gpu();
    let mut rng = HostRng::new(12);
    let (pixels, c) = (3 * 5 * 7, 7);
    let xs: Vec<f64> = randn(&mut rng, pixels * c, 2.0).iter().map(|v| v + 0.7).collect();
    let params = param_map(&[("b", randn(&mut rng, c, 0.5)), ("s", randn(&mut rng, c, 0.3))]);
    for (reverse, relu) in [(false, false), (false, true), (true, false)] {
        let make = || {
            let mut gr = Graph::default();
            let x = gr.io("x", xs.len(), DType::F32);
            let p = ActNormParams { pixels: pixels as u32, c: c as u32, relu: relu as u32, _pad: 0 };
            gr.push(ActNorm { x, bias: "b".into(), logs: "s".into(), reverse, p });
            (gr, vec![(x, Host::F(xs.clone()))], vec![x])
        };
        let (want, got) = cpu_and_gpu(&mut g, &params, make, ARGS);
        assert_close(
            &format!("actnorm rev={reverse} relu={relu}"),
            &got[0].clone().floats(),
            &want[0].clone().floats(),
            TOL,
        );
    }
    // init: parameters written on the device
    let make = || {
        let mut gr = Graph::default();
        let x = gr.io("x", xs.len(), DType::F32);
        let p = ActNormParams { pixels: pixels as u32, c: c as u32, relu: 0, _pad: 0 };
        gr.push(ActNormInit { x, bias: "b".into(), logs: "s".into(), p });
        gr.push(ActNorm { x, bias: "b".into(), logs: "s".into(), reverse: false, p });
        (gr, vec![(x, Host::F(xs.clone()))], vec![x])
    };
    let (want, got) = cpu_and_gpu(&mut g, &params, make, ARGS);
    assert_close("actnorm init + apply", &got[0].clone().floats(), &want[0].clone().floats(), TOL);
    let y = got[0].clone().floats();
    for k in 0..c {
        let col: Vec<f64> = (0..pixels).map(|i| y[i * c + k]).collect();
        let m = col.iter().sum::<f64>() / pixels as f64;
        let v = col.iter().map(|a| (a - m).powi(2)).sum::<f64>() / pixels as f64;
        assert!(m.abs() < 1e-5 && (v - 1.0).abs() < 1e-4, "channel {k}: mean {m}, var {v}");
    }
    let names = vec!["b".to_string(), "s".to_string()];
    let gp = glowgpu::platform::block_on(glowgpu::Backend::read_params(&mut g, &names)).unwrap();
    let mut cpu = glowgpu::CpuBackend::<f64>::new();
    let (gr, inputs, outs) = make();
    run(&mut cpu, &params, gr, inputs, &outs, ARGS);
    let cp = glowgpu::platform::block_on(glowgpu::Backend::read_params(&mut cpu, &names)).unwrap();
    assert_close("init bias", &gp[0], &cp[0], TOL);
    assert_close("init logs", &gp[1], &cp[1], TOL);
}

#[test]
fn squeeze_and_unsqueeze_with_slices() {
    let mut g = gpu();
    let mut rng = HostRng::new(13);
    // n, narrow h, w, c, c_total, c_off
    for &(n, h, w, c, ct, off) in &[(2, 3, 5, 3, 3, 0), (3, 2, 4, 5, 11, 4)] {
        let wide_len = n * 4 * h * w * ct;
        let narrow_len = n * h * w * 4 * c;
        let wide = randn(&mut rng, wide_len, 1.0);
        let narrow = randn(&mut rng, narrow_len, 1.0);
        let p = SqueezeParams {
            n: n as u32,
            h: h as u32,
            w: w as u32,
            c: c as u32,
            c_total: ct as u32,
            c_off: off as u32,
            _pad: [0; 2],
        };
        for reverse in [false, true] {
            let make = || {
                let mut gr = Graph::default();
                let wb = gr.io("wide", wide_len, DType::F32);
                let nb = gr.io("narrow", narrow_len, DType::F32);
                gr.push(Squeeze { wide: wb, narrow: nb, reverse, p });
                (
                    gr,
                    vec![(wb, Host::F(wide.clone())), (nb, Host::F(narrow.clone()))],
                    vec![if reverse { wb } else { nb }],
                )
            };
            let (want, got) = cpu_and_gpu(&mut g, &Default::default(), make, ARGS);
            assert_eq!(
                got[0].clone().floats(),
                want[0].clone().floats().iter().map(|&v| v as f32 as f64).collect::<Vec<_>>()
            );
        }
    }
}

#[test]
fn permute_forward_inverse() {
    let mut g = gpu();
    let mut rng = HostRng::new(14);
    let (pixels, c) = (2 * 3 * 5, 7);
    let xs = randn(&mut rng, pixels * c, 1.0);
    let perm: Vec<f64> = rng.permutation(c).iter().map(|&v| v as f64).collect();
    let params = param_map(&[("perm", perm)]);
    for reverse in [false, true] {
        let make = || {
            let mut gr = Graph::default();
            let x = gr.io("x", xs.len(), DType::F32);
            let y = gr.io("y", xs.len(), DType::F32);
            let p = PermuteParams { pixels: pixels as u32, c: c as u32, _pad: [0; 2] };
            gr.push(Permute { x, y, perm: "perm".into(), reverse, p });
            (gr, vec![(x, Host::F(xs.clone()))], vec![y])
        };
        let (want, got) = cpu_and_gpu(&mut g, &params, make, ARGS);
        assert_close("permute", &got[0].clone().floats(), &want[0].clone().floats(), 1e-7);
    }
}

#[test]
fn coupling_affine_and_additive() {
    let mut g = gpu();
    let mut rng = HostRng::new(15);
    let (pixels, c) = (3 * 4 * 5, 9);
    let (c1, c2) = (c / 2, c - c / 2);
    let xs = randn(&mut rng, pixels * c, 1.0);
    for affine in [true, false] {
        let hl = pixels * if affine { 2 * c2 } else { c2 };
        let hs = randn(&mut rng, hl, 1.5);
        for reverse in [false, true] {
            let make = || {
                let mut gr = Graph::default();
                let x = gr.io("x", xs.len(), DType::F32);
                let h = gr.io("h", hl, DType::F32);
                let ls = (affine && !reverse).then(|| gr.io("ls", pixels * c2, DType::F32));
                let p = CouplingParams { pixels: pixels as u32, c: c as u32, c1: c1 as u32, c2: c2 as u32 };
                gr.push(Coupling { x, h, ls, affine, reverse, p });
                let mut outs = vec![x];
                outs.extend(ls);
                (gr, vec![(x, Host::F(xs.clone())), (h, Host::F(hs.clone()))], outs)
            };
            let (want, got) = cpu_and_gpu(&mut g, &Default::default(), make, ARGS);
            for (a, b) in got.iter().zip(&want) {
                assert_close(
                    &format!("coupling affine={affine} rev={reverse}"),
                    &a.clone().floats(),
                    &b.clone().floats(),
                    TOL,
                );
            }
        }
    }
}

#[test]
fn prior_split_and_top_forms() {
    let mut g = gpu();
    let mut rng = HostRng::new(16);
    // (n, pixels, cz, z_stride, z_off, interleaved, h_batched, has_vec)
    for &(n, px, cz, zs, zo, il, hb, hv) in
        &[(3, 15, 5, 11, 6, 1, 1, 0), (2, 6, 7, 7, 0, 0, 0, 1), (2, 6, 3, 3, 0, 0, 0, 0)]
    {
        let p = PriorParams { n, pixels: px, cz, z_stride: zs, z_off: zo, interleaved: il, h_batched: hb, has_vec: hv };
        let (n, px, cz) = (n as usize, px as usize, cz as usize);
        let zl = n * px * zs as usize;
        let hl = if hb == 1 { n } else { 1 } * px * 2 * cz;
        let zsv = randn(&mut rng, zl, 1.0);
        let hsv = randn(&mut rng, hl, 0.5);
        let vsv = randn(&mut rng, n * 2 * cz, 0.5);
        let esv = randn(&mut rng, n * px * cz, 1.0);
        for reverse in [false, true] {
            let make = || {
                let mut gr = Graph::default();
                let z = gr.io("z", zl, DType::F32);
                let h = gr.io("h", hl, DType::F32);
                let v = (hv == 1).then(|| gr.io("v", n * 2 * cz, DType::F32));
                let eps = gr.io("eps", n * px * cz, DType::F32);
                let lp = (!reverse).then(|| gr.io("lp", n * px * cz, DType::F32));
                gr.push(Prior { z, h, v, eps, lp, reverse, p });
                let mut ins = vec![(z, Host::F(zsv.clone())), (h, Host::F(hsv.clone())), (eps, Host::F(esv.clone()))];
                if let Some(v) = v {
                    ins.push((v, Host::F(vsv.clone())));
                }
                let outs = if reverse { vec![z] } else { vec![eps, lp.unwrap()] };
                (gr, ins, outs)
            };
            let (want, got) = cpu_and_gpu(&mut g, &Default::default(), make, ARGS);
            for (a, b) in got.iter().zip(&want) {
                assert_close(&format!("prior il={il} rev={reverse}"), &a.clone().floats(), &b.clone().floats(), TOL);
            }
        }
    }
}

#[test]
fn reductions() {
    let mut g = gpu();
    let mut rng = HostRng::new(17);
    let (n, len, c) = (3, 1000, 7);
    let src = randn(&mut rng, n * len, 1.0);
    let acc0 = randn(&mut rng, n, 1.0);
    let prm = randn(&mut rng, 77, 1.0);
    let xm = randn(&mut rng, n * 13 * c, 1.0);
    let params = param_map(&[("prm", prm)]);
    let make = || {
        let mut gr = Graph::default();
        let s = gr.io("src", n * len, DType::F32);
        let a = gr.io("acc", n, DType::F32);
        let x = gr.io("xm", n * 13 * c, DType::F32);
        let y = gr.io("ym", n * c, DType::F32);
        gr.push(ReduceImage { src: s, acc: a, p: ReduceParams { n: n as u32, len: len as u32, scale: 0.5, c: 0 } });
        gr.push(ParamSum { param: "prm".into(), acc: a, p: ReduceParams { n: n as u32, len: 77, scale: 3.0, c: 0 } });
        gr.push(MeanHw { x, y, p: ReduceParams { n: n as u32, len: 13, scale: 1.0, c: c as u32 } });
        (gr, vec![(s, Host::F(src.clone())), (a, Host::F(acc0.clone())), (x, Host::F(xm.clone()))], vec![a, y])
    };
    let (want, got) = cpu_and_gpu(&mut g, &params, make, ARGS);
    assert_close("per_image + param_sum", &got[0].clone().floats(), &want[0].clone().floats(), TOL);
    assert_close("mean_hw", &got[1].clone().floats(), &want[1].clone().floats(), TOL);
}

#[test]
fn quantize_dequantize_and_noise() {
    let mut g = gpu();
    let len = 3 * 5 * 7 * 3 + 1; // not a multiple of 4
    let bytes = rand_bytes(3, len);
    for n_bits in [8u32, 5] {
        // base: the noise counter of value 0 (a data-parallel rank's shard of a larger batch)
        for (noise, base) in [(0u32, 0u32), (1, 0), (1, 1000)] {
            let p = QuantParams {
                len: len as u32,
                shift: 8 - n_bits,
                n_bins: (1 << n_bits) as f32,
                noise,
                stream: 1,
                base,
                _pad: [0; 2],
            };
            let make = || {
                let mut gr = Graph::default();
                let img = gr.io("img", len, DType::U8);
                let x = gr.io("x", len, DType::F32);
                let out = gr.io("out", len, DType::U8);
                gr.push(Quantize { img, x, p });
                gr.push(Dequantize { x, img: out, p });
                (gr, vec![(img, Host::U8(bytes.clone()))], vec![x, out])
            };
            let (want, got) = cpu_and_gpu(&mut g, &Default::default(), make, ARGS);
            assert_close("quantize", &got[0].clone().floats(), &want[0].clone().floats(), 1e-6);
            let back = got[1].clone().bytes();
            assert_eq!(back, want[1].clone().bytes(), "dequantize n_bits={n_bits}");
            let step = 1u32 << (8 - n_bits);
            for (a, b) in back.iter().zip(&bytes) {
                assert_eq!(*a as u32, (*b as u32 / step) * step, "round trip keeps the bin");
            }
        }
    }
    let make = || {
        let mut gr = Graph::default();
        let y = gr.io("y", 4099, DType::F32);
        gr.push(Gaussian { y, p: NoiseParams { len: 4099, stream: 101, _pad: [0; 2] } });
        (gr, vec![], vec![y])
    };
    let (want, got) = cpu_and_gpu(&mut g, &Default::default(), make, ARGS);
    assert_close("gaussian noise", &got[0].clone().floats(), &want[0].clone().floats(), 1e-5);
}

/// (n, h, w, cin, cin_stride, cin_off, cout, k, edge, epilogue, relu)
type ConvCase = (usize, usize, usize, usize, usize, usize, usize, usize, bool, bool, bool);

/// Every case of `conv2d_all_variants`, then the Glow coupling net's channel counts (256 hidden
/// channels; 256 + edge = 257 rows; 12 outputs) at w = 4, n = 3, and pixel counts over one
/// workgroup of the subgroup kernel.
const CONV_CASES: &[ConvCase] = &[
    (2, 5, 7, 3, 3, 0, 5, 3, true, true, true),
    (3, 6, 3, 5, 11, 0, 13, 3, true, false, false),
    (2, 4, 9, 7, 7, 0, 8, 1, false, true, false),
    (1, 3, 5, 0, 0, 0, 10, 3, true, true, false),
    (2, 7, 6, 9, 9, 0, 17, 1, false, false, false),
    (3, 4, 4, 6, 12, 3, 9, 3, true, true, true),
    (2, 5, 7, 8, 8, 0, 21, 3, true, true, true),
    (3, 6, 5, 12, 24, 0, 33, 3, true, false, false),
    (2, 4, 9, 16, 16, 0, 16, 1, false, true, true),
    (2, 3, 6, 4, 12, 8, 7, 3, true, true, false),
    (1, 9, 2, 20, 20, 0, 48, 1, false, false, false),
    // the coupling net at w = 4, n = 3
    (3, 5, 4, 6, 6, 0, 256, 3, true, true, true), // first conv: 6 -> 256, 3x3
    (3, 5, 4, 256, 256, 0, 256, 1, false, true, true), // 256 -> 256, 1x1
    (3, 5, 4, 256, 256, 0, 12, 3, true, true, false), // zero conv: 256 + edge = 257 rows -> 12
    (3, 4, 4, 257, 257, 0, 12, 3, true, false, false), // cin = 257 (scalar input, 2 tail rows)
    (3, 3, 4, 257, 300, 41, 256, 1, false, true, true), // 257 of 300 channels at offset 41
    (3, 3, 4, 256, 300, 40, 12, 3, true, true, true), // vec4 slice at offset 40
    // vec4-aligned slices whose channel count is not a multiple of 4 or 8
    (3, 5, 4, 6, 12, 0, 256, 3, true, true, true), // the coupling net's first conv reads z1 in place
    (2, 4, 5, 5, 12, 4, 20, 3, true, false, false),
    (2, 3, 7, 13, 16, 0, 9, 1, false, true, false),
    // several 128-pixel workgroups, the last partial; channel blocks of 32 with a partial one
    (3, 11, 9, 24, 24, 0, 40, 3, true, true, false),
    (2, 13, 5, 3, 3, 0, 70, 3, true, false, true),
    (5, 7, 11, 32, 32, 0, 16, 1, false, false, false),
];

/// Runs each conv case on `g` (as currently configured) against the f64 CPU reference.
fn check_conv_cases(g: &mut glowgpu::GpuBackend, cases: &[ConvCase], what: &str) {
    let mut rng = HostRng::new(21);
    for (i, &(n, h, w, cin, stride, off, cout, k, edge, epi, relu)) in cases.iter().enumerate() {
        let rows = cin + edge as usize;
        let xs = randn(&mut rng, n * h * w * stride.max(1), 1.0);
        let params = param_map(&[
            (&format!("w{i}"), randn(&mut rng, k * k * rows * cout, 0.3)),
            (&format!("b{i}"), randn(&mut rng, cout, 0.5)),
            (&format!("s{i}"), randn(&mut rng, cout, 0.2)),
        ]);
        let make = || {
            let mut gr = Graph::default();
            let x = gr.io("x", xs.len(), DType::F32);
            let y = gr.io("y", n * h * w * cout, DType::F32);
            let mut p = ConvParams::new(n, h, w, cin, cout, k, edge);
            p.cin_stride = stride as u32;
            p.cin_off = off as u32;
            p.epilogue = epi as u32;
            p.relu = relu as u32;
            let (bias, logs) = if epi { (Some(format!("b{i}")), Some(format!("s{i}"))) } else { (None, None) };
            gr.push(Conv2d { x, y, weight: format!("w{i}"), bias, logs, p });
            (gr, vec![(x, Host::F(xs.clone()))], vec![y])
        };
        let (want, got) = cpu_and_gpu(g, &params, make, ARGS);
        assert_close(&format!("{what} conv case {i}"), &got[0].clone().floats(), &want[0].clone().floats(), TOL);
    }
}

#[test]
fn conv2d_subgroup_kernel() {
    // lavapipe (and the GPUs this crate targets natively) offer subgroups of 8 or more lanes
    let mut g = gpu();
    assert!(
        g.subgroups_enabled(),
        "subgroup convolution not selected on {} (GLOWGPU_NO_SUBGROUPS set, or no `subgroups` feature)",
        glowgpu::Backend::describe(&g)
    );
    assert_eq!(g.caps(), GpuCaps { subgroups: true });
    // the op picks its kernel from the capabilities
    let op =
        Conv2d { x: 0, y: 1, weight: "w".into(), bias: None, logs: None, p: ConvParams::new(1, 2, 2, 4, 4, 1, false) };
    assert_eq!(op.gpu(GpuCaps { subgroups: true }).shader, "conv2d_sg");
    assert_eq!(op.gpu(GpuCaps { subgroups: false }).shader, "conv2d");
    // both kernels bind the same buffers: liveness (`Op::buffers`) does not depend on the adapter
    for &(n, h, w, cin, stride, off, cout, k, edge, _, _) in CONV_CASES {
        let mut p = ConvParams::new(n, h, w, cin, cout, k, edge);
        p.cin_stride = stride as u32;
        p.cin_off = off as u32;
        let op = Conv2d { x: 0, y: 1, weight: "w".into(), bias: None, logs: None, p };
        assert_eq!(op.gpu(GpuCaps { subgroups: true }).binds, op.gpu(GpuCaps { subgroups: false }).binds);
    }
    check_conv_cases(&mut g, CONV_CASES, "subgroup");
}

#[test]
fn conv2d_portable_kernels_when_subgroups_are_off() {
    // the browser's WebGPU has no subgroups: the portable entry points must stay correct
    let mut g = gpu();
    // the test adapters (lavapipe, the device's GPU) have subgroups: switching them off must change
    // the kernels the plans use, else this would test the subgroup path twice
    assert!(g.subgroups_enabled(), "this adapter has no subgroups: the portable kernels run in every test already");
    g.set_subgroups(false);
    assert!(!g.subgroups_enabled(), "set_subgroups(false) left the subgroup convolution on");
    assert_eq!(g.caps(), GpuCaps { subgroups: false });
    check_conv_cases(&mut g, CONV_CASES, "portable");
}

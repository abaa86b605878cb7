//! Whole-model checks: exact round trips, GPU against the f64 CPU reference, logdet against a
//! finite-difference Jacobian, bits/dim against an independently computed value, actnorm init.
use crate::common;
use common::*;

use glowgpu::platform::block_on;
use glowgpu::{Backend, Coupling, CpuBackend, Glow, GlowConfig, Permutation};

#[allow(clippy::too_many_arguments)]
fn cfg(
    h: usize,
    w: usize,
    c: usize,
    levels: usize,
    depth: usize,
    hidden: usize,
    coupling: Coupling,
    perm: Permutation,
) -> GlowConfig {
    GlowConfig {
        image_height: h,
        image_width: w,
        image_channels: c,
        levels,
        depth,
        hidden,
        coupling,
        permutation: perm,
        learn_top: true,
        n_classes: 0,
        n_bits: 8,
    }
}

/// Continuous input of `encode` for bytes: the bin centre.
fn bin_centre(bytes: &[u8], n_bits: u32) -> Vec<f64> {
    let nb = (1u32 << n_bits) as f64;
    bytes.iter().map(|&b| (b >> (8 - n_bits)) as f64 / nb - 0.5 + 0.5 / nb).collect()
}

fn round_trip<B: Backend>(m: &mut Glow<B>, n: usize, seed: u64) {
    let d = m.config().dims();
    let nb = m.config().n_bits;
    let img = rand_bytes(seed, n * d);
    let enc = block_on(m.encode(&img, n, None)).unwrap();
    let (back, x) = block_on(m.decode_full(&enc.latents, None)).unwrap();
    let step = 1u8 << (8 - nb);
    let want: Vec<u8> = img.iter().map(|b| b / step * step).collect();
    assert_eq!(back, want, "decode(encode(x)) is not exact on {}", m.backend().describe());
    let xc = bin_centre(&img, nb);
    let maxerr = x.iter().zip(&xc).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(maxerr <= 1e-4, "continuous round trip error {maxerr:.3e} on {}", m.backend().describe());
}

#[test]
fn round_trip_exact_deep_model_gpu_and_cpu() {
    // K = 4, L = 3, every parameter perturbed away from its identity init, non-square images
    let c = cfg(16, 8, 3, 3, 4, 16, Coupling::Affine, Permutation::Invconv);
    let p = perturbed(&c, 21, 0.05);
    let mut g = Glow::from_params(c.clone(), p.clone(), gpu()).unwrap();
    round_trip(&mut g, 3, 1);
    let mut f = Glow::from_params(c, p, CpuBackend::<f32>::new()).unwrap();
    round_trip(&mut f, 3, 1);
}

#[test]
fn round_trip_every_permutation_and_coupling_gpu() {
    let mut gpu = Some(gpu());
    for perm in [
        Permutation::Invconv,
        Permutation::InvconvLu,
        Permutation::Shuffle,
        Permutation::Reverse,
        Permutation::Householder,
    ] {
        for coupling in [Coupling::Affine, Coupling::Additive] {
            let mut c = cfg(8, 8, 1, 2, 2, 8, coupling, perm);
            c.n_bits = 5;
            let p = perturbed(&c, 5, 0.05);
            let mut m = Glow::from_params(c, p, gpu.take().unwrap()).unwrap();
            round_trip(&mut m, 2, 9);
            gpu = Some(into_backend(m));
        }
    }
}

fn into_backend<B: Backend>(m: Glow<B>) -> B {
    m.into_backend()
}

#[test]
fn gpu_encode_matches_f64_reference() {
    for (perm, coupling) in [
        (Permutation::Invconv, Coupling::Affine),
        (Permutation::InvconvLu, Coupling::Additive),
        (Permutation::Shuffle, Coupling::Affine),
        (Permutation::Householder, Coupling::Additive),
    ] {
        let c = cfg(24, 16, 3, 3, 2, 12, coupling, perm);
        let p = perturbed(&c, 31, 0.05);
        let img = rand_bytes(4, 2 * c.dims());
        let mut g = Glow::from_params(c.clone(), p.clone(), gpu()).unwrap();
        let mut r = Glow::from_params(c.clone(), p, CpuBackend::<f64>::new()).unwrap();
        let eg = block_on(g.encode(&img, 2, None)).unwrap();
        let er = block_on(r.encode(&img, 2, None)).unwrap();
        for (l, (a, b)) in eg.latents.levels.iter().zip(&er.latents.levels).enumerate() {
            assert_close(&format!("{perm:?} latent level {l}"), a, b, 1e-4);
        }
        assert_close("logdet", &eg.logdet, &er.logdet, 1e-4);
        assert_close("logp", &eg.logp, &er.logp, 1e-4);
        let bg = block_on(g.bits_per_dim(&img, 2, None, 7)).unwrap();
        let br = block_on(r.bits_per_dim(&img, 2, None, 7)).unwrap();
        assert_close("bits/dim", &bg, &br, 1e-5);
    }
}

#[test]
fn logdet_matches_finite_difference_jacobian() {
    for (perm, coupling) in [
        (Permutation::Invconv, Coupling::Affine),
        (Permutation::InvconvLu, Coupling::Affine),
        (Permutation::Reverse, Coupling::Additive),
        (Permutation::Householder, Coupling::Affine),
    ] {
        let c = cfg(4, 4, 1, 2, 2, 4, coupling, perm);
        let p = perturbed(&c, 41, 0.2);
        let mut m = Glow::from_params(c.clone(), p, CpuBackend::<f64>::new()).unwrap();
        let d = c.dims();
        let mut rng = glowgpu::rng::HostRng::new(3);
        let x: Vec<f64> = (0..d).map(|_| rng.uniform() - 0.5).collect();
        let e = block_on(m.encode_float(&x, 1, None)).unwrap();
        let eps = e.latents.flat(0);
        // x -> eps is triangular: log|det| = logdet_flow - Σ prior logs, and
        // Σ logp = -D/2 log 2π - Σ logs - Σ eps²/2
        let analytic = e.logdet[0]
            + e.logp[0]
            + 0.5 * d as f64 * (2.0 * std::f64::consts::PI).ln()
            + 0.5 * eps.iter().map(|v| v * v).sum::<f64>();
        let h = 1e-5;
        let mut jac = glowgpu::linalg::Mat::zeros(d);
        for j in 0..d {
            let mut xp = x.clone();
            xp[j] += h;
            let mut xm = x.clone();
            xm[j] -= h;
            let fp = block_on(m.encode_float(&xp, 1, None)).unwrap().latents.flat(0);
            let fm = block_on(m.encode_float(&xm, 1, None)).unwrap().latents.flat(0);
            for i in 0..d {
                jac.set(i, j, (fp[i] - fm[i]) / (2.0 * h));
            }
        }
        let fd = jac.logabsdet();
        assert!(
            (fd - analytic).abs() < 1e-3,
            "{perm:?}/{coupling:?}: finite-difference log|det J| {fd} vs model {analytic}"
        );
        assert!(e.logdet[0].abs() > 0.1, "the test model must have a non-trivial logdet");
    }
}

#[test]
fn bits_per_dim_known_answer() {
    // Additive coupling with zero nets, reversed channels, zero priors: the flow is a channel
    // permutation after one actnorm; bits/dim follows in closed form from the dequantised pixels.
    let mut c = cfg(8, 4, 3, 2, 2, 8, Coupling::Additive, Permutation::Reverse);
    c.n_bits = 5;
    let mut p = glowgpu::Params::init(&c, 1).unwrap();
    let (b, s) = (0.1f32, -0.2f32);
    p.map.get_mut("l0.s0.actnorm.bias").unwrap().data.iter_mut().for_each(|v| *v = b);
    p.map.get_mut("l0.s0.actnorm.logs").unwrap().data.iter_mut().for_each(|v| *v = s);
    let n = 3;
    let d = c.dims();
    let img = rand_bytes(8, n * d);
    let seed = 99;
    let nb = c.n_bins();
    let scale = (3.0 * s as f64).exp();
    let want: Vec<f64> = (0..n)
        .map(|k| {
            let mut lp = 0.0;
            for i in 0..d {
                let g = k * d + i;
                let u = glowgpu::rng::uniform(seed, 1, g as u32);
                let x = (img[g] >> 3) as f64 / nb - 0.5 + u / nb;
                let z = (x + b as f64) * scale;
                lp += -0.5 * (2.0 * std::f64::consts::PI).ln() - 0.5 * z * z;
            }
            let logdet = d as f64 * 3.0 * s as f64;
            -(-(nb.ln()) * d as f64 + logdet + lp) / (std::f64::consts::LN_2 * d as f64)
        })
        .collect();
    let mut r = Glow::from_params(c.clone(), p.clone(), CpuBackend::<f64>::new()).unwrap();
    let got = block_on(r.bits_per_dim(&img, n, None, seed)).unwrap();
    assert_close("cpu bits/dim", &got, &want, 1e-10);
    let mut g = Glow::from_params(c, p, gpu()).unwrap();
    let got = block_on(g.bits_per_dim(&img, n, None, seed)).unwrap();
    assert_close("gpu bits/dim", &got, &want, 1e-5);
}

#[test]
fn actnorm_init_on_gpu_matches_reference_and_is_stored() {
    let c = cfg(8, 8, 3, 2, 2, 8, Coupling::Affine, Permutation::Invconv);
    let img = rand_bytes(12, 4 * c.dims());
    let mut g = Glow::new(c.clone(), gpu(), 3).unwrap();
    let mut r = Glow::new(c.clone(), CpuBackend::<f64>::new(), 3).unwrap();
    assert!(!g.params().actnorm_initialized);
    block_on(g.init_actnorm(&img, 4, 5)).unwrap();
    block_on(r.init_actnorm(&img, 4, 5)).unwrap();
    assert!(g.params().actnorm_initialized);
    let mut checked = 0;
    // the flow's actnorms and the two inside each coupling net, by their layers' declared kind
    let names = glowgpu::params::actnorm_names(&c);
    assert!(names.iter().all(|n| n.contains(".actnorm.") || n.contains(".an1.") || n.contains(".an2.")), "{names:?}");
    for (name, t) in g.params().map.iter().filter(|(n, _)| names.contains(n)) {
        let a: Vec<f64> = t.data.iter().map(|&v| v as f64).collect();
        let b: Vec<f64> = r.params().get(name).data.iter().map(|&v| v as f64).collect();
        if name.ends_with(".logs") {
            assert_close(name, &a, &b, 1e-4);
            assert!(a.iter().all(|v| v.abs() > 1e-3), "{name} still at its zero init");
        } else {
            // biases can be ~0 (a rotation of centred data stays centred): compare them on
            // the unit scale of the data they shift
            let e = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
            assert!(e <= 1e-4, "{name}: max abs difference {e:.3e}");
        }
        checked += 1;
    }
    assert_eq!(checked, 2 * 2 * 2 * 3);
    // the first actnorm centres each squeezed channel c·4 + dy·2 + dx
    let nb = c.n_bins();
    let mut mean = [0.0; 12];
    let mut count = [0usize; 12];
    for (i, &v) in img.iter().enumerate() {
        let (ch, px) = (i % 3, i / 3);
        let (x, y) = (px % 8, (px / 8) % 8);
        let k = ch * 4 + (y % 2) * 2 + x % 2;
        mean[k] += v as f64 / nb - 0.5 + 0.5 / nb; // the noise's mean
        count[k] += 1;
    }
    let bias = &g.params().get("l0.s0.actnorm.bias").data;
    for k in 0..12 {
        let m = mean[k] / count[k] as f64;
        assert!((bias[k] as f64 + m).abs() < 1e-3, "bias[{k}] = {} vs -mean {m}", bias[k]);
    }
}

#[test]
fn sampling_gpu_matches_cpu_and_temperature_zero_is_the_mode() {
    let c = cfg(8, 8, 3, 2, 2, 8, Coupling::Affine, Permutation::Invconv);
    let p = perturbed(&c, 51, 0.05);
    let mut g = Glow::from_params(c.clone(), p.clone(), gpu()).unwrap();
    let mut r = Glow::from_params(c.clone(), p, CpuBackend::<f64>::new()).unwrap();
    let a = block_on(g.sample(3, 0.7, 17, None)).unwrap();
    let b = block_on(r.sample(3, 0.7, 17, None)).unwrap();
    let off: Vec<i32> = a.iter().zip(&b).map(|(x, y)| (*x as i32 - *y as i32).abs()).collect();
    assert!(off.iter().all(|&o| o <= 1), "GPU and CPU samples differ by more than one level");
    assert!(off.iter().filter(|&&o| o == 1).count() * 100 <= off.len(), "too many off-by-one levels");
    // a batch of one gets the same noise as image 0 of a larger batch
    let one = block_on(g.sample(1, 0.7, 17, None)).unwrap();
    assert_eq!(&one[..], &a[..c.dims()]);
    let z = block_on(g.sample(2, 0.0, 1, None)).unwrap();
    let z2 = block_on(g.sample(2, 0.0, 2, None)).unwrap();
    assert_eq!(z, z2, "T = 0 must not depend on the seed");
    assert_ne!(a, block_on(g.sample(3, 0.7, 18, None)).unwrap(), "different seeds give different samples");
}

#[test]
fn class_conditional_model_round_trip_and_logits() {
    let mut c = cfg(8, 8, 3, 2, 2, 8, Coupling::Affine, Permutation::InvconvLu);
    c.n_classes = 4;
    let p = perturbed(&c, 61, 0.05);
    let img = rand_bytes(13, 3 * c.dims());
    let labels = [0u32, 3, 1];
    let mut g = Glow::from_params(c.clone(), p.clone(), gpu()).unwrap();
    let mut r = Glow::from_params(c.clone(), p, CpuBackend::<f64>::new()).unwrap();
    let eg = block_on(g.encode(&img, 3, Some(&labels))).unwrap();
    let er = block_on(r.encode(&img, 3, Some(&labels))).unwrap();
    assert_close("logits", eg.logits.as_ref().unwrap(), er.logits.as_ref().unwrap(), 1e-4);
    assert_close("logp (class prior)", &eg.logp, &er.logp, 1e-4);
    let back = block_on(g.decode(&eg.latents, Some(&labels))).unwrap();
    assert_eq!(back, img);
    // the label changes the prior, hence the likelihood
    let other = block_on(r.encode(&img, 3, Some(&[1, 1, 1]))).unwrap();
    assert!(other.logp.iter().zip(&er.logp).any(|(a, b)| (a - b).abs() > 1e-3));
    let e = block_on(g.encode(&img, 3, None)).unwrap_err();
    assert!(e.to_string().contains("labels are required"), "{e}");
}

#[test]
fn buffers_past_the_adapter_limit_fail_with_a_clear_error() {
    let c = cfg(64, 64, 3, 2, 1, 512, Coupling::Affine, Permutation::Invconv);
    let g = gpu();
    let max = g.limits.max_storage_buffer_binding_size as usize;
    // the first coupling net's hidden activation is n·32·32·512 floats
    let n = max / (32 * 32 * 512 * 4) + 1;
    let mut m = Glow::new(c.clone(), g, 0).unwrap();
    let img = vec![7u8; n * c.dims()];
    let e = block_on(m.encode(&img, n, None)).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, glowgpu::Error::Limit(_)), "{msg}");
    assert!(msg.contains("max_storage_buffer_binding_size") && msg.contains("smaller batch"), "{msg}");
    assert!(msg.contains(&format!("a batch of at most {} fits", n - 1)), "{msg}");
    // a batch that fits still works on the same model
    block_on(m.encode(&img[..c.dims()], 1, None)).unwrap();
}

#[test]
fn weights_file_round_trip_through_gpu_model() {
    let c = cfg(8, 8, 3, 2, 2, 8, Coupling::Affine, Permutation::InvconvLu);
    let p = perturbed(&c, 71, 0.05);
    let img = rand_bytes(21, 2 * c.dims());
    let mut a = Glow::from_params(c.clone(), p.clone(), CpuBackend::<f64>::new()).unwrap();
    let bytes = glowgpu::save_weights(&c, &p).unwrap();
    let (c2, p2) = glowgpu::load_weights(&bytes).unwrap();
    assert_eq!(c2, c);
    let mut b = Glow::from_params(c2, p2, gpu()).unwrap();
    let ea = block_on(a.encode(&img, 2, None)).unwrap();
    let eb = block_on(b.encode(&img, 2, None)).unwrap();
    assert_close("loaded model latents", &eb.latents.flat(1), &ea.latents.flat(1), 1e-4);
}

#[test]
fn bad_inputs_give_clear_errors() {
    let c = cfg(8, 8, 3, 2, 1, 8, Coupling::Affine, Permutation::Invconv);
    let mut m = Glow::new(c.clone(), CpuBackend::<f32>::new(), 0).unwrap();
    let e = block_on(m.encode(&[0u8; 10], 1, None)).unwrap_err().to_string();
    assert!(e.contains("expected 1 images of 8x8x3 = 192 bytes, got 10 bytes"), "{e}");
    let img = rand_bytes(1, c.dims());
    let mut lat = block_on(m.encode(&img, 1, None)).unwrap().latents;
    lat.levels[1][3] = f64::NAN;
    let e = block_on(m.decode(&lat, None)).unwrap_err();
    assert!(matches!(e, glowgpu::Error::NonFinite(_)) && e.to_string().contains("latent level 1"), "{e}");
    lat.levels[0].pop();
    let e = block_on(m.decode(&lat, None)).unwrap_err().to_string();
    assert!(e.contains("latent level 0 has"), "{e}");
    let e = block_on(m.sample(2, f32::NAN, 0, None)).unwrap_err().to_string();
    assert!(e.contains("temperature"), "{e}");
    let e = block_on(m.encode(&img, 1, Some(&[0]))).unwrap_err().to_string();
    assert!(e.contains("unconditional"), "{e}");
}

#[test]
fn flat_latents_round_trip_and_interpolate() {
    let c = cfg(8, 8, 3, 2, 2, 8, Coupling::Affine, Permutation::Invconv);
    let p = perturbed(&c, 81, 0.05);
    let mut m = Glow::from_params(c.clone(), p, CpuBackend::<f32>::new()).unwrap();
    let img = rand_bytes(5, 2 * c.dims());
    let lat = block_on(m.encode(&img, 2, None)).unwrap().latents;
    let (a, b) = (lat.flat(0), lat.flat(1));
    assert_eq!(a.len(), c.dims(), "a Glow latent has as many values as the image");
    let back = glowgpu::Latents::from_flat(&c, &[a.clone(), b.clone()]).unwrap();
    assert_eq!(back, lat);
    // the interpolation's end points decode to the two images
    let path: Vec<Vec<f64>> = [0.0, 0.5, 1.0].iter().map(|&t| glowgpu::latent::lerp(&a, &b, t)).collect();
    let imgs = block_on(m.decode(&glowgpu::Latents::from_flat(&c, &path).unwrap(), None)).unwrap();
    let d = c.dims();
    assert_eq!(&imgs[..d], &img[..d]);
    assert_eq!(&imgs[2 * d..], &img[d..]);
}

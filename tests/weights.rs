//! Safetensors save/load: round trips (F32 exact, F16 within precision) and every failure mode
//! returning `Error::Weights` with a message naming the problem. CPU only.
use std::collections::HashMap;

use glowgpu::config::CONFIG_VERSION;
use glowgpu::params::Tensor;
use glowgpu::weights::{f16_bits_to_f32, f32_to_f16_bits, load_weights, save_weights, save_weights_as, WeightDtype};
use glowgpu::{CpuBackend, Error, Glow, GlowConfig, Params};
use safetensors::tensor::{Dtype, TensorView};

fn cfg() -> GlowConfig {
    GlowConfig::tiny(8, 8, 3)
}

fn params() -> Params {
    let mut p = Params::init(&cfg(), 1).unwrap();
    // make the zero-initialised tensors non-trivial so the round trip means something
    for (i, (_, t)) in p.map.iter_mut().enumerate() {
        if t.data.iter().all(|&v| v == 0.0) {
            for (j, v) in t.data.iter_mut().enumerate() {
                *v = ((i * 31 + j * 7) % 97) as f32 / 97.0 - 0.5;
            }
        }
    }
    p
}

fn meta(cfg: &GlowConfig, initialized: bool) -> HashMap<String, String> {
    HashMap::from([
        ("format".to_string(), "glowgpu".to_string()),
        ("config_version".to_string(), CONFIG_VERSION.to_string()),
        ("config".to_string(), serde_json::to_string(cfg).unwrap()),
        ("actnorm_initialized".to_string(), initialized.to_string()),
    ])
}

/// A safetensors file built by hand: `(name, dtype, shape, raw bytes)`, no validation by glowgpu.
fn raw_file(tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)>, meta: Option<HashMap<String, String>>) -> Vec<u8> {
    let views: Vec<(String, TensorView)> =
        tensors.iter().map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap())).collect();
    safetensors::serialize(views, meta).unwrap()
}

fn f32_tensors(p: &Params) -> Vec<(String, Dtype, Vec<usize>, Vec<u8>)> {
    p.map
        .iter()
        .map(|(n, t)| (n.clone(), Dtype::F32, t.shape.clone(), t.data.iter().flat_map(|v| v.to_le_bytes()).collect()))
        .collect()
}

fn file_from(p: &Params, meta: Option<HashMap<String, String>>) -> Vec<u8> {
    raw_file(f32_tensors(p), meta)
}

fn weights_err(r: glowgpu::Result<(GlowConfig, Params)>) -> String {
    match r {
        Err(Error::Weights(m)) => m,
        Err(e) => panic!("expected Error::Weights, got {e:?}"),
        Ok(_) => panic!("expected Error::Weights, got Ok"),
    }
}

fn assert_contains(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "error message {msg:?} lacks {p:?}");
    }
}

#[test]
fn round_trip_f32_is_bitwise() {
    let (c, p) = (cfg(), params());
    let bytes = save_weights(&c, &p).unwrap();
    let (c2, p2) = load_weights(&bytes).unwrap();
    assert_eq!(c2, c);
    assert!(!p2.actnorm_initialized);
    assert_eq!(p2.map.keys().collect::<Vec<_>>(), p.map.keys().collect::<Vec<_>>());
    for (name, t) in &p.map {
        let t2 = &p2.map[name];
        assert_eq!(t2.shape, t.shape, "{name}");
        let a: Vec<u32> = t.data.iter().map(|v| v.to_bits()).collect();
        let b: Vec<u32> = t2.data.iter().map(|v| v.to_bits()).collect();
        assert_eq!(a, b, "{name}");
    }
    // save_weights is save_weights_as(.., F32); the metadata order in the header follows a
    // HashMap, so compare what loads rather than the bytes
    let again = save_weights_as(&c, &p, WeightDtype::F32).unwrap();
    assert_eq!(again.len(), bytes.len());
    assert_eq!(load_weights(&again).unwrap(), (c2, p2));
}

#[test]
fn round_trip_f16_within_precision_and_keeps_actnorm_flag() {
    let c = cfg();
    let mut p = params();
    p.actnorm_initialized = true;
    let f32_len = save_weights(&c, &p).unwrap().len();
    let bytes = save_weights_as(&c, &p, WeightDtype::F16).unwrap();
    assert!(bytes.len() < f32_len * 6 / 10, "F16 file {} bytes vs F32 {f32_len}", bytes.len());
    let (c2, p2) = load_weights(&bytes).unwrap();
    assert_eq!(c2, c);
    assert!(p2.actnorm_initialized);
    for (name, t) in &p.map {
        let t2 = &p2.map[name];
        assert_eq!(t2.shape, t.shape, "{name}");
        for (i, (&a, &b)) in t.data.iter().zip(&t2.data).enumerate() {
            // relative 1e-3 (f16 keeps 11 significant bits: 2^-11 ≈ 4.9e-4), plus half the
            // f16 subnormal spacing (2^-25) for values below the normal range
            let tol = 1e-3 * a.abs() + 3e-8;
            assert!((a - b).abs() <= tol, "{name}[{i}]: {a} -> {b}");
        }
    }
    // and back to F32 from the loaded params: exactly the f16 values
    let (_, p3) = load_weights(&save_weights(&c2, &p2).unwrap()).unwrap();
    assert_eq!(p3, p2);
}

#[test]
fn f16_conversion_round_to_nearest_even() {
    // every finite f16 survives f16 -> f32 -> f16 exactly
    for h in 0u16..=0xffff {
        if h & 0x7c00 == 0x7c00 && h & 0x03ff != 0 {
            assert!(f16_bits_to_f32(h).is_nan());
            assert_eq!(f32_to_f16_bits(f16_bits_to_f32(h)) & 0x7c00, 0x7c00);
            continue;
        }
        assert_eq!(f32_to_f16_bits(f16_bits_to_f32(h)), h, "{h:#06x}");
    }
    // midpoints between consecutive positive f16 values tie to the even one; one f32 ulp
    // either side rounds to the nearer one
    for h in 0u16..0x7bff {
        let (lo, hi) = (f16_bits_to_f32(h), f16_bits_to_f32(h + 1));
        let mid = (lo as f64 + hi as f64) / 2.0;
        let m = mid as f32;
        assert_eq!(m as f64, mid, "midpoint not exact in f32");
        let even = if h & 1 == 0 { h } else { h + 1 };
        assert_eq!(f32_to_f16_bits(m), even, "tie at {m:e}");
        assert_eq!(f32_to_f16_bits(-m), even | 0x8000, "tie at {:e}", -m);
        assert_eq!(f32_to_f16_bits(f32::from_bits(m.to_bits() - 1)), h, "below {m:e}");
        assert_eq!(f32_to_f16_bits(f32::from_bits(m.to_bits() + 1)), h + 1, "above {m:e}");
    }
    assert_eq!(f32_to_f16_bits(65504.0), 0x7bff);
    assert_eq!(f32_to_f16_bits(65519.99), 0x7bff);
    assert_eq!(f32_to_f16_bits(65520.0), 0x7c00); // ties to even = inf
    assert_eq!(f32_to_f16_bits(f32::INFINITY), 0x7c00);
    assert_eq!(f32_to_f16_bits(f32::NEG_INFINITY), 0xfc00);
    assert_eq!(f32_to_f16_bits(2f32.powi(-24)), 0x0001);
    assert_eq!(f32_to_f16_bits(2f32.powi(-25)), 0x0000); // tie to even zero
    assert_eq!(f32_to_f16_bits(1e-10), 0x0000);
    assert_eq!(f32_to_f16_bits(-0.0), 0x8000);
    assert_eq!(f32_to_f16_bits(1.0), 0x3c00);
    assert_eq!(f32_to_f16_bits(f32::MIN_POSITIVE), 0x0000);
    assert!(f16_bits_to_f32(f32_to_f16_bits(f32::NAN)).is_nan());
}

#[test]
fn f16_save_refuses_values_out_of_range() {
    let c = cfg();
    let mut p = params();
    p.map.get_mut("l0.s0.coupling.conv2.w").unwrap().data[5] = 1e6;
    let e = save_weights_as(&c, &p, WeightDtype::F16).unwrap_err();
    let Error::Weights(m) = e else { panic!("{e:?}") };
    assert_contains(&m, &["l0.s0.coupling.conv2.w", "f16"]);
    // F32 keeps it
    let (_, p2) = load_weights(&save_weights(&c, &p).unwrap()).unwrap();
    assert_eq!(p2.map["l0.s0.coupling.conv2.w"].data[5], 1e6);
}

#[test]
fn truncated_files_are_rejected() {
    let bytes = save_weights(&cfg(), &params()).unwrap();
    let m = weights_err(load_weights(&bytes[..bytes.len() / 2]));
    assert_contains(&m, &["truncated or corrupt safetensors file"]);
    let m = weights_err(load_weights(&bytes[..5]));
    assert_contains(&m, &["truncated or corrupt safetensors file"]);
    let m = weights_err(load_weights(&bytes[..bytes.len() - 1]));
    assert_contains(&m, &["truncated or corrupt safetensors file"]);
    let m = weights_err(load_weights(&[]));
    assert_contains(&m, &["truncated or corrupt safetensors file"]);
}

#[test]
fn garbage_bytes_are_rejected() {
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let garbage: Vec<u8> = (0..4096)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 24) as u8
        })
        .collect();
    let m = weights_err(load_weights(&garbage));
    assert_contains(&m, &["truncated or corrupt safetensors file"]);
    // a plausible header length followed by garbage
    let mut g2 = 64u64.to_le_bytes().to_vec();
    g2.extend(&garbage[..100]);
    let m = weights_err(load_weights(&g2));
    assert_contains(&m, &["truncated or corrupt safetensors file"]);
    // garbage inside a file's data section is caught by the finiteness check or loads as numbers;
    // it never panics
    let mut bytes = save_weights(&cfg(), &params()).unwrap();
    let n = bytes.len();
    bytes[n - 64..].iter_mut().for_each(|b| *b = 0xff); // 0xffffffff is a NaN
    let m = weights_err(load_weights(&bytes));
    assert_contains(&m, &["non-finite"]);
}

#[test]
fn wrong_tensor_shape_is_named() {
    let c = cfg();
    let p = params();
    let name = "l0.s0.coupling.conv1.w";
    let want = p.map[name].shape.clone();
    let mut tensors = f32_tensors(&p);
    let t = tensors.iter_mut().find(|t| t.0 == name).unwrap();
    t.2 = vec![want[0] * want[1], want[2], want[3]]; // same element count, wrong shape
    let bytes = raw_file(tensors, Some(meta(&c, false)));
    let m = weights_err(load_weights(&bytes));
    let got = format!("{:?}", [want[0] * want[1], want[2], want[3]]);
    assert_contains(&m, &[name, &got, &format!("{want:?}")]);

    // a different element count too
    let mut tensors = f32_tensors(&p);
    let t = tensors.iter_mut().find(|t| t.0 == "l0.prior.bias").unwrap();
    let want = t.2.clone();
    t.2 = vec![want[0] + 1];
    t.3.extend(0f32.to_le_bytes());
    let m = weights_err(load_weights(&raw_file(tensors, Some(meta(&c, false)))));
    assert_contains(&m, &["l0.prior.bias", &format!("{:?}", [want[0] + 1]), &format!("{want:?}")]);
}

#[test]
fn missing_tensor_is_named() {
    let c = cfg();
    let mut p = params();
    p.map.remove("l1.s1.actnorm.logs");
    let m = weights_err(load_weights(&file_from(&p, Some(meta(&c, false)))));
    assert_contains(&m, &["missing tensor", "l1.s1.actnorm.logs"]);
}

#[test]
fn unexpected_tensor_is_named() {
    let c = cfg();
    let mut p = params();
    p.map.insert("bogus.extra".into(), Tensor { shape: vec![2], data: vec![1.0, 2.0] });
    let m = weights_err(load_weights(&file_from(&p, Some(meta(&c, false)))));
    assert_contains(&m, &["unexpected", "bogus.extra"]);
}

#[test]
fn nan_and_inf_values_are_named() {
    let c = cfg();
    let mut p = params();
    p.map.get_mut("l0.s1.invconv.w").unwrap().data[3] = f32::NAN;
    let m = weights_err(load_weights(&file_from(&p, Some(meta(&c, false)))));
    assert_contains(&m, &["l0.s1.invconv.w", "non-finite", "index 3"]);

    let mut p = params();
    p.map.get_mut("top.prior.logs").unwrap().data[0] = f32::NEG_INFINITY;
    let m = weights_err(load_weights(&file_from(&p, Some(meta(&c, false)))));
    assert_contains(&m, &["top.prior.logs", "non-finite"]);

    // an f16 inf is caught the same way
    let p = params();
    let mut tensors: Vec<_> = p
        .map
        .iter()
        .map(|(n, t)| {
            let b: Vec<u8> = t.data.iter().flat_map(|&v| f32_to_f16_bits(v).to_le_bytes()).collect();
            (n.clone(), Dtype::F16, t.shape.clone(), b)
        })
        .collect();
    let t = tensors.iter_mut().find(|t| t.0 == "l1.s0.actnorm.bias").unwrap();
    t.3[0..2].copy_from_slice(&0x7c00u16.to_le_bytes());
    let m = weights_err(load_weights(&raw_file(tensors, Some(meta(&c, false)))));
    assert_contains(&m, &["l1.s0.actnorm.bias", "non-finite"]);

    // and save refuses non-finite params up front
    let mut p = params();
    p.map.get_mut("l0.s1.invconv.w").unwrap().data[3] = f32::NAN;
    let m = weights_err(save_weights(&c, &p).map(|_| (c.clone(), p.clone())));
    assert_contains(&m, &["l0.s1.invconv.w"]);
}

#[test]
fn unsupported_dtype_is_named() {
    let c = cfg();
    let p = params();
    let mut tensors = f32_tensors(&p);
    let t = tensors.iter_mut().find(|t| t.0 == "l0.s0.actnorm.bias").unwrap();
    t.1 = Dtype::I32; // same byte size as F32
    let m = weights_err(load_weights(&raw_file(tensors, Some(meta(&c, false)))));
    assert_contains(&m, &["l0.s0.actnorm.bias", "I32", "unsupported dtype"]);

    let mut tensors = f32_tensors(&p);
    let t = tensors.iter_mut().find(|t| t.0 == "l0.s0.actnorm.logs").unwrap();
    t.1 = Dtype::F64;
    let n = t.3.len();
    t.3.extend(vec![0u8; n]);
    let m = weights_err(load_weights(&raw_file(tensors, Some(meta(&c, false)))));
    assert_contains(&m, &["l0.s0.actnorm.logs", "F64", "unsupported dtype"]);
}

#[test]
fn unknown_config_version_is_reported() {
    let c = cfg();
    let mut md = meta(&c, false);
    md.insert("config_version".into(), "999".into());
    let m = weights_err(load_weights(&file_from(&params(), Some(md))));
    assert_contains(&m, &["config_version", "999", &format!("supports version {CONFIG_VERSION}")]);

    let mut md = meta(&c, false);
    md.insert("config_version".into(), "one".into());
    let m = weights_err(load_weights(&file_from(&params(), Some(md))));
    assert_contains(&m, &["config_version", "one"]);
}

#[test]
fn missing_metadata_is_reported() {
    let c = cfg();
    let m = weights_err(load_weights(&file_from(&params(), None)));
    assert_contains(&m, &["missing __metadata__"]);

    for key in ["format", "config_version", "config", "actnorm_initialized"] {
        let mut md = meta(&c, false);
        md.remove(key);
        let m = weights_err(load_weights(&file_from(&params(), Some(md))));
        assert_contains(&m, &["missing metadata key", &format!("`{key}`")]);
    }

    let mut md = meta(&c, false);
    md.insert("format".into(), "pytorch".into());
    let m = weights_err(load_weights(&file_from(&params(), Some(md))));
    assert_contains(&m, &["format", "pytorch", "glowgpu"]);

    let mut md = meta(&c, false);
    md.insert("actnorm_initialized".into(), "yes".into());
    let m = weights_err(load_weights(&file_from(&params(), Some(md))));
    assert_contains(&m, &["actnorm_initialized", "yes"]);
}

#[test]
fn invalid_config_json_is_reported() {
    let c = cfg();
    let mut md = meta(&c, false);
    md.insert("config".into(), "{\"image_height\": 8,".into());
    let m = weights_err(load_weights(&file_from(&params(), Some(md))));
    assert_contains(&m, &["config JSON", "invalid"]);

    // well-formed JSON missing a field
    let mut md = meta(&c, false);
    md.insert("config".into(), "{\"image_height\": 8}".into());
    let m = weights_err(load_weights(&file_from(&params(), Some(md))));
    assert_contains(&m, &["config JSON", "image_width"]);

    // parses but fails GlowConfig::validate
    let mut bad = c.clone();
    bad.image_channels = 2;
    let mut md = meta(&c, false);
    md.insert("config".into(), serde_json::to_string(&bad).unwrap());
    let m = weights_err(load_weights(&file_from(&params(), Some(md))));
    assert_contains(&m, &["config", "image_channels must be 1 or 3"]);

    // valid, but not the config these tensors were made for
    let mut other = c.clone();
    other.hidden = 16;
    let mut md = meta(&c, false);
    md.insert("config".into(), serde_json::to_string(&other).unwrap());
    let m = weights_err(load_weights(&file_from(&params(), Some(md))));
    assert_contains(&m, &["l0.s0.coupling.conv1.w", "shape"]);
}

#[test]
fn loaded_weights_build_a_model() {
    let c = cfg();
    let mut p = params();
    p.actnorm_initialized = true;
    for dtype in [WeightDtype::F32, WeightDtype::F16] {
        let (c2, p2) = load_weights(&save_weights_as(&c, &p, dtype).unwrap()).unwrap();
        let g = Glow::from_params(c2, p2, CpuBackend::<f64>::new()).unwrap();
        assert!(g.params().actnorm_initialized);
        assert_eq!(g.config(), &c);
    }
}

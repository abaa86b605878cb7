//! Every kernel an op can produce (`backend::gpu::KERNELS`: shader, entry point, defines) parses
//! and validates with naga (no GPU needed), every shader file on disk is one the backend knows,
//! and every shader's `struct P` matches its Rust params.
use glowgpu::backend::gpu::{preprocess, shader_source, KERNELS, SHADERS, SUBGROUP_SHADERS};

fn module(name: &str, defines: &[&str]) -> naga::Module {
    let src = shader_source(name, defines).unwrap_or_else(|e| panic!("{e}"));
    naga::front::wgsl::parse_str(&src).unwrap_or_else(|e| panic!("{name}.wgsl {defines:?}: {}", e.emit_to_string(&src)))
}

#[test]
fn every_kernel_validates_with_naga() {
    for &(name, entry, defines) in KERNELS {
        let module = module(name, defines);
        // the subgroup convolution needs the optional subgroup feature; everything else must
        // validate with no capabilities at all (plain WebGPU)
        let sg = SUBGROUP_SHADERS.contains(&name);
        let caps = if sg { naga::valid::Capabilities::SUBGROUP } else { naga::valid::Capabilities::empty() };
        let mut v = naga::valid::Validator::new(naga::valid::ValidationFlags::all(), caps);
        if sg {
            v.subgroup_stages(naga::valid::ShaderStages::COMPUTE);
            v.subgroup_operations(naga::valid::SubgroupOperationSet::all());
        }
        v.validate(&module).unwrap_or_else(|e| panic!("{name}.wgsl {defines:?} invalid: {e:?}"));
        assert!(
            module.entry_points.iter().any(|e| e.name == entry),
            "{name}.wgsl {defines:?} has no entry point {entry}"
        );
        // bindings from 1 (0 is the op's uniform), no gaps
        let mut bindings: Vec<u32> =
            module.global_variables.iter().filter_map(|(_, g)| g.binding.as_ref().map(|b| b.binding)).collect();
        bindings.sort();
        let want: Vec<u32> = (0..bindings.len() as u32).collect();
        assert_eq!(bindings, want, "{name}.wgsl {defines:?}: bindings are not 0, 1, 2, ...");
    }
}

#[test]
fn every_shader_has_a_kernel() {
    for name in SHADERS {
        assert!(KERNELS.iter().any(|k| k.0 == *name), "no kernel of shaders/{name}.wgsl is listed in KERNELS");
    }
}

#[test]
fn the_preprocessor_keeps_and_drops_lines() {
    let src = "a\n#ifdef X\nb\n#ifndef Y // not Y\nc\n#else\nd\n#endif\n#else\ne\n#endif\nf\n";
    assert_eq!(preprocess(src, &[]).unwrap(), "a\n\n\n\n\n\n\n\n\ne\n\nf\n");
    assert_eq!(preprocess(src, &["X"]).unwrap(), "a\n\nb\n\nc\n\n\n\n\n\n\nf\n");
    assert_eq!(preprocess(src, &["X", "Y"]).unwrap(), "a\n\nb\n\n\n\nd\n\n\n\n\nf\n");
    for bad in ["#ifdef X\n", "#endif\n", "#else\n", "#ifdef X\n#else\n#else\n#endif\n", "#if X\n#endif\n", "#ifdef\n"]
    {
        assert!(preprocess(bad, &["X"]).is_err(), "accepted {bad:?}");
    }
    assert!(preprocess("a\n", &["X"]).is_err(), "accepted a define nothing tests");
    assert!(shader_source("conv2d", &["FORWAD"]).is_err(), "accepted a misspelt define");
}

#[test]
fn every_shader_file_is_registered() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        let stem = name.strip_suffix(".wgsl").expect("only .wgsl files in shaders/");
        if stem != "common" {
            assert!(SHADERS.contains(&stem), "shaders/{name} is not registered in backend::gpu::SHADERS");
        }
    }
}

/// Scalar kind of a uniform field.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    U,
    F,
}

/// Size and (WGSL name, byte offset, kind) of each named field.
type Layout = (usize, Vec<(&'static str, usize, Kind)>);

/// A Rust params struct as the shader must see it: size and each named field's WGSL name,
/// byte offset and kind (padding is left out: it is checked through the size and offsets).
macro_rules! layout {
    ($t:ty { $($wgsl:literal => $($f:ident).+ : $k:ident),* $(,)? }) => {
        (std::mem::size_of::<$t>(), vec![$(($wgsl, std::mem::offset_of!($t, $($f).+), Kind::$k)),*])
    };
}

#[test]
fn every_shader_struct_p_matches_its_rust_params() {
    use glowgpu::ops::{actnorm::*, conv2d::*, copy::*, coupling::*, householder::*, invconv::*, noise::*, optim::*};
    use glowgpu::ops::{permute::*, prior::*, quantize::*, reduce::*, squeeze::*};
    let conv = || {
        layout!(ConvParams { "n" => n: U, "h" => h: U, "w" => w: U, "cin" => cin: U, "cin_stride" => cin_stride: U,
            "cin_off" => cin_off: U, "cout" => cout: U, "cout_pad" => cout_pad: U, "k" => k: U, "edge" => edge: U,
            "epilogue" => epilogue: U, "relu" => relu: U, "accumulate" => accumulate: U, "y_stride" => y_stride: U,
            "y_off" => y_off: U })
    };
    let table: Vec<(&str, Layout)> = vec![
        (
            "actnorm",
            layout!(ActNormBackwardParams { "pixels" => an.pixels: U, "c" => an.c: U, "relu" => an.relu: U,
            "n" => n: U, "hw" => hw: U, "ld_scale" => ld_scale: F }),
        ),
        ("conv2d", conv()),
        ("conv2d_sg", conv()),
        ("copy", layout!(CopyParams { "len" => len: U })),
        (
            "coupling",
            layout!(CouplingBackwardParams { "pixels" => cp.pixels: U, "c" => cp.c: U, "c1" => cp.c1: U,
            "c2" => cp.c2: U, "ld_scale" => ld_scale: F }),
        ),
        ("householder", layout!(HouseholderParams { "c" => c: U, "r" => r: U })),
        ("invconv", layout!(InvconvParams { "c" => c: U, "ld" => ld: F })),
        ("noise", layout!(NoiseParams { "len" => len: U, "stream" => stream: U })),
        (
            "optim",
            layout!(OptParams { "len" => len: U, "block" => block: U, "slot" => slot: U, "max_norm" => max_norm: F,
            "beta1" => beta1: F, "beta2" => beta2: F, "eps" => eps: F, "decay" => decay: F }),
        ),
        ("permute", layout!(PermuteParams { "pixels" => pixels: U, "c" => c: U })),
        (
            "prior",
            layout!(PriorBackwardParams { "n" => pp.n: U, "pixels" => pp.pixels: U, "cz" => pp.cz: U,
            "z_stride" => pp.z_stride: U, "z_off" => pp.z_off: U, "interleaved" => pp.interleaved: U,
            "h_batched" => pp.h_batched: U, "has_vec" => pp.has_vec: U, "ld_scale" => ld_scale: F }),
        ),
        (
            "quantize",
            layout!(QuantParams { "len" => len: U, "shift" => shift: U, "n_bins" => n_bins: F,
            "noise" => noise: U, "stream" => stream: U, "base" => base: U }),
        ),
        ("reduce", layout!(ReduceParams { "n" => n: U, "len" => len: U, "scale" => scale: F, "c" => c: U })),
        (
            "squeeze",
            layout!(SqueezeParams { "n" => n: U, "h" => h: U, "w" => w: U, "c" => c: U,
            "c_total" => c_total: U, "c_off" => c_off: U }),
        ),
    ];
    let with_p: Vec<&str> = SHADERS
        .iter()
        .copied()
        .filter(|s| {
            KERNELS
                .iter()
                .any(|k| k.0 == *s && module(s, k.2).types.iter().any(|(_, t)| t.name.as_deref() == Some("P")))
        })
        .collect();
    let mut listed: Vec<&str> = table.iter().map(|t| t.0).collect();
    listed.sort();
    let mut want = with_p.clone();
    want.sort();
    assert_eq!(listed, want, "every shader with a `struct P` needs its Rust layout here");
    // every variant of each shader: `struct P` may not differ by defines
    let variants = KERNELS
        .iter()
        .flat_map(|&(name, _, defines)| table.iter().filter(move |t| t.0 == name).map(move |t| (defines, t)));
    for (defines, (name, (size, fields))) in variants {
        let module = module(name, defines);
        let p = module.types.iter().find(|(_, t)| t.name.as_deref() == Some("P")).expect("struct P").1;
        let naga::TypeInner::Struct { members, span } = &p.inner else { panic!("{name}: P is not a struct") };
        assert_eq!(*span as usize, *size, "{name}.wgsl {defines:?}: struct P is {span} bytes, the Rust params {size}");
        for m in members {
            let mname = m.name.as_deref().unwrap_or("");
            let kind = match module.types[m.ty].inner {
                naga::TypeInner::Scalar(s) if s.kind == naga::ScalarKind::Float => Kind::F,
                naga::TypeInner::Scalar(_) => Kind::U,
                ref other => panic!("{name}.wgsl: P.{mname} is not a scalar: {other:?}"),
            };
            if mname.starts_with('_') {
                // padding must not overlap a Rust field
                assert!(fields.iter().all(|f| f.1 != m.offset as usize), "{name}.wgsl: padding P.{mname} at a field");
                continue;
            }
            let f = fields
                .iter()
                .find(|f| f.0 == mname)
                .unwrap_or_else(|| panic!("{name}.wgsl: P.{mname} has no Rust field"));
            assert_eq!(
                f.1, m.offset as usize,
                "{name}.wgsl: P.{mname} at byte {}, the Rust field at {}",
                m.offset, f.1
            );
            assert_eq!(f.2, kind, "{name}.wgsl: P.{mname} is {kind:?}, the Rust field {:?}", f.2);
        }
        for f in fields {
            assert!(
                members.iter().any(|m| m.name.as_deref() == Some(f.0)),
                "{name}.wgsl: P lacks the Rust field {}",
                f.0
            );
        }
    }
}

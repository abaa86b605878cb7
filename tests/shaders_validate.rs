//! Every `.wgsl` parses and validates with naga (no GPU needed), and every shader file on disk
//! is one the backend knows.
use glowgpu::backend::gpu::{shader_source, SHADERS, SUBGROUP_SHADERS};

#[test]
fn every_shader_validates_with_naga() {
    for name in SHADERS {
        let src = shader_source(name).unwrap();
        let module =
            naga::front::wgsl::parse_str(&src).unwrap_or_else(|e| panic!("{name}.wgsl: {}", e.emit_to_string(&src)));
        // the subgroup convolution needs the optional subgroup feature; everything else must
        // validate with no capabilities at all (plain WebGPU)
        let sg = SUBGROUP_SHADERS.contains(name);
        let caps = if sg { naga::valid::Capabilities::SUBGROUP } else { naga::valid::Capabilities::empty() };
        let mut v = naga::valid::Validator::new(naga::valid::ValidationFlags::all(), caps);
        if sg {
            v.subgroup_stages(naga::valid::ShaderStages::COMPUTE);
            v.subgroup_operations(naga::valid::SubgroupOperationSet::all());
        }
        v.validate(&module).unwrap_or_else(|e| panic!("{name}.wgsl invalid: {e:?}"));
        assert!(!module.entry_points.is_empty(), "{name}.wgsl has no entry point");
    }
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

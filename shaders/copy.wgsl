// Buffer copy (see src/ops/copy.rs).
struct P {
    len: u32,
    _p0: u32, _p1: u32, _p2: u32,
}
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;       // [len]
@group(0) @binding(2) var<storage, read_write> y: array<f32>; // [len]

@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= p.len) { return; }
    y[i] = x[i];
}

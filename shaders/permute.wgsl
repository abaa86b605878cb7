// Fixed channel permutation (see src/ops/permute.rs).
struct P {
    pixels: u32,
    c: u32,
    _p0: u32, _p1: u32,
}
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;       // [pixels, c]
@group(0) @binding(2) var<storage, read> perm: array<f32>;    // [c] indices as floats
@group(0) @binding(3) var<storage, read_write> y: array<f32>; // [pixels, c]

@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= p.pixels * p.c) { return; }
    let k = i % p.c;
    y[i] = x[i - k + u32(perm[k])];
}

@compute @workgroup_size(64)
fn inverse(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= p.pixels * p.c) { return; }
    let k = i % p.c;
    y[i - k + u32(perm[k])] = x[i];
}

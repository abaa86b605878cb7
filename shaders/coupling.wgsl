// Coupling update of z2 = x[..., c1..c] from the net output h, in place (see src/ops/coupling.rs).
// Mirrors CouplingBackwardParams; forward / inverse upload CouplingParams (the first four
// fields) with the rest zero.
struct P {
    pixels: u32,
    c: u32,
    c1: u32,
    c2: u32,
    ld_scale: f32,  // loss coefficient of each image's logdet (affine backward)
    _p0: u32,
    _p1: u32,
    _p2: u32,
}
@group(0) @binding(0) var<uniform> p: P;
#ifdef FLOW
@group(0) @binding(1) var<storage, read_write> x: array<f32>;  // [pixels, c]
@group(0) @binding(2) var<storage, read> h: array<f32>;        // affine [pixels, 2 c2] (shift, pre-scale interleaved); additive [pixels, c2]
@group(0) @binding(3) var<storage, read_write> ls: array<f32>; // [pixels, c2] log scale (affine forward)

fn log_sigmoid(a: f32) -> f32 {
    return -(log(1.0 + exp(-abs(a))) + max(-a, 0.0));
}

@compute @workgroup_size(64)
fn affine_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= p.pixels * p.c2) { return; }
    let px = i / p.c2; let j = i % p.c2;
    let xi = px * p.c + p.c1 + j;
    let a = h[px * 2u * p.c2 + 2u * j + 1u] + 2.0;
    let scale = 1.0 / (1.0 + exp(-a));
    x[xi] = (x[xi] + h[px * 2u * p.c2 + 2u * j]) * scale;
    ls[i] = log_sigmoid(a);
}

@compute @workgroup_size(64)
fn affine_inverse(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= p.pixels * p.c2) { return; }
    let px = i / p.c2; let j = i % p.c2;
    let xi = px * p.c + p.c1 + j;
    let a = h[px * 2u * p.c2 + 2u * j + 1u] + 2.0;
    let scale = 1.0 / (1.0 + exp(-a));
    x[xi] = x[xi] / scale - h[px * 2u * p.c2 + 2u * j];
}

@compute @workgroup_size(64)
fn additive_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= p.pixels * p.c2) { return; }
    let xi = (i / p.c2) * p.c + p.c1 + i % p.c2;
    x[xi] = x[xi] + h[i];
}

@compute @workgroup_size(64)
fn additive_inverse(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= p.pixels * p.c2) { return; }
    let xi = (i / p.c2) * p.c + p.c1 + i % p.c2;
    x[xi] = x[xi] - h[i];
}
#endif

// Backward, elementwise over [pixels, c2]: y (forward output) -> x in place, dy -> dx in place
// (channels [c1, c) only), dh set (see src/ops/coupling.rs).
#ifdef BACKWARD
@group(0) @binding(1) var<storage, read_write> b_y: array<f32>;   // [pixels, c]
@group(0) @binding(2) var<storage, read> b_h: array<f32>;         // like h above
@group(0) @binding(3) var<storage, read_write> b_dy: array<f32>;  // [pixels, c]
@group(0) @binding(4) var<storage, read_write> b_dh: array<f32>;  // like h

@compute @workgroup_size(64)
fn affine_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= p.pixels * p.c2) { return; }
    let px = i / p.c2; let j = i % p.c2;
    let xi = px * p.c + p.c1 + j;
    let si = px * 2u * p.c2 + 2u * j;
    let a = b_h[si + 1u] + 2.0;
    let scale = 1.0 / (1.0 + exp(-a));
    let oms = 1.0 / (1.0 + exp(a)); // 1 - scale without cancellation
    let yv = b_y[xi];
    let d = b_dy[xi];
    b_y[xi] = yv / scale - b_h[si];
    b_dy[xi] = d * scale;
    b_dh[si] = d * scale;
    b_dh[si + 1u] = (d * yv + p.ld_scale) * oms;
}

@compute @workgroup_size(64)
fn additive_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= p.pixels * p.c2) { return; }
    let xi = (i / p.c2) * p.c + p.c1 + i % p.c2;
    b_y[xi] = b_y[xi] - b_h[i];
    b_dh[i] = b_dy[xi];
}
#endif

// Actnorm (see src/ops/actnorm.rs): y = (x + b) * exp(3 logs) [+ ReLU], in place.
struct P {
    pixels: u32,  // n*h*w
    c: u32,
    relu: u32,
    _p0: u32,
}
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> x: array<f32>; // [pixels, c]
@group(0) @binding(2) var<storage, read> bias: array<f32>;    // [c]
@group(0) @binding(3) var<storage, read> logs: array<f32>;    // [c]

@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= p.pixels * p.c) { return; }
    let k = i % p.c;
    var y = (x[i] + bias[k]) * exp(3.0 * logs[k]);
    if (p.relu == 1u) { y = max(y, 0.0); }
    x[i] = y;
}

@compute @workgroup_size(64)
fn inverse(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= p.pixels * p.c) { return; }
    let k = i % p.c;
    x[i] = x[i] * exp(-3.0 * logs[k]) - bias[k];
}

// init: one workgroup per channel; two passes (mean, then centred second moment).
@group(0) @binding(4) var<storage, read> xin: array<f32>;             // [pixels, c]
@group(0) @binding(5) var<storage, read_write> bias_out: array<f32>;  // [c]
@group(0) @binding(6) var<storage, read_write> logs_out: array<f32>;  // [c]
var<workgroup> part: array<f32, 64>;

fn wg_sum(lid: u32, v: f32) -> f32 {
    part[lid] = v;
    workgroupBarrier();
    for (var s = 32u; s > 0u; s = s >> 1u) {
        if (lid < s) { part[lid] += part[lid + s]; }
        workgroupBarrier();
    }
    let total = part[0];
    workgroupBarrier();
    return total;
}

@compute @workgroup_size(64)
fn init(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let k = wid.x;
    var s = 0.0;
    for (var i = lid; i < p.pixels; i += 64u) { s += xin[i * p.c + k]; }
    let mean = wg_sum(lid, s) / f32(p.pixels);
    var s2 = 0.0;
    for (var i = lid; i < p.pixels; i += 64u) { let d = xin[i * p.c + k] - mean; s2 += d * d; }
    let var_ = wg_sum(lid, s2) / f32(p.pixels);
    if (lid == 0u) {
        bias_out[k] = -mean;
        logs_out[k] = log(1.0 / (sqrt(var_) + 1e-6)) / 3.0;
    }
}

// Actnorm (see src/ops/actnorm.rs): y = (x + b) * exp(3 logs) [+ ReLU], in place; its backward.
// Mirrors ActNormBackwardParams; forward / inverse / init upload ActNormParams (the first four
// fields) with the rest zero.
struct P {
    pixels: u32,  // n*h*w
    c: u32,
    relu: u32,
    _p0: u32,
    n: u32,         // images (backward)
    hw: u32,        // pixels per image (backward)
    ld_scale: f32,  // loss coefficient of each image's logdet (backward)
    _p1: u32,
}
@group(0) @binding(0) var<uniform> p: P;
#ifdef FLOW
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
#endif

// init: one workgroup per channel; two passes (mean, then centred second moment).
#ifdef INIT
@group(0) @binding(1) var<storage, read> xin: array<f32>;             // [pixels, c]
@group(0) @binding(2) var<storage, read_write> bias_out: array<f32>;  // [c]
@group(0) @binding(3) var<storage, read_write> logs_out: array<f32>;  // [c]


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
#endif

// backward_params: one workgroup per channel. Reads the forward output y and dy (unchanged) and
// accumulates grad_bias += exp(3 logs) * sum dy, grad_logs += 3 * sum dy*y + ld_scale*n*3*hw;
// with relu, dy is masked by y > 0 first. Must run before backward_data.
#ifdef BACKWARD_PARAMS
@group(0) @binding(1) var<storage, read> bp_y: array<f32>;              // [pixels, c]
@group(0) @binding(2) var<storage, read> bp_dy: array<f32>;             // [pixels, c]
@group(0) @binding(3) var<storage, read> bp_logs: array<f32>;           // [c]
@group(0) @binding(4) var<storage, read_write> grad_bias: array<f32>;  // [c]
@group(0) @binding(5) var<storage, read_write> grad_logs: array<f32>;  // [c]

@compute @workgroup_size(64)
fn backward_params(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
    let k = wid.x + wid.y * nwg.x;
    if (k >= p.c) { return; }
    var s1 = 0.0;
    var s2 = 0.0;
    for (var i = lid; i < p.pixels; i += 64u) {
        let yv = bp_y[i * p.c + k];
        var d = bp_dy[i * p.c + k];
        if (p.relu == 1u && !(yv > 0.0)) { d = 0.0; }
        s1 += d;
        s2 += d * yv;
    }
    let t1 = wg_sum(lid, s1);
    let t2 = wg_sum(lid, s2);
    if (lid == 0u) {
        grad_bias[k] += exp(3.0 * bp_logs[k]) * t1;
        grad_logs[k] += 3.0 * t2 + p.ld_scale * 3.0 * f32(p.n) * f32(p.hw);
    }
}
#endif

// backward_data, elementwise in place: dy <- dx = dy * exp(3 logs) (masked by y > 0 with relu);
// without relu y <- x = y * exp(-3 logs) - b (the forward input); with relu y is left unchanged.
#ifdef BACKWARD_DATA
@group(0) @binding(1) var<storage, read_write> bd_y: array<f32>;   // [pixels, c]
@group(0) @binding(2) var<storage, read_write> bd_dy: array<f32>;  // [pixels, c]
@group(0) @binding(3) var<storage, read> bd_bias: array<f32>;      // [c]
@group(0) @binding(4) var<storage, read> bd_logs: array<f32>;      // [c]

@compute @workgroup_size(64)
fn backward_data(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= p.pixels * p.c) { return; }
    let k = i % p.c;
    let l = bd_logs[k];
    let yv = bd_y[i];
    if (p.relu == 1u) {
        var d = 0.0;
        if (yv > 0.0) { d = bd_dy[i] * exp(3.0 * l); }
        bd_dy[i] = d;
    } else {
        bd_dy[i] = bd_dy[i] * exp(3.0 * l);
        bd_y[i] = yv * exp(-3.0 * l) - bd_bias[k];
    }
}
#endif

// Reductions (see src/ops/reduce.rs).
struct P {
    n: u32,
    len: u32,    // per-image elements | parameter length | pixels
    scale: f32,
    c: u32,      // channels (mean_hw)
}
@group(0) @binding(0) var<uniform> p: P;
#ifdef PER_IMAGE
@group(0) @binding(1) var<storage, read> src: array<f32>;        // [n, len]
@group(0) @binding(2) var<storage, read_write> acc: array<f32>;  // [n]
#endif
#ifdef PARAM_SUM
@group(0) @binding(1) var<storage, read> prm: array<f32>;        // [len]
@group(0) @binding(2) var<storage, read_write> acc2: array<f32>; // [n]
#endif
#ifdef MEAN_HW
@group(0) @binding(1) var<storage, read> xm: array<f32>;         // [n, len, c]
@group(0) @binding(2) var<storage, read_write> ym: array<f32>;   // [n, c]
#endif



// one workgroup per image
#ifdef PER_IMAGE
@compute @workgroup_size(64)
fn per_image(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let n = wid.x;
    var s = 0.0;
    for (var i = lid; i < p.len; i += 64u) { s += src[n * p.len + i]; }
    let total = wg_sum(lid, s);
    if (lid == 0u) { acc[n] += p.scale * total; }
}
#endif

// one workgroup
#ifdef PARAM_SUM
@compute @workgroup_size(64)
fn param_sum(@builtin(local_invocation_index) lid: u32) {
    var s = 0.0;
    for (var i = lid; i < p.len; i += 64u) { s += prm[i]; }
    let total = wg_sum(lid, s);
    for (var n = lid; n < p.n; n += 64u) { acc2[n] += p.scale * total; }
}
#endif

#ifdef MEAN_HW
@compute @workgroup_size(64)
fn mean_hw(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= p.n * p.c) { return; }
    let n = i / p.c; let k = i % p.c;
    var s = 0.0;
    for (var q = 0u; q < p.len; q++) { s += xm[(n * p.len + q) * p.c + k]; }
    ym[i] = s / f32(p.len);
}
#endif

// mean_hw_backward: dx[n, q, k] += dy[n, k] / len (the gradient of mean_hw, added to z's gradient).
#ifdef MEAN_HW_BACKWARD
@group(0) @binding(1) var<storage, read> mb_dy: array<f32>;        // [n, c]
@group(0) @binding(2) var<storage, read_write> mb_dx: array<f32>;  // [n, len, c]

@compute @workgroup_size(64)
fn mean_hw_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= p.n * p.len * p.c) { return; }
    let k = i % p.c;
    let n = i / (p.len * p.c);
    mb_dx[i] += mb_dy[n * p.c + k] / f32(p.len);
}
#endif

// class_loss_backward: dlogits = scale · (softmax(logits) − onehot) per image (len = classes).
#ifdef CLASS_LOSS_BACKWARD
@group(0) @binding(1) var<storage, read> cl_logits: array<f32>;      // [n, len]
@group(0) @binding(2) var<storage, read> cl_onehot: array<f32>;     // [n, len]
@group(0) @binding(3) var<storage, read_write> cl_dl: array<f32>;   // [n, len]

@compute @workgroup_size(64)
fn class_loss_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let n = linear_id(gid, nwg);
    if (n >= p.n) { return; }
    var m = cl_logits[n * p.len];
    for (var j = 1u; j < p.len; j++) { m = max(m, cl_logits[n * p.len + j]); }
    var z = 0.0;
    for (var j = 0u; j < p.len; j++) { z += exp(cl_logits[n * p.len + j] - m); }
    for (var j = 0u; j < p.len; j++) {
        let sm = exp(cl_logits[n * p.len + j] - m) / z;
        cl_dl[n * p.len + j] = p.scale * (sm - cl_onehot[n * p.len + j]);
    }
}
#endif

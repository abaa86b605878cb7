// Optimizer: gradient norm, clip factor, Adam / Adamax, Polyak averaging (see src/ops/optim.rs).
struct P {
    len: u32,       // tensor elements | slot pairs (clip_factor)
    block: u32,     // grad_sumsq: elements per workgroup
    slot: u32,      // grad_sumsq: first slot pair
    max_norm: f32,  // clip_factor: <= 0 for no clipping
    beta1: f32,     // adam, adamax
    beta2: f32,
    eps: f32,
    decay: f32,     // ema
}
@group(0) @binding(0) var<uniform> p: P;

// grad_sumsq
#ifdef GRAD_SUMSQ
@group(0) @binding(1) var<storage, read> gsrc: array<f32>;          // [len]
@group(0) @binding(2) var<storage, read_write> sums: array<f32>;    // [2 slots]: (Σ g², bad)
#endif
// clip_factor
#ifdef CLIP_FACTOR
@group(0) @binding(1) var<storage, read> sums_in: array<f32>;       // [2 slots]
@group(0) @binding(2) var<storage, read_write> clip_out: array<f32>; // [f, skip, norm, Σ]
#endif
// adam, adamax
#ifdef UPDATE
@group(0) @binding(1) var<storage, read_write> theta: array<f32>;   // [len]
@group(0) @binding(2) var<storage, read> grad: array<f32>;          // [len]
@group(0) @binding(3) var<storage, read_write> mom1: array<f32>;    // [len]
@group(0) @binding(4) var<storage, read_write> mom2: array<f32>;    // [len] v (Adam) | u (Adamax)
@group(0) @binding(5) var<storage, read> state: array<f32>;         // [t, lr_t, a, b]
@group(0) @binding(6) var<storage, read> clip: array<f32>;         // [f, skip, norm, Σ]
#endif
// ema
#ifdef EMA
@group(0) @binding(1) var<storage, read> theta_in: array<f32>;     // [len]
@group(0) @binding(2) var<storage, read_write> avg: array<f32>;    // [len]
@group(0) @binding(3) var<storage, read> clip_e: array<f32>;       // [f, skip, norm, Σ]
#endif

var<workgroup> any_bad: atomic<u32>;

// Exponent all ones: inf or NaN (tested on the bits: `x != x` may be folded away).
fn non_finite(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u;
}


// one workgroup per block of p.block elements of the tensor
#ifdef GRAD_SUMSQ
@compute @workgroup_size(64)
fn grad_sumsq(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let len = p.len;
    let block = max(p.block, 1u);
    let k = wid.x + wid.y * nwg.x;
    if (k > 0u && k * block >= len) { return; }  // folded dispatch overhang (uniform per workgroup)
    let lo = k * block;
    let hi = min(len, lo + block);
    var s = 0.0;
    var bad = false;
    for (var i = lo + lid; i < hi; i += 64u) {
        let g = gsrc[i];
        bad = bad || non_finite(g);
        s += g * g;
    }
    if (bad) { atomicStore(&any_bad, 1u); }
    let total = wg_sum(lid, s);
    if (lid == 0u) {
        let at = 2u * (p.slot + k);
        sums[at] = total;
        sums[at + 1u] = select(0.0, 1.0, atomicLoad(&any_bad) != 0u);
    }
}
#endif

// one workgroup
#ifdef CLIP_FACTOR
@compute @workgroup_size(64)
fn clip_factor(@builtin(local_invocation_index) lid: u32) {
    let slots = p.len;
    let max_norm = p.max_norm;
    var s = 0.0;
    var bad = false;
    for (var k = lid; k < slots; k += 64u) {
        s += sums_in[2u * k];
        bad = bad || sums_in[2u * k + 1u] != 0.0;
    }
    if (bad) { atomicStore(&any_bad, 1u); }
    let total = wg_sum(lid, s);
    if (lid == 0u) {
        let skip = atomicLoad(&any_bad) != 0u || non_finite(total);
        let norm = sqrt(total);
        var f = 1.0;
        if (skip) {
            f = 0.0;
        } else if (max_norm > 0.0) {
            f = min(1.0, max_norm / (norm + 1e-6));
        }
        clip_out[0] = f;
        clip_out[1] = select(0.0, 1.0, skip);
        clip_out[2] = norm;
        clip_out[3] = total;
    }
}
#endif

// θ −= a · m / (b · D + ε) with D = sqrt(v) (Adam) or u (Adamax); a, b from `state`.
#ifdef UPDATE
fn update(i: u32, adamax: bool) {
    if (i >= p.len || clip[1] != 0.0) { return; }
    let beta1 = p.beta1;
    let beta2 = p.beta2;
    let g = grad[i] * clip[0];
    let m = beta1 * mom1[i] + (1.0 - beta1) * g;
    var d: f32;
    var v: f32;
    if (adamax) {
        v = max(beta2 * mom2[i], abs(g));
        d = v;
    } else {
        v = beta2 * mom2[i] + (1.0 - beta2) * g * g;
        d = sqrt(v);
    }
    mom1[i] = m;
    mom2[i] = v;
    theta[i] = theta[i] - state[2] * m / (state[3] * d + p.eps);
}

@compute @workgroup_size(64)
fn adam(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    update(linear_id(gid, nwg), false);
}

@compute @workgroup_size(64)
fn adamax(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    update(linear_id(gid, nwg), true);
}
#endif

#ifdef EMA
@compute @workgroup_size(64)
fn ema(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= p.len || clip_e[1] != 0.0) { return; }
    avg[i] = p.decay * avg[i] + (1.0 - p.decay) * theta_in[i];
}
#endif

// Diagonal Gaussian prior (see src/ops/prior.rs) and its backward.
// Mirrors PriorBackwardParams; forward / inverse upload PriorParams (the first eight fields)
// with the rest zero.
struct P {
    n: u32, pixels: u32, cz: u32,
    z_stride: u32, z_off: u32,   // z is channels [z_off, z_off + cz) of a z_stride-channel tensor
    interleaved: u32,            // 1: mean = h[2j], logs = h[2j+1]; 0: mean = h[j], logs = h[cz+j]
    h_batched: u32,              // 1: h is [n, pixels, 2cz]; 0: [pixels, 2cz] shared by the batch
    has_vec: u32,                // 1: add v[n, 2cz] (same channel layout as h)
    ld_scale: f32,               // backward: loss coefficient of each image's sum of log p
    _p0: u32, _p1: u32, _p2: u32,
}
@group(0) @binding(0) var<uniform> p: P;
// forward
#ifdef FORWARD
@group(0) @binding(1) var<storage, read> z_in: array<f32>;
@group(0) @binding(2) var<storage, read> h_f: array<f32>;
@group(0) @binding(3) var<storage, read> v_f: array<f32>;
@group(0) @binding(4) var<storage, read_write> eps_out: array<f32>; // [n, pixels, cz]
@group(0) @binding(5) var<storage, read_write> lp: array<f32>;      // [n, pixels, cz]
#endif
// inverse
#ifdef INVERSE
@group(0) @binding(1) var<storage, read> eps_in: array<f32>;
@group(0) @binding(2) var<storage, read> h_i: array<f32>;
@group(0) @binding(3) var<storage, read> v_i: array<f32>;
@group(0) @binding(4) var<storage, read_write> z_out: array<f32>;
#endif

struct Idx { z: u32, m: u32, l: u32, vm: u32, vl: u32 }

fn index(i: u32) -> Idx {
    let j = i % p.cz;
    let px = i / p.cz;
    let n = px / p.pixels;
    var hp = px % p.pixels;
    if (p.h_batched == 1u) { hp = px; }
    var mo = j; var lo = p.cz + j;
    if (p.interleaved == 1u) { mo = 2u * j; lo = 2u * j + 1u; }
    return Idx(px * p.z_stride + p.z_off + j, hp * 2u * p.cz + mo, hp * 2u * p.cz + lo,
               n * 2u * p.cz + mo, n * 2u * p.cz + lo);
}

#ifdef FORWARD
@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= p.n * p.pixels * p.cz) { return; }
    let k = index(i);
    var mean = h_f[k.m]; var logs = h_f[k.l];
    if (p.has_vec == 1u) { mean += v_f[k.vm]; logs += v_f[k.vl]; }
    let e = (z_in[k.z] - mean) * exp(-logs);
    eps_out[i] = e;
    lp[i] = -0.9189385332046727 - logs - 0.5 * e * e;
}
#endif

#ifdef INVERSE
@compute @workgroup_size(64)
fn inverse(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= p.n * p.pixels * p.cz) { return; }
    let k = index(i);
    var mean = h_i[k.m]; var logs = h_i[k.l];
    if (p.has_vec == 1u) { mean += v_i[k.vm]; logs += v_i[k.vl]; }
    z_out[k.z] = mean + exp(logs) * eps_in[i];
}
#endif

// backward: dz (slice of a z-shaped gradient) set, dh set (summed over the batch when h is
// shared), dv set (summed over pixels). Invocations [0, rows*cz): one per (h row, channel),
// looping over the images when h is shared; then [rows*cz, rows*cz + n*cz) with a vector: one
// per (image, channel) of dv, looping over the pixels.
#ifdef BACKWARD
@group(0) @binding(1) var<storage, read> b_z: array<f32>;
@group(0) @binding(2) var<storage, read> b_h: array<f32>;
@group(0) @binding(3) var<storage, read> b_v: array<f32>;
@group(0) @binding(4) var<storage, read_write> b_dz: array<f32>;
@group(0) @binding(5) var<storage, read_write> b_dh: array<f32>;
@group(0) @binding(6) var<storage, read_write> b_dv: array<f32>;  // unused without a vector

// Offsets of channel j's (mean, logs) within a 2cz-channel row of h or v.
fn ch(j: u32) -> vec2<u32> {
    if (p.interleaved == 1u) { return vec2<u32>(2u * j, 2u * j + 1u); }
    return vec2<u32>(j, p.cz + j);
}

// (dmean, dlogs) of element (image b, pixel pp of the level, channel j); also sets dz.
fn grad_at(b: u32, pp: u32, j: u32, set_dz: bool) -> vec2<f32> {
    let px = b * p.pixels + pp;
    var hp = pp;
    if (p.h_batched == 1u) { hp = px; }
    let o = ch(j);
    var mean = b_h[hp * 2u * p.cz + o.x];
    var logs = b_h[hp * 2u * p.cz + o.y];
    if (p.has_vec == 1u) { mean += b_v[b * 2u * p.cz + o.x]; logs += b_v[b * 2u * p.cz + o.y]; }
    let zi = px * p.z_stride + p.z_off + j;
    let inv = exp(-logs);
    let e = (b_z[zi] - mean) * inv;
    let dmean = p.ld_scale * e * inv;
    if (set_dz) { b_dz[zi] = -dmean; }
    return vec2<f32>(dmean, p.ld_scale * (e * e - 1.0));
}

@compute @workgroup_size(64)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = linear_id(gid, nwg);
    var rows = p.pixels;
    if (p.h_batched == 1u) { rows = p.n * p.pixels; }
    if (t < rows * p.cz) {
        let j = t % p.cz;
        let row = t / p.cz;
        var g = vec2<f32>(0.0);
        if (p.h_batched == 1u) {
            g = grad_at(row / p.pixels, row % p.pixels, j, true);
        } else {
            for (var b = 0u; b < p.n; b++) { g += grad_at(b, row, j, true); }
        }
        let o = ch(j);
        b_dh[row * 2u * p.cz + o.x] = g.x;
        b_dh[row * 2u * p.cz + o.y] = g.y;
    } else if (p.has_vec == 1u && t < (rows + p.n) * p.cz) {
        let u = t - rows * p.cz;
        let j = u % p.cz;
        let b = u / p.cz;
        var g = vec2<f32>(0.0);
        for (var pp = 0u; pp < p.pixels; pp++) { g += grad_at(b, pp, j, false); }
        let o = ch(j);
        b_dv[b * 2u * p.cz + o.x] = g.x;
        b_dv[b * 2u * p.cz + o.y] = g.y;
    }
}
#endif

// Diagonal Gaussian prior (see src/ops/prior.rs).
struct P {
    n: u32, pixels: u32, cz: u32,
    z_stride: u32, z_off: u32,   // z is channels [z_off, z_off + cz) of a z_stride-channel tensor
    interleaved: u32,            // 1: mean = h[2j], logs = h[2j+1]; 0: mean = h[j], logs = h[cz+j]
    h_batched: u32,              // 1: h is [n, pixels, 2cz]; 0: [pixels, 2cz] shared by the batch
    has_vec: u32,                // 1: add v[n, 2cz] (same channel layout as h)
}
@group(0) @binding(0) var<uniform> p: P;
// forward
@group(0) @binding(1) var<storage, read> z_in: array<f32>;
@group(0) @binding(2) var<storage, read> h_f: array<f32>;
@group(0) @binding(3) var<storage, read> v_f: array<f32>;
@group(0) @binding(4) var<storage, read_write> eps_out: array<f32>; // [n, pixels, cz]
@group(0) @binding(5) var<storage, read_write> lp: array<f32>;      // [n, pixels, cz]
// inverse
@group(0) @binding(6) var<storage, read> eps_in: array<f32>;
@group(0) @binding(7) var<storage, read> h_i: array<f32>;
@group(0) @binding(8) var<storage, read> v_i: array<f32>;
@group(0) @binding(9) var<storage, read_write> z_out: array<f32>;

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

@compute @workgroup_size(64)
fn inverse(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= p.n * p.pixels * p.cz) { return; }
    let k = index(i);
    var mean = h_i[k.m]; var logs = h_i[k.l];
    if (p.has_vec == 1u) { mean += v_i[k.vm]; logs += v_i[k.vl]; }
    z_out[k.z] = mean + exp(logs) * eps_in[i];
}

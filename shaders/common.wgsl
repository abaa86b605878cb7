// Prepended to every shader: the per-run uniform, the linear invocation index, a workgroup sum, and the
// counter-based RNG mirrored bit-for-bit by src/rng.rs.
// The shaders after it go through a preprocessor (`#ifdef NAME` / `#ifndef` / `#else` / `#endif`,
// src/backend/gpu.rs `preprocess`; this file does not): entry points that bind different buffers
// sit in sections of their own, one define each, whose bindings start at 1 (binding 0 is the op's
// uniform `p`), and a kernel is (shader, entry point, defines): `KERNELS` there lists them all.
struct Runtime {
    seed_lo: u32,
    seed_hi: u32,
    temperature: f32,
    _pad: u32,
}

// Dispatches wider than 65535 workgroups fold into y; every entry uses workgroup_size(64).
fn linear_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * 64u;
}

fn pcg(v: u32) -> u32 {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

fn hash4(a: u32, b: u32, c: u32, d: u32) -> u32 {
    var h = a * 747796405u + 2891336453u;
    h ^= b * 0x9E3779B9u; h = pcg(h);
    h ^= c * 0x9E3779B9u; h = pcg(h);
    h ^= d * 0x9E3779B9u; h = pcg(h);
    return pcg(h);
}

fn rand_uniform(lo: u32, hi: u32, stream: u32, i: u32) -> f32 {
    return f32(hash4(lo, hi, stream, i) >> 8u) * (1.0 / 16777216.0);
}

fn rand_normal(lo: u32, hi: u32, stream: u32, i: u32) -> f32 {
    let a = hash4(lo, hi, stream, i * 2u);
    let b = hash4(lo, hi, stream, i * 2u + 1u);
    let u1 = (f32(a >> 8u) + 1.0) * (1.0 / 16777216.0);
    let u2 = f32(b >> 8u) * (1.0 / 16777216.0);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

// Sum of one value per invocation over a workgroup of 64 (every invocation gets the total);
// safe to call repeatedly in one entry point.
var<workgroup> wg_part: array<f32, 64>;

fn wg_sum(lid: u32, v: f32) -> f32 {
    wg_part[lid] = v;
    workgroupBarrier();
    for (var s = 32u; s > 0u; s = s >> 1u) {
        if (lid < s) { wg_part[lid] += wg_part[lid + s]; }
        workgroupBarrier();
    }
    let total = wg_part[0];
    workgroupBarrier();
    return total;
}

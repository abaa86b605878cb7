// Squeeze / unsqueeze (see src/ops/squeeze.rs). Narrow channel order: c*4 + dy*2 + dx.
struct P {
    n: u32, h: u32, w: u32,   // narrow n, h, w (wide is 2h x 2w)
    c: u32,                   // channels of the wide slice; narrow has 4c
    c_total: u32, c_off: u32, // wide tensor channels, slice offset
    _p0: u32, _p1: u32,
}
@group(0) @binding(0) var<uniform> p: P;
#ifdef FORWARD
@group(0) @binding(1) var<storage, read> wide_in: array<f32>;          // [n, 2h, 2w, c_total]
@group(0) @binding(2) var<storage, read_write> narrow_out: array<f32>; // [n, h, w, 4c]
#endif
#ifdef INVERSE
@group(0) @binding(1) var<storage, read> narrow_in: array<f32>;        // [n, h, w, 4c]
@group(0) @binding(2) var<storage, read_write> wide_out: array<f32>;   // [n, 2h, 2w, c_total]
#endif

fn wide_index(i: u32) -> u32 {
    let c4 = p.c * 4u;
    let cc = i % c4;
    var r = i / c4;
    let x = r % p.w; r = r / p.w;
    let y = r % p.h; let n = r / p.h;
    let c = cc / 4u; let dy = (cc / 2u) % 2u; let dx = cc % 2u;
    return ((n * 2u * p.h + 2u * y + dy) * 2u * p.w + 2u * x + dx) * p.c_total + p.c_off + c;
}

#ifdef FORWARD
@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= p.n * p.h * p.w * p.c * 4u) { return; }
    narrow_out[i] = wide_in[wide_index(i)];
}
#endif

#ifdef INVERSE
@compute @workgroup_size(64)
fn inverse(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= p.n * p.h * p.w * p.c * 4u) { return; }
    wide_out[wide_index(i)] = narrow_in[i];
}
#endif

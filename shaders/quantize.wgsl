// Image bytes <-> model input (see src/ops/quantize.rs). Bytes are packed 4 per u32, little end first.
struct P {
    len: u32,      // number of values
    shift: u32,    // 8 - n_bits
    n_bins: f32,
    noise: u32,    // 1: U(0, 1/n_bins) noise from the run's seed; 0: + 1/(2 n_bins)
    stream: u32,
    base: u32,     // noise counter of value 0 (a shard's offset in a larger batch)
    _p1: u32, _p2: u32,
}
@group(0) @binding(0) var<uniform> p: P;

// forward bindings
#ifdef FORWARD
@group(0) @binding(1) var<uniform> run: Runtime;
@group(0) @binding(2) var<storage, read> img_in: array<u32>;     // [ceil(len/4)] packed u8
@group(0) @binding(3) var<storage, read_write> x_out: array<f32>; // [len]

@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= p.len) { return; }
    let byte = (img_in[i / 4u] >> (8u * (i % 4u))) & 255u;
    let bin = f32(byte >> p.shift);
    var u = 0.5 / p.n_bins;
    if (p.noise == 1u) { u = rand_uniform(run.seed_lo, run.seed_hi, p.stream, p.base + i) / p.n_bins; }
    x_out[i] = bin / p.n_bins - 0.5 + u;
}
#endif

// inverse bindings
#ifdef INVERSE
@group(0) @binding(1) var<storage, read> x_in: array<f32>;           // [len]
@group(0) @binding(2) var<storage, read_write> img_out: array<u32>;  // [ceil(len/4)]

@compute @workgroup_size(64)
fn inverse(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let w = linear_id(gid, nwg);
    if (w * 4u >= p.len) { return; }
    var word = 0u;
    for (var k = 0u; k < 4u; k++) {
        let i = w * 4u + k;
        if (i < p.len) {
            let v = clamp(floor((x_in[i] + 0.5) * p.n_bins) * (256.0 / p.n_bins), 0.0, 255.0);
            word |= u32(v) << (8u * k);
        }
    }
    img_out[w] = word;
}
#endif

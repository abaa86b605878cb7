// 2-D convolution on subgroups: the same op as conv2d.wgsl (NHWC, stride 1, SAME padding, 1x1 or
// 3x3, optional edge-bias channel, (acc + bias) * exp(3 logs) epilogue + ReLU; see
// src/ops/conv2d.rs), for adapters with the `subgroups` feature and subgroups of at least 8 lanes
// (the backend selects it; GLOWGPU_NO_SUBGROUPS=1 forces conv2d.wgsl).
//
// A workgroup (64 invocations, 1-D) computes @PIXWG@ consecutive output pixels x one block of @CB@ output
// channels; each invocation keeps @PX@ pixels (li + 64 i) x @CB@ channels in @NACC@ vec4 accumulators.
// The weight rows of each tap (cin input channels, then the edge row) advance in blocks of 8: lane
// j of lanes 0..7 (wider subgroups repeat them) loads row j of the block (its @CB@ packed weights,
// @NQ@ vec4) and `subgroupBroadcast` hands it to the other lanes, which all share the channel block and
// differ in pixels: 8 weight loads per 8 rows and 8 lanes instead of 64. Every invocation runs every
// broadcast (the only early return is a whole workgroup's); out-of-range pixels compute but do not
// store. Loads dominate on lavapipe, so the input is read as vec4 where its layout allows
// (`forward_sg_v4`, `x4`); `forward_sg` takes any channel slice.
//
// Needs the WGSL `subgroups` extension. There is no `enable subgroups;` directive: naga 30 (wgpu's
// WGSL front end) rejects it as unimplemented (gfx-rs/wgpu#5555) and accepts the built-ins on
// devices opened with `Features::SUBGROUP`; only such devices ever compile this shader.
struct P {
    n: u32, h: u32, w: u32,
    cin: u32, cin_stride: u32, cin_off: u32,  // input channel slice of a cin_stride-channel tensor
    cout: u32, cout_pad: u32,                  // outputs; packed weight row length (multiple of 16)
    k: u32,                                    // 1 or 3
    edge: u32, epilogue: u32, relu: u32,
}
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;        // [n, h, w, cin_stride] (forward_sg)
@group(0) @binding(2) var<storage, read> wt: array<vec4<f32>>; // [k*k, cin + edge, cout_pad/4]
@group(0) @binding(3) var<storage, read> bias: array<f32>;     // [cout] (epilogue)
@group(0) @binding(4) var<storage, read> logs: array<f32>;     // [cout] (epilogue)
@group(0) @binding(5) var<storage, read_write> y: array<f32>;  // [n, h, w, cout]
@group(0) @binding(6) var<storage, read> x4: array<vec4<f32>>; // the same input (forward_sg_v4)

// An output pixel: its index, column and row, and whether it exists (computed once: integer
// division is slow on lavapipe).
struct Pix { i: u32, x: i32, y: i32, ok: bool }
fn pixel(i: u32) -> Pix {
    return Pix(i, i32(i % p.w), i32((i / p.w) % p.h), i < p.n * p.h * p.w);
}

// A tap (dy, dx) of an output pixel: float offset of its input channel slice (0 when outside the
// image or past the last pixel) and whether it is inside.
struct Tap { o: u32, ok: bool }
fn tap(q: Pix, dy: i32, dx: i32) -> Tap {
    let iy = q.y + dy;
    let ix = q.x + dx;
    let ok = q.ok && iy >= 0 && iy < i32(p.h) && ix >= 0 && ix < i32(p.w);
    let src = u32(i32(q.i) + dy * i32(p.w) + dx);
    return Tap(select(0u, src * p.cin_stride + p.cin_off, ok), ok);
}

// Rows c..c+3 of a tap in the last block of rows: input channels (`v`, read at the tap's offset
// + c; zero outside the image), the edge channel (1 outside the image), zero past the last row.
fn tail4(v: vec4<f32>, ok: bool, c: u32) -> vec4<f32> {
    let row = vec4<u32>(c) + vec4<u32>(0u, 1u, 2u, 3u);
    let pad = select(vec4<f32>(0.0), vec4<f32>(select(1.0, 0.0, ok)), row < vec4<u32>(p.cin + p.edge));
    return select(pad, select(vec4<f32>(0.0), v, ok), row < vec4<u32>(p.cin));
}
// The same for one row, reading the input as scalars.
fn tail_x(t: Tap, c: u32) -> f32 {
    if (c < p.cin) { return select(0.0, x[t.o + c], t.ok); }
    return select(0.0, select(1.0, 0.0, t.ok), c < p.cin + p.edge);
}

// The workgroup's output channel block (of `cb`) and first pixel (of `pixels` per workgroup);
// block = ncb past the end (dispatches wider than 65535 workgroups fold into y).
fn work(wg: vec3<u32>, nwg: vec3<u32>, cb: u32, pixels: u32) -> vec2<u32> {
    let g = wg.x + wg.y * nwg.x;
    let ncb = (p.cout + cb - 1u) / cb;
    let nblk = (p.n * p.h * p.w + pixels - 1u) / pixels;
    if (g >= nblk * ncb) { return vec2<u32>(ncb, 0u); }
    return vec2<u32>(g % ncb, (g / ncb) * pixels);
}

// Epilogue factors of output channels co..co+3: y = (acc + b) * s.
struct Epi { b: vec4<f32>, s: vec4<f32> }
fn epi(co: u32) -> Epi {
    var e = Epi(vec4<f32>(0.0), vec4<f32>(1.0));
    if (p.epilogue == 1u) {
        for (var i = 0u; i < 4u; i++) {
            let c = min(co + i, p.cout - 1u);
            e.b[i] = bias[c];
            e.s[i] = exp(3.0 * logs[c]);
        }
    }
    return e;
}

// Output channels co..co+3 of a pixel: epilogue, ReLU, store (channels < cout, existing pixels).
fn store4(co: u32, v: vec4<f32>, e: Epi, q: Pix) {
    var c = (v + e.b) * e.s;
    if (p.relu == 1u) { c = max(c, vec4<f32>(0.0)); }
    if (q.ok) {
        for (var i = 0u; i < 4u; i++) {
            if (co + i < p.cout) { y[q.i * p.cout + co + i] = c[i]; }
        }
    }
}

@compute @workgroup_size(64)
fn forward_sg(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) lane: u32) {
    let wk = work(wg, nwg, 32u, 256u);
    if (wk.x * 32u >= p.cout) { return; } // past the end: the whole workgroup (uniform)
    let q0 = pixel(wk.y + li + 0u); let q1 = pixel(wk.y + li + 64u); let q2 = pixel(wk.y + li + 128u); let q3 = pixel(wk.y + li + 192u);
    let nv = p.cout_pad / 4u;
    let v0 = wk.x * 8u;
    let hi = v0 + 4u < nv; // the block's channels 16..31 exist in the packed rows
    let rows = p.cin + p.edge;
    let r = lane % 8u;
    let half = i32(p.k / 2u);
    let z = vec4<f32>(0.0);
    var a00 = z; var a01 = z; var a02 = z; var a03 = z; var a04 = z; var a05 = z; var a06 = z; var a07 = z;
    var a10 = z; var a11 = z; var a12 = z; var a13 = z; var a14 = z; var a15 = z; var a16 = z; var a17 = z;
    var a20 = z; var a21 = z; var a22 = z; var a23 = z; var a24 = z; var a25 = z; var a26 = z; var a27 = z;
    var a30 = z; var a31 = z; var a32 = z; var a33 = z; var a34 = z; var a35 = z; var a36 = z; var a37 = z;
    for (var t = 0u; t < p.k * p.k; t++) {
        let dy = i32(t / p.k) - half;
        let dx = i32(t % p.k) - half;
        let t0 = tap(q0, dy, dx); let t1 = tap(q1, dy, dx); let t2 = tap(q2, dy, dx); let t3 = tap(q3, dy, dx);
        let wrow = (t * rows + r) * nv + v0; // the lane's row in the tap's first block
        var kb = 0u;
        for (; kb + 8u <= p.cin; kb += 8u) { // blocks of 8 input channels
            let o0 = t0.o + kb;
            let xa0 = select(z, vec4<f32>(x[o0], x[o0 + 1u], x[o0 + 2u], x[o0 + 3u]), t0.ok);
            let xb0 = select(z, vec4<f32>(x[o0 + 4u], x[o0 + 5u], x[o0 + 6u], x[o0 + 7u]), t0.ok);
            let o1 = t1.o + kb;
            let xa1 = select(z, vec4<f32>(x[o1], x[o1 + 1u], x[o1 + 2u], x[o1 + 3u]), t1.ok);
            let xb1 = select(z, vec4<f32>(x[o1 + 4u], x[o1 + 5u], x[o1 + 6u], x[o1 + 7u]), t1.ok);
            let o2 = t2.o + kb;
            let xa2 = select(z, vec4<f32>(x[o2], x[o2 + 1u], x[o2 + 2u], x[o2 + 3u]), t2.ok);
            let xb2 = select(z, vec4<f32>(x[o2 + 4u], x[o2 + 5u], x[o2 + 6u], x[o2 + 7u]), t2.ok);
            let o3 = t3.o + kb;
            let xa3 = select(z, vec4<f32>(x[o3], x[o3 + 1u], x[o3 + 2u], x[o3 + 3u]), t3.ok);
            let xb3 = select(z, vec4<f32>(x[o3 + 4u], x[o3 + 5u], x[o3 + 6u], x[o3 + 7u]), t3.ok);
            let wi = wrow + kb * nv;
            let w0 = wt[wi + 0u];
            let w1 = wt[wi + 1u];
            let w2 = wt[wi + 2u];
            let w3 = wt[wi + 3u];
            let w4 = select(z, wt[wi + 4u], hi);
            let w5 = select(z, wt[wi + 5u], hi);
            let w6 = select(z, wt[wi + 6u], hi);
            let w7 = select(z, wt[wi + 7u], hi);
            { let b = subgroupBroadcast(w0, 0u); a00 = fma(vec4<f32>(xa0.x), b, a00); a10 = fma(vec4<f32>(xa1.x), b, a10); a20 = fma(vec4<f32>(xa2.x), b, a20); a30 = fma(vec4<f32>(xa3.x), b, a30); }
            { let b = subgroupBroadcast(w0, 1u); a00 = fma(vec4<f32>(xa0.y), b, a00); a10 = fma(vec4<f32>(xa1.y), b, a10); a20 = fma(vec4<f32>(xa2.y), b, a20); a30 = fma(vec4<f32>(xa3.y), b, a30); }
            { let b = subgroupBroadcast(w0, 2u); a00 = fma(vec4<f32>(xa0.z), b, a00); a10 = fma(vec4<f32>(xa1.z), b, a10); a20 = fma(vec4<f32>(xa2.z), b, a20); a30 = fma(vec4<f32>(xa3.z), b, a30); }
            { let b = subgroupBroadcast(w0, 3u); a00 = fma(vec4<f32>(xa0.w), b, a00); a10 = fma(vec4<f32>(xa1.w), b, a10); a20 = fma(vec4<f32>(xa2.w), b, a20); a30 = fma(vec4<f32>(xa3.w), b, a30); }
            { let b = subgroupBroadcast(w0, 4u); a00 = fma(vec4<f32>(xb0.x), b, a00); a10 = fma(vec4<f32>(xb1.x), b, a10); a20 = fma(vec4<f32>(xb2.x), b, a20); a30 = fma(vec4<f32>(xb3.x), b, a30); }
            { let b = subgroupBroadcast(w0, 5u); a00 = fma(vec4<f32>(xb0.y), b, a00); a10 = fma(vec4<f32>(xb1.y), b, a10); a20 = fma(vec4<f32>(xb2.y), b, a20); a30 = fma(vec4<f32>(xb3.y), b, a30); }
            { let b = subgroupBroadcast(w0, 6u); a00 = fma(vec4<f32>(xb0.z), b, a00); a10 = fma(vec4<f32>(xb1.z), b, a10); a20 = fma(vec4<f32>(xb2.z), b, a20); a30 = fma(vec4<f32>(xb3.z), b, a30); }
            { let b = subgroupBroadcast(w0, 7u); a00 = fma(vec4<f32>(xb0.w), b, a00); a10 = fma(vec4<f32>(xb1.w), b, a10); a20 = fma(vec4<f32>(xb2.w), b, a20); a30 = fma(vec4<f32>(xb3.w), b, a30); }
            { let b = subgroupBroadcast(w1, 0u); a01 = fma(vec4<f32>(xa0.x), b, a01); a11 = fma(vec4<f32>(xa1.x), b, a11); a21 = fma(vec4<f32>(xa2.x), b, a21); a31 = fma(vec4<f32>(xa3.x), b, a31); }
            { let b = subgroupBroadcast(w1, 1u); a01 = fma(vec4<f32>(xa0.y), b, a01); a11 = fma(vec4<f32>(xa1.y), b, a11); a21 = fma(vec4<f32>(xa2.y), b, a21); a31 = fma(vec4<f32>(xa3.y), b, a31); }
            { let b = subgroupBroadcast(w1, 2u); a01 = fma(vec4<f32>(xa0.z), b, a01); a11 = fma(vec4<f32>(xa1.z), b, a11); a21 = fma(vec4<f32>(xa2.z), b, a21); a31 = fma(vec4<f32>(xa3.z), b, a31); }
            { let b = subgroupBroadcast(w1, 3u); a01 = fma(vec4<f32>(xa0.w), b, a01); a11 = fma(vec4<f32>(xa1.w), b, a11); a21 = fma(vec4<f32>(xa2.w), b, a21); a31 = fma(vec4<f32>(xa3.w), b, a31); }
            { let b = subgroupBroadcast(w1, 4u); a01 = fma(vec4<f32>(xb0.x), b, a01); a11 = fma(vec4<f32>(xb1.x), b, a11); a21 = fma(vec4<f32>(xb2.x), b, a21); a31 = fma(vec4<f32>(xb3.x), b, a31); }
            { let b = subgroupBroadcast(w1, 5u); a01 = fma(vec4<f32>(xb0.y), b, a01); a11 = fma(vec4<f32>(xb1.y), b, a11); a21 = fma(vec4<f32>(xb2.y), b, a21); a31 = fma(vec4<f32>(xb3.y), b, a31); }
            { let b = subgroupBroadcast(w1, 6u); a01 = fma(vec4<f32>(xb0.z), b, a01); a11 = fma(vec4<f32>(xb1.z), b, a11); a21 = fma(vec4<f32>(xb2.z), b, a21); a31 = fma(vec4<f32>(xb3.z), b, a31); }
            { let b = subgroupBroadcast(w1, 7u); a01 = fma(vec4<f32>(xb0.w), b, a01); a11 = fma(vec4<f32>(xb1.w), b, a11); a21 = fma(vec4<f32>(xb2.w), b, a21); a31 = fma(vec4<f32>(xb3.w), b, a31); }
            { let b = subgroupBroadcast(w2, 0u); a02 = fma(vec4<f32>(xa0.x), b, a02); a12 = fma(vec4<f32>(xa1.x), b, a12); a22 = fma(vec4<f32>(xa2.x), b, a22); a32 = fma(vec4<f32>(xa3.x), b, a32); }
            { let b = subgroupBroadcast(w2, 1u); a02 = fma(vec4<f32>(xa0.y), b, a02); a12 = fma(vec4<f32>(xa1.y), b, a12); a22 = fma(vec4<f32>(xa2.y), b, a22); a32 = fma(vec4<f32>(xa3.y), b, a32); }
            { let b = subgroupBroadcast(w2, 2u); a02 = fma(vec4<f32>(xa0.z), b, a02); a12 = fma(vec4<f32>(xa1.z), b, a12); a22 = fma(vec4<f32>(xa2.z), b, a22); a32 = fma(vec4<f32>(xa3.z), b, a32); }
            { let b = subgroupBroadcast(w2, 3u); a02 = fma(vec4<f32>(xa0.w), b, a02); a12 = fma(vec4<f32>(xa1.w), b, a12); a22 = fma(vec4<f32>(xa2.w), b, a22); a32 = fma(vec4<f32>(xa3.w), b, a32); }
            { let b = subgroupBroadcast(w2, 4u); a02 = fma(vec4<f32>(xb0.x), b, a02); a12 = fma(vec4<f32>(xb1.x), b, a12); a22 = fma(vec4<f32>(xb2.x), b, a22); a32 = fma(vec4<f32>(xb3.x), b, a32); }
            { let b = subgroupBroadcast(w2, 5u); a02 = fma(vec4<f32>(xb0.y), b, a02); a12 = fma(vec4<f32>(xb1.y), b, a12); a22 = fma(vec4<f32>(xb2.y), b, a22); a32 = fma(vec4<f32>(xb3.y), b, a32); }
            { let b = subgroupBroadcast(w2, 6u); a02 = fma(vec4<f32>(xb0.z), b, a02); a12 = fma(vec4<f32>(xb1.z), b, a12); a22 = fma(vec4<f32>(xb2.z), b, a22); a32 = fma(vec4<f32>(xb3.z), b, a32); }
            { let b = subgroupBroadcast(w2, 7u); a02 = fma(vec4<f32>(xb0.w), b, a02); a12 = fma(vec4<f32>(xb1.w), b, a12); a22 = fma(vec4<f32>(xb2.w), b, a22); a32 = fma(vec4<f32>(xb3.w), b, a32); }
            { let b = subgroupBroadcast(w3, 0u); a03 = fma(vec4<f32>(xa0.x), b, a03); a13 = fma(vec4<f32>(xa1.x), b, a13); a23 = fma(vec4<f32>(xa2.x), b, a23); a33 = fma(vec4<f32>(xa3.x), b, a33); }
            { let b = subgroupBroadcast(w3, 1u); a03 = fma(vec4<f32>(xa0.y), b, a03); a13 = fma(vec4<f32>(xa1.y), b, a13); a23 = fma(vec4<f32>(xa2.y), b, a23); a33 = fma(vec4<f32>(xa3.y), b, a33); }
            { let b = subgroupBroadcast(w3, 2u); a03 = fma(vec4<f32>(xa0.z), b, a03); a13 = fma(vec4<f32>(xa1.z), b, a13); a23 = fma(vec4<f32>(xa2.z), b, a23); a33 = fma(vec4<f32>(xa3.z), b, a33); }
            { let b = subgroupBroadcast(w3, 3u); a03 = fma(vec4<f32>(xa0.w), b, a03); a13 = fma(vec4<f32>(xa1.w), b, a13); a23 = fma(vec4<f32>(xa2.w), b, a23); a33 = fma(vec4<f32>(xa3.w), b, a33); }
            { let b = subgroupBroadcast(w3, 4u); a03 = fma(vec4<f32>(xb0.x), b, a03); a13 = fma(vec4<f32>(xb1.x), b, a13); a23 = fma(vec4<f32>(xb2.x), b, a23); a33 = fma(vec4<f32>(xb3.x), b, a33); }
            { let b = subgroupBroadcast(w3, 5u); a03 = fma(vec4<f32>(xb0.y), b, a03); a13 = fma(vec4<f32>(xb1.y), b, a13); a23 = fma(vec4<f32>(xb2.y), b, a23); a33 = fma(vec4<f32>(xb3.y), b, a33); }
            { let b = subgroupBroadcast(w3, 6u); a03 = fma(vec4<f32>(xb0.z), b, a03); a13 = fma(vec4<f32>(xb1.z), b, a13); a23 = fma(vec4<f32>(xb2.z), b, a23); a33 = fma(vec4<f32>(xb3.z), b, a33); }
            { let b = subgroupBroadcast(w3, 7u); a03 = fma(vec4<f32>(xb0.w), b, a03); a13 = fma(vec4<f32>(xb1.w), b, a13); a23 = fma(vec4<f32>(xb2.w), b, a23); a33 = fma(vec4<f32>(xb3.w), b, a33); }
            { let b = subgroupBroadcast(w4, 0u); a04 = fma(vec4<f32>(xa0.x), b, a04); a14 = fma(vec4<f32>(xa1.x), b, a14); a24 = fma(vec4<f32>(xa2.x), b, a24); a34 = fma(vec4<f32>(xa3.x), b, a34); }
            { let b = subgroupBroadcast(w4, 1u); a04 = fma(vec4<f32>(xa0.y), b, a04); a14 = fma(vec4<f32>(xa1.y), b, a14); a24 = fma(vec4<f32>(xa2.y), b, a24); a34 = fma(vec4<f32>(xa3.y), b, a34); }
            { let b = subgroupBroadcast(w4, 2u); a04 = fma(vec4<f32>(xa0.z), b, a04); a14 = fma(vec4<f32>(xa1.z), b, a14); a24 = fma(vec4<f32>(xa2.z), b, a24); a34 = fma(vec4<f32>(xa3.z), b, a34); }
            { let b = subgroupBroadcast(w4, 3u); a04 = fma(vec4<f32>(xa0.w), b, a04); a14 = fma(vec4<f32>(xa1.w), b, a14); a24 = fma(vec4<f32>(xa2.w), b, a24); a34 = fma(vec4<f32>(xa3.w), b, a34); }
            { let b = subgroupBroadcast(w4, 4u); a04 = fma(vec4<f32>(xb0.x), b, a04); a14 = fma(vec4<f32>(xb1.x), b, a14); a24 = fma(vec4<f32>(xb2.x), b, a24); a34 = fma(vec4<f32>(xb3.x), b, a34); }
            { let b = subgroupBroadcast(w4, 5u); a04 = fma(vec4<f32>(xb0.y), b, a04); a14 = fma(vec4<f32>(xb1.y), b, a14); a24 = fma(vec4<f32>(xb2.y), b, a24); a34 = fma(vec4<f32>(xb3.y), b, a34); }
            { let b = subgroupBroadcast(w4, 6u); a04 = fma(vec4<f32>(xb0.z), b, a04); a14 = fma(vec4<f32>(xb1.z), b, a14); a24 = fma(vec4<f32>(xb2.z), b, a24); a34 = fma(vec4<f32>(xb3.z), b, a34); }
            { let b = subgroupBroadcast(w4, 7u); a04 = fma(vec4<f32>(xb0.w), b, a04); a14 = fma(vec4<f32>(xb1.w), b, a14); a24 = fma(vec4<f32>(xb2.w), b, a24); a34 = fma(vec4<f32>(xb3.w), b, a34); }
            { let b = subgroupBroadcast(w5, 0u); a05 = fma(vec4<f32>(xa0.x), b, a05); a15 = fma(vec4<f32>(xa1.x), b, a15); a25 = fma(vec4<f32>(xa2.x), b, a25); a35 = fma(vec4<f32>(xa3.x), b, a35); }
            { let b = subgroupBroadcast(w5, 1u); a05 = fma(vec4<f32>(xa0.y), b, a05); a15 = fma(vec4<f32>(xa1.y), b, a15); a25 = fma(vec4<f32>(xa2.y), b, a25); a35 = fma(vec4<f32>(xa3.y), b, a35); }
            { let b = subgroupBroadcast(w5, 2u); a05 = fma(vec4<f32>(xa0.z), b, a05); a15 = fma(vec4<f32>(xa1.z), b, a15); a25 = fma(vec4<f32>(xa2.z), b, a25); a35 = fma(vec4<f32>(xa3.z), b, a35); }
            { let b = subgroupBroadcast(w5, 3u); a05 = fma(vec4<f32>(xa0.w), b, a05); a15 = fma(vec4<f32>(xa1.w), b, a15); a25 = fma(vec4<f32>(xa2.w), b, a25); a35 = fma(vec4<f32>(xa3.w), b, a35); }
            { let b = subgroupBroadcast(w5, 4u); a05 = fma(vec4<f32>(xb0.x), b, a05); a15 = fma(vec4<f32>(xb1.x), b, a15); a25 = fma(vec4<f32>(xb2.x), b, a25); a35 = fma(vec4<f32>(xb3.x), b, a35); }
            { let b = subgroupBroadcast(w5, 5u); a05 = fma(vec4<f32>(xb0.y), b, a05); a15 = fma(vec4<f32>(xb1.y), b, a15); a25 = fma(vec4<f32>(xb2.y), b, a25); a35 = fma(vec4<f32>(xb3.y), b, a35); }
            { let b = subgroupBroadcast(w5, 6u); a05 = fma(vec4<f32>(xb0.z), b, a05); a15 = fma(vec4<f32>(xb1.z), b, a15); a25 = fma(vec4<f32>(xb2.z), b, a25); a35 = fma(vec4<f32>(xb3.z), b, a35); }
            { let b = subgroupBroadcast(w5, 7u); a05 = fma(vec4<f32>(xb0.w), b, a05); a15 = fma(vec4<f32>(xb1.w), b, a15); a25 = fma(vec4<f32>(xb2.w), b, a25); a35 = fma(vec4<f32>(xb3.w), b, a35); }
            { let b = subgroupBroadcast(w6, 0u); a06 = fma(vec4<f32>(xa0.x), b, a06); a16 = fma(vec4<f32>(xa1.x), b, a16); a26 = fma(vec4<f32>(xa2.x), b, a26); a36 = fma(vec4<f32>(xa3.x), b, a36); }
            { let b = subgroupBroadcast(w6, 1u); a06 = fma(vec4<f32>(xa0.y), b, a06); a16 = fma(vec4<f32>(xa1.y), b, a16); a26 = fma(vec4<f32>(xa2.y), b, a26); a36 = fma(vec4<f32>(xa3.y), b, a36); }
            { let b = subgroupBroadcast(w6, 2u); a06 = fma(vec4<f32>(xa0.z), b, a06); a16 = fma(vec4<f32>(xa1.z), b, a16); a26 = fma(vec4<f32>(xa2.z), b, a26); a36 = fma(vec4<f32>(xa3.z), b, a36); }
            { let b = subgroupBroadcast(w6, 3u); a06 = fma(vec4<f32>(xa0.w), b, a06); a16 = fma(vec4<f32>(xa1.w), b, a16); a26 = fma(vec4<f32>(xa2.w), b, a26); a36 = fma(vec4<f32>(xa3.w), b, a36); }
            { let b = subgroupBroadcast(w6, 4u); a06 = fma(vec4<f32>(xb0.x), b, a06); a16 = fma(vec4<f32>(xb1.x), b, a16); a26 = fma(vec4<f32>(xb2.x), b, a26); a36 = fma(vec4<f32>(xb3.x), b, a36); }
            { let b = subgroupBroadcast(w6, 5u); a06 = fma(vec4<f32>(xb0.y), b, a06); a16 = fma(vec4<f32>(xb1.y), b, a16); a26 = fma(vec4<f32>(xb2.y), b, a26); a36 = fma(vec4<f32>(xb3.y), b, a36); }
            { let b = subgroupBroadcast(w6, 6u); a06 = fma(vec4<f32>(xb0.z), b, a06); a16 = fma(vec4<f32>(xb1.z), b, a16); a26 = fma(vec4<f32>(xb2.z), b, a26); a36 = fma(vec4<f32>(xb3.z), b, a36); }
            { let b = subgroupBroadcast(w6, 7u); a06 = fma(vec4<f32>(xb0.w), b, a06); a16 = fma(vec4<f32>(xb1.w), b, a16); a26 = fma(vec4<f32>(xb2.w), b, a26); a36 = fma(vec4<f32>(xb3.w), b, a36); }
            { let b = subgroupBroadcast(w7, 0u); a07 = fma(vec4<f32>(xa0.x), b, a07); a17 = fma(vec4<f32>(xa1.x), b, a17); a27 = fma(vec4<f32>(xa2.x), b, a27); a37 = fma(vec4<f32>(xa3.x), b, a37); }
            { let b = subgroupBroadcast(w7, 1u); a07 = fma(vec4<f32>(xa0.y), b, a07); a17 = fma(vec4<f32>(xa1.y), b, a17); a27 = fma(vec4<f32>(xa2.y), b, a27); a37 = fma(vec4<f32>(xa3.y), b, a37); }
            { let b = subgroupBroadcast(w7, 2u); a07 = fma(vec4<f32>(xa0.z), b, a07); a17 = fma(vec4<f32>(xa1.z), b, a17); a27 = fma(vec4<f32>(xa2.z), b, a27); a37 = fma(vec4<f32>(xa3.z), b, a37); }
            { let b = subgroupBroadcast(w7, 3u); a07 = fma(vec4<f32>(xa0.w), b, a07); a17 = fma(vec4<f32>(xa1.w), b, a17); a27 = fma(vec4<f32>(xa2.w), b, a27); a37 = fma(vec4<f32>(xa3.w), b, a37); }
            { let b = subgroupBroadcast(w7, 4u); a07 = fma(vec4<f32>(xb0.x), b, a07); a17 = fma(vec4<f32>(xb1.x), b, a17); a27 = fma(vec4<f32>(xb2.x), b, a27); a37 = fma(vec4<f32>(xb3.x), b, a37); }
            { let b = subgroupBroadcast(w7, 5u); a07 = fma(vec4<f32>(xb0.y), b, a07); a17 = fma(vec4<f32>(xb1.y), b, a17); a27 = fma(vec4<f32>(xb2.y), b, a27); a37 = fma(vec4<f32>(xb3.y), b, a37); }
            { let b = subgroupBroadcast(w7, 6u); a07 = fma(vec4<f32>(xb0.z), b, a07); a17 = fma(vec4<f32>(xb1.z), b, a17); a27 = fma(vec4<f32>(xb2.z), b, a27); a37 = fma(vec4<f32>(xb3.z), b, a37); }
            { let b = subgroupBroadcast(w7, 7u); a07 = fma(vec4<f32>(xb0.w), b, a07); a17 = fma(vec4<f32>(xb1.w), b, a17); a27 = fma(vec4<f32>(xb2.w), b, a27); a37 = fma(vec4<f32>(xb3.w), b, a37); }
        }
        for (; kb < rows; kb += 8u) { // the last input channels and the edge row (runs at most once)
            let xa0 = vec4<f32>(tail_x(t0, kb + 0u), tail_x(t0, kb + 1u), tail_x(t0, kb + 2u), tail_x(t0, kb + 3u));
            let xb0 = vec4<f32>(tail_x(t0, kb + 4u), tail_x(t0, kb + 5u), tail_x(t0, kb + 6u), tail_x(t0, kb + 7u));
            let xa1 = vec4<f32>(tail_x(t1, kb + 0u), tail_x(t1, kb + 1u), tail_x(t1, kb + 2u), tail_x(t1, kb + 3u));
            let xb1 = vec4<f32>(tail_x(t1, kb + 4u), tail_x(t1, kb + 5u), tail_x(t1, kb + 6u), tail_x(t1, kb + 7u));
            let xa2 = vec4<f32>(tail_x(t2, kb + 0u), tail_x(t2, kb + 1u), tail_x(t2, kb + 2u), tail_x(t2, kb + 3u));
            let xb2 = vec4<f32>(tail_x(t2, kb + 4u), tail_x(t2, kb + 5u), tail_x(t2, kb + 6u), tail_x(t2, kb + 7u));
            let xa3 = vec4<f32>(tail_x(t3, kb + 0u), tail_x(t3, kb + 1u), tail_x(t3, kb + 2u), tail_x(t3, kb + 3u));
            let xb3 = vec4<f32>(tail_x(t3, kb + 4u), tail_x(t3, kb + 5u), tail_x(t3, kb + 6u), tail_x(t3, kb + 7u));
            let wi = wrow + kb * nv;
            let ok = kb + r < rows; // the lane's row exists
            let w0 = select(z, wt[wi + 0u], ok);
            let w1 = select(z, wt[wi + 1u], ok);
            let w2 = select(z, wt[wi + 2u], ok);
            let w3 = select(z, wt[wi + 3u], ok);
            let w4 = select(z, wt[wi + 4u], ok && hi);
            let w5 = select(z, wt[wi + 5u], ok && hi);
            let w6 = select(z, wt[wi + 6u], ok && hi);
            let w7 = select(z, wt[wi + 7u], ok && hi);
            { let b = subgroupBroadcast(w0, 0u); a00 = fma(vec4<f32>(xa0.x), b, a00); a10 = fma(vec4<f32>(xa1.x), b, a10); a20 = fma(vec4<f32>(xa2.x), b, a20); a30 = fma(vec4<f32>(xa3.x), b, a30); }
            { let b = subgroupBroadcast(w0, 1u); a00 = fma(vec4<f32>(xa0.y), b, a00); a10 = fma(vec4<f32>(xa1.y), b, a10); a20 = fma(vec4<f32>(xa2.y), b, a20); a30 = fma(vec4<f32>(xa3.y), b, a30); }
            { let b = subgroupBroadcast(w0, 2u); a00 = fma(vec4<f32>(xa0.z), b, a00); a10 = fma(vec4<f32>(xa1.z), b, a10); a20 = fma(vec4<f32>(xa2.z), b, a20); a30 = fma(vec4<f32>(xa3.z), b, a30); }
            { let b = subgroupBroadcast(w0, 3u); a00 = fma(vec4<f32>(xa0.w), b, a00); a10 = fma(vec4<f32>(xa1.w), b, a10); a20 = fma(vec4<f32>(xa2.w), b, a20); a30 = fma(vec4<f32>(xa3.w), b, a30); }
            { let b = subgroupBroadcast(w0, 4u); a00 = fma(vec4<f32>(xb0.x), b, a00); a10 = fma(vec4<f32>(xb1.x), b, a10); a20 = fma(vec4<f32>(xb2.x), b, a20); a30 = fma(vec4<f32>(xb3.x), b, a30); }
            { let b = subgroupBroadcast(w0, 5u); a00 = fma(vec4<f32>(xb0.y), b, a00); a10 = fma(vec4<f32>(xb1.y), b, a10); a20 = fma(vec4<f32>(xb2.y), b, a20); a30 = fma(vec4<f32>(xb3.y), b, a30); }
            { let b = subgroupBroadcast(w0, 6u); a00 = fma(vec4<f32>(xb0.z), b, a00); a10 = fma(vec4<f32>(xb1.z), b, a10); a20 = fma(vec4<f32>(xb2.z), b, a20); a30 = fma(vec4<f32>(xb3.z), b, a30); }
            { let b = subgroupBroadcast(w0, 7u); a00 = fma(vec4<f32>(xb0.w), b, a00); a10 = fma(vec4<f32>(xb1.w), b, a10); a20 = fma(vec4<f32>(xb2.w), b, a20); a30 = fma(vec4<f32>(xb3.w), b, a30); }
            { let b = subgroupBroadcast(w1, 0u); a01 = fma(vec4<f32>(xa0.x), b, a01); a11 = fma(vec4<f32>(xa1.x), b, a11); a21 = fma(vec4<f32>(xa2.x), b, a21); a31 = fma(vec4<f32>(xa3.x), b, a31); }
            { let b = subgroupBroadcast(w1, 1u); a01 = fma(vec4<f32>(xa0.y), b, a01); a11 = fma(vec4<f32>(xa1.y), b, a11); a21 = fma(vec4<f32>(xa2.y), b, a21); a31 = fma(vec4<f32>(xa3.y), b, a31); }
            { let b = subgroupBroadcast(w1, 2u); a01 = fma(vec4<f32>(xa0.z), b, a01); a11 = fma(vec4<f32>(xa1.z), b, a11); a21 = fma(vec4<f32>(xa2.z), b, a21); a31 = fma(vec4<f32>(xa3.z), b, a31); }
            { let b = subgroupBroadcast(w1, 3u); a01 = fma(vec4<f32>(xa0.w), b, a01); a11 = fma(vec4<f32>(xa1.w), b, a11); a21 = fma(vec4<f32>(xa2.w), b, a21); a31 = fma(vec4<f32>(xa3.w), b, a31); }
            { let b = subgroupBroadcast(w1, 4u); a01 = fma(vec4<f32>(xb0.x), b, a01); a11 = fma(vec4<f32>(xb1.x), b, a11); a21 = fma(vec4<f32>(xb2.x), b, a21); a31 = fma(vec4<f32>(xb3.x), b, a31); }
            { let b = subgroupBroadcast(w1, 5u); a01 = fma(vec4<f32>(xb0.y), b, a01); a11 = fma(vec4<f32>(xb1.y), b, a11); a21 = fma(vec4<f32>(xb2.y), b, a21); a31 = fma(vec4<f32>(xb3.y), b, a31); }
            { let b = subgroupBroadcast(w1, 6u); a01 = fma(vec4<f32>(xb0.z), b, a01); a11 = fma(vec4<f32>(xb1.z), b, a11); a21 = fma(vec4<f32>(xb2.z), b, a21); a31 = fma(vec4<f32>(xb3.z), b, a31); }
            { let b = subgroupBroadcast(w1, 7u); a01 = fma(vec4<f32>(xb0.w), b, a01); a11 = fma(vec4<f32>(xb1.w), b, a11); a21 = fma(vec4<f32>(xb2.w), b, a21); a31 = fma(vec4<f32>(xb3.w), b, a31); }
            { let b = subgroupBroadcast(w2, 0u); a02 = fma(vec4<f32>(xa0.x), b, a02); a12 = fma(vec4<f32>(xa1.x), b, a12); a22 = fma(vec4<f32>(xa2.x), b, a22); a32 = fma(vec4<f32>(xa3.x), b, a32); }
            { let b = subgroupBroadcast(w2, 1u); a02 = fma(vec4<f32>(xa0.y), b, a02); a12 = fma(vec4<f32>(xa1.y), b, a12); a22 = fma(vec4<f32>(xa2.y), b, a22); a32 = fma(vec4<f32>(xa3.y), b, a32); }
            { let b = subgroupBroadcast(w2, 2u); a02 = fma(vec4<f32>(xa0.z), b, a02); a12 = fma(vec4<f32>(xa1.z), b, a12); a22 = fma(vec4<f32>(xa2.z), b, a22); a32 = fma(vec4<f32>(xa3.z), b, a32); }
            { let b = subgroupBroadcast(w2, 3u); a02 = fma(vec4<f32>(xa0.w), b, a02); a12 = fma(vec4<f32>(xa1.w), b, a12); a22 = fma(vec4<f32>(xa2.w), b, a22); a32 = fma(vec4<f32>(xa3.w), b, a32); }
            { let b = subgroupBroadcast(w2, 4u); a02 = fma(vec4<f32>(xb0.x), b, a02); a12 = fma(vec4<f32>(xb1.x), b, a12); a22 = fma(vec4<f32>(xb2.x), b, a22); a32 = fma(vec4<f32>(xb3.x), b, a32); }
            { let b = subgroupBroadcast(w2, 5u); a02 = fma(vec4<f32>(xb0.y), b, a02); a12 = fma(vec4<f32>(xb1.y), b, a12); a22 = fma(vec4<f32>(xb2.y), b, a22); a32 = fma(vec4<f32>(xb3.y), b, a32); }
            { let b = subgroupBroadcast(w2, 6u); a02 = fma(vec4<f32>(xb0.z), b, a02); a12 = fma(vec4<f32>(xb1.z), b, a12); a22 = fma(vec4<f32>(xb2.z), b, a22); a32 = fma(vec4<f32>(xb3.z), b, a32); }
            { let b = subgroupBroadcast(w2, 7u); a02 = fma(vec4<f32>(xb0.w), b, a02); a12 = fma(vec4<f32>(xb1.w), b, a12); a22 = fma(vec4<f32>(xb2.w), b, a22); a32 = fma(vec4<f32>(xb3.w), b, a32); }
            { let b = subgroupBroadcast(w3, 0u); a03 = fma(vec4<f32>(xa0.x), b, a03); a13 = fma(vec4<f32>(xa1.x), b, a13); a23 = fma(vec4<f32>(xa2.x), b, a23); a33 = fma(vec4<f32>(xa3.x), b, a33); }
            { let b = subgroupBroadcast(w3, 1u); a03 = fma(vec4<f32>(xa0.y), b, a03); a13 = fma(vec4<f32>(xa1.y), b, a13); a23 = fma(vec4<f32>(xa2.y), b, a23); a33 = fma(vec4<f32>(xa3.y), b, a33); }
            { let b = subgroupBroadcast(w3, 2u); a03 = fma(vec4<f32>(xa0.z), b, a03); a13 = fma(vec4<f32>(xa1.z), b, a13); a23 = fma(vec4<f32>(xa2.z), b, a23); a33 = fma(vec4<f32>(xa3.z), b, a33); }
            { let b = subgroupBroadcast(w3, 3u); a03 = fma(vec4<f32>(xa0.w), b, a03); a13 = fma(vec4<f32>(xa1.w), b, a13); a23 = fma(vec4<f32>(xa2.w), b, a23); a33 = fma(vec4<f32>(xa3.w), b, a33); }
            { let b = subgroupBroadcast(w3, 4u); a03 = fma(vec4<f32>(xb0.x), b, a03); a13 = fma(vec4<f32>(xb1.x), b, a13); a23 = fma(vec4<f32>(xb2.x), b, a23); a33 = fma(vec4<f32>(xb3.x), b, a33); }
            { let b = subgroupBroadcast(w3, 5u); a03 = fma(vec4<f32>(xb0.y), b, a03); a13 = fma(vec4<f32>(xb1.y), b, a13); a23 = fma(vec4<f32>(xb2.y), b, a23); a33 = fma(vec4<f32>(xb3.y), b, a33); }
            { let b = subgroupBroadcast(w3, 6u); a03 = fma(vec4<f32>(xb0.z), b, a03); a13 = fma(vec4<f32>(xb1.z), b, a13); a23 = fma(vec4<f32>(xb2.z), b, a23); a33 = fma(vec4<f32>(xb3.z), b, a33); }
            { let b = subgroupBroadcast(w3, 7u); a03 = fma(vec4<f32>(xb0.w), b, a03); a13 = fma(vec4<f32>(xb1.w), b, a13); a23 = fma(vec4<f32>(xb2.w), b, a23); a33 = fma(vec4<f32>(xb3.w), b, a33); }
            { let b = subgroupBroadcast(w4, 0u); a04 = fma(vec4<f32>(xa0.x), b, a04); a14 = fma(vec4<f32>(xa1.x), b, a14); a24 = fma(vec4<f32>(xa2.x), b, a24); a34 = fma(vec4<f32>(xa3.x), b, a34); }
            { let b = subgroupBroadcast(w4, 1u); a04 = fma(vec4<f32>(xa0.y), b, a04); a14 = fma(vec4<f32>(xa1.y), b, a14); a24 = fma(vec4<f32>(xa2.y), b, a24); a34 = fma(vec4<f32>(xa3.y), b, a34); }
            { let b = subgroupBroadcast(w4, 2u); a04 = fma(vec4<f32>(xa0.z), b, a04); a14 = fma(vec4<f32>(xa1.z), b, a14); a24 = fma(vec4<f32>(xa2.z), b, a24); a34 = fma(vec4<f32>(xa3.z), b, a34); }
            { let b = subgroupBroadcast(w4, 3u); a04 = fma(vec4<f32>(xa0.w), b, a04); a14 = fma(vec4<f32>(xa1.w), b, a14); a24 = fma(vec4<f32>(xa2.w), b, a24); a34 = fma(vec4<f32>(xa3.w), b, a34); }
            { let b = subgroupBroadcast(w4, 4u); a04 = fma(vec4<f32>(xb0.x), b, a04); a14 = fma(vec4<f32>(xb1.x), b, a14); a24 = fma(vec4<f32>(xb2.x), b, a24); a34 = fma(vec4<f32>(xb3.x), b, a34); }
            { let b = subgroupBroadcast(w4, 5u); a04 = fma(vec4<f32>(xb0.y), b, a04); a14 = fma(vec4<f32>(xb1.y), b, a14); a24 = fma(vec4<f32>(xb2.y), b, a24); a34 = fma(vec4<f32>(xb3.y), b, a34); }
            { let b = subgroupBroadcast(w4, 6u); a04 = fma(vec4<f32>(xb0.z), b, a04); a14 = fma(vec4<f32>(xb1.z), b, a14); a24 = fma(vec4<f32>(xb2.z), b, a24); a34 = fma(vec4<f32>(xb3.z), b, a34); }
            { let b = subgroupBroadcast(w4, 7u); a04 = fma(vec4<f32>(xb0.w), b, a04); a14 = fma(vec4<f32>(xb1.w), b, a14); a24 = fma(vec4<f32>(xb2.w), b, a24); a34 = fma(vec4<f32>(xb3.w), b, a34); }
            { let b = subgroupBroadcast(w5, 0u); a05 = fma(vec4<f32>(xa0.x), b, a05); a15 = fma(vec4<f32>(xa1.x), b, a15); a25 = fma(vec4<f32>(xa2.x), b, a25); a35 = fma(vec4<f32>(xa3.x), b, a35); }
            { let b = subgroupBroadcast(w5, 1u); a05 = fma(vec4<f32>(xa0.y), b, a05); a15 = fma(vec4<f32>(xa1.y), b, a15); a25 = fma(vec4<f32>(xa2.y), b, a25); a35 = fma(vec4<f32>(xa3.y), b, a35); }
            { let b = subgroupBroadcast(w5, 2u); a05 = fma(vec4<f32>(xa0.z), b, a05); a15 = fma(vec4<f32>(xa1.z), b, a15); a25 = fma(vec4<f32>(xa2.z), b, a25); a35 = fma(vec4<f32>(xa3.z), b, a35); }
            { let b = subgroupBroadcast(w5, 3u); a05 = fma(vec4<f32>(xa0.w), b, a05); a15 = fma(vec4<f32>(xa1.w), b, a15); a25 = fma(vec4<f32>(xa2.w), b, a25); a35 = fma(vec4<f32>(xa3.w), b, a35); }
            { let b = subgroupBroadcast(w5, 4u); a05 = fma(vec4<f32>(xb0.x), b, a05); a15 = fma(vec4<f32>(xb1.x), b, a15); a25 = fma(vec4<f32>(xb2.x), b, a25); a35 = fma(vec4<f32>(xb3.x), b, a35); }
            { let b = subgroupBroadcast(w5, 5u); a05 = fma(vec4<f32>(xb0.y), b, a05); a15 = fma(vec4<f32>(xb1.y), b, a15); a25 = fma(vec4<f32>(xb2.y), b, a25); a35 = fma(vec4<f32>(xb3.y), b, a35); }
            { let b = subgroupBroadcast(w5, 6u); a05 = fma(vec4<f32>(xb0.z), b, a05); a15 = fma(vec4<f32>(xb1.z), b, a15); a25 = fma(vec4<f32>(xb2.z), b, a25); a35 = fma(vec4<f32>(xb3.z), b, a35); }
            { let b = subgroupBroadcast(w5, 7u); a05 = fma(vec4<f32>(xb0.w), b, a05); a15 = fma(vec4<f32>(xb1.w), b, a15); a25 = fma(vec4<f32>(xb2.w), b, a25); a35 = fma(vec4<f32>(xb3.w), b, a35); }
            { let b = subgroupBroadcast(w6, 0u); a06 = fma(vec4<f32>(xa0.x), b, a06); a16 = fma(vec4<f32>(xa1.x), b, a16); a26 = fma(vec4<f32>(xa2.x), b, a26); a36 = fma(vec4<f32>(xa3.x), b, a36); }
            { let b = subgroupBroadcast(w6, 1u); a06 = fma(vec4<f32>(xa0.y), b, a06); a16 = fma(vec4<f32>(xa1.y), b, a16); a26 = fma(vec4<f32>(xa2.y), b, a26); a36 = fma(vec4<f32>(xa3.y), b, a36); }
            { let b = subgroupBroadcast(w6, 2u); a06 = fma(vec4<f32>(xa0.z), b, a06); a16 = fma(vec4<f32>(xa1.z), b, a16); a26 = fma(vec4<f32>(xa2.z), b, a26); a36 = fma(vec4<f32>(xa3.z), b, a36); }
            { let b = subgroupBroadcast(w6, 3u); a06 = fma(vec4<f32>(xa0.w), b, a06); a16 = fma(vec4<f32>(xa1.w), b, a16); a26 = fma(vec4<f32>(xa2.w), b, a26); a36 = fma(vec4<f32>(xa3.w), b, a36); }
            { let b = subgroupBroadcast(w6, 4u); a06 = fma(vec4<f32>(xb0.x), b, a06); a16 = fma(vec4<f32>(xb1.x), b, a16); a26 = fma(vec4<f32>(xb2.x), b, a26); a36 = fma(vec4<f32>(xb3.x), b, a36); }
            { let b = subgroupBroadcast(w6, 5u); a06 = fma(vec4<f32>(xb0.y), b, a06); a16 = fma(vec4<f32>(xb1.y), b, a16); a26 = fma(vec4<f32>(xb2.y), b, a26); a36 = fma(vec4<f32>(xb3.y), b, a36); }
            { let b = subgroupBroadcast(w6, 6u); a06 = fma(vec4<f32>(xb0.z), b, a06); a16 = fma(vec4<f32>(xb1.z), b, a16); a26 = fma(vec4<f32>(xb2.z), b, a26); a36 = fma(vec4<f32>(xb3.z), b, a36); }
            { let b = subgroupBroadcast(w6, 7u); a06 = fma(vec4<f32>(xb0.w), b, a06); a16 = fma(vec4<f32>(xb1.w), b, a16); a26 = fma(vec4<f32>(xb2.w), b, a26); a36 = fma(vec4<f32>(xb3.w), b, a36); }
            { let b = subgroupBroadcast(w7, 0u); a07 = fma(vec4<f32>(xa0.x), b, a07); a17 = fma(vec4<f32>(xa1.x), b, a17); a27 = fma(vec4<f32>(xa2.x), b, a27); a37 = fma(vec4<f32>(xa3.x), b, a37); }
            { let b = subgroupBroadcast(w7, 1u); a07 = fma(vec4<f32>(xa0.y), b, a07); a17 = fma(vec4<f32>(xa1.y), b, a17); a27 = fma(vec4<f32>(xa2.y), b, a27); a37 = fma(vec4<f32>(xa3.y), b, a37); }
            { let b = subgroupBroadcast(w7, 2u); a07 = fma(vec4<f32>(xa0.z), b, a07); a17 = fma(vec4<f32>(xa1.z), b, a17); a27 = fma(vec4<f32>(xa2.z), b, a27); a37 = fma(vec4<f32>(xa3.z), b, a37); }
            { let b = subgroupBroadcast(w7, 3u); a07 = fma(vec4<f32>(xa0.w), b, a07); a17 = fma(vec4<f32>(xa1.w), b, a17); a27 = fma(vec4<f32>(xa2.w), b, a27); a37 = fma(vec4<f32>(xa3.w), b, a37); }
            { let b = subgroupBroadcast(w7, 4u); a07 = fma(vec4<f32>(xb0.x), b, a07); a17 = fma(vec4<f32>(xb1.x), b, a17); a27 = fma(vec4<f32>(xb2.x), b, a27); a37 = fma(vec4<f32>(xb3.x), b, a37); }
            { let b = subgroupBroadcast(w7, 5u); a07 = fma(vec4<f32>(xb0.y), b, a07); a17 = fma(vec4<f32>(xb1.y), b, a17); a27 = fma(vec4<f32>(xb2.y), b, a27); a37 = fma(vec4<f32>(xb3.y), b, a37); }
            { let b = subgroupBroadcast(w7, 6u); a07 = fma(vec4<f32>(xb0.z), b, a07); a17 = fma(vec4<f32>(xb1.z), b, a17); a27 = fma(vec4<f32>(xb2.z), b, a27); a37 = fma(vec4<f32>(xb3.z), b, a37); }
            { let b = subgroupBroadcast(w7, 7u); a07 = fma(vec4<f32>(xb0.w), b, a07); a17 = fma(vec4<f32>(xb1.w), b, a17); a27 = fma(vec4<f32>(xb2.w), b, a27); a37 = fma(vec4<f32>(xb3.w), b, a37); }
        }
    }
    let co0 = wk.x * 32u;
    if (co0 + 0u < p.cout) {
        let e = epi(co0 + 0u);
        store4(co0 + 0u, a00, e, q0); store4(co0 + 0u, a10, e, q1); store4(co0 + 0u, a20, e, q2); store4(co0 + 0u, a30, e, q3);
    }
    if (co0 + 4u < p.cout) {
        let e = epi(co0 + 4u);
        store4(co0 + 4u, a01, e, q0); store4(co0 + 4u, a11, e, q1); store4(co0 + 4u, a21, e, q2); store4(co0 + 4u, a31, e, q3);
    }
    if (co0 + 8u < p.cout) {
        let e = epi(co0 + 8u);
        store4(co0 + 8u, a02, e, q0); store4(co0 + 8u, a12, e, q1); store4(co0 + 8u, a22, e, q2); store4(co0 + 8u, a32, e, q3);
    }
    if (co0 + 12u < p.cout) {
        let e = epi(co0 + 12u);
        store4(co0 + 12u, a03, e, q0); store4(co0 + 12u, a13, e, q1); store4(co0 + 12u, a23, e, q2); store4(co0 + 12u, a33, e, q3);
    }
    if (co0 + 16u < p.cout) {
        let e = epi(co0 + 16u);
        store4(co0 + 16u, a04, e, q0); store4(co0 + 16u, a14, e, q1); store4(co0 + 16u, a24, e, q2); store4(co0 + 16u, a34, e, q3);
    }
    if (co0 + 20u < p.cout) {
        let e = epi(co0 + 20u);
        store4(co0 + 20u, a05, e, q0); store4(co0 + 20u, a15, e, q1); store4(co0 + 20u, a25, e, q2); store4(co0 + 20u, a35, e, q3);
    }
    if (co0 + 24u < p.cout) {
        let e = epi(co0 + 24u);
        store4(co0 + 24u, a06, e, q0); store4(co0 + 24u, a16, e, q1); store4(co0 + 24u, a26, e, q2); store4(co0 + 24u, a36, e, q3);
    }
    if (co0 + 28u < p.cout) {
        let e = epi(co0 + 28u);
        store4(co0 + 28u, a07, e, q0); store4(co0 + 28u, a17, e, q1); store4(co0 + 28u, a27, e, q2); store4(co0 + 28u, a37, e, q3);
    }
}

@compute @workgroup_size(64)
fn forward_sg_v4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) lane: u32) {
    let wk = work(wg, nwg, 32u, 256u);
    if (wk.x * 32u >= p.cout) { return; } // past the end: the whole workgroup (uniform)
    let q0 = pixel(wk.y + li + 0u); let q1 = pixel(wk.y + li + 64u); let q2 = pixel(wk.y + li + 128u); let q3 = pixel(wk.y + li + 192u);
    let nv = p.cout_pad / 4u;
    let v0 = wk.x * 8u;
    let hi = v0 + 4u < nv; // the block's channels 16..31 exist in the packed rows
    let rows = p.cin + p.edge;
    let r = lane % 8u;
    let half = i32(p.k / 2u);
    let z = vec4<f32>(0.0);
    var a00 = z; var a01 = z; var a02 = z; var a03 = z; var a04 = z; var a05 = z; var a06 = z; var a07 = z;
    var a10 = z; var a11 = z; var a12 = z; var a13 = z; var a14 = z; var a15 = z; var a16 = z; var a17 = z;
    var a20 = z; var a21 = z; var a22 = z; var a23 = z; var a24 = z; var a25 = z; var a26 = z; var a27 = z;
    var a30 = z; var a31 = z; var a32 = z; var a33 = z; var a34 = z; var a35 = z; var a36 = z; var a37 = z;
    for (var t = 0u; t < p.k * p.k; t++) {
        let dy = i32(t / p.k) - half;
        let dx = i32(t % p.k) - half;
        let t0 = tap(q0, dy, dx); let t1 = tap(q1, dy, dx); let t2 = tap(q2, dy, dx); let t3 = tap(q3, dy, dx);
        let wrow = (t * rows + r) * nv + v0; // the lane's row in the tap's first block
        var kb = 0u;
        for (; kb + 8u <= p.cin; kb += 8u) { // blocks of 8 input channels
            let o0 = (t0.o + kb) / 4u;
            let xa0 = select(z, x4[o0], t0.ok); let xb0 = select(z, x4[o0 + 1u], t0.ok);
            let o1 = (t1.o + kb) / 4u;
            let xa1 = select(z, x4[o1], t1.ok); let xb1 = select(z, x4[o1 + 1u], t1.ok);
            let o2 = (t2.o + kb) / 4u;
            let xa2 = select(z, x4[o2], t2.ok); let xb2 = select(z, x4[o2 + 1u], t2.ok);
            let o3 = (t3.o + kb) / 4u;
            let xa3 = select(z, x4[o3], t3.ok); let xb3 = select(z, x4[o3 + 1u], t3.ok);
            let wi = wrow + kb * nv;
            let w0 = wt[wi + 0u];
            let w1 = wt[wi + 1u];
            let w2 = wt[wi + 2u];
            let w3 = wt[wi + 3u];
            let w4 = select(z, wt[wi + 4u], hi);
            let w5 = select(z, wt[wi + 5u], hi);
            let w6 = select(z, wt[wi + 6u], hi);
            let w7 = select(z, wt[wi + 7u], hi);
            { let b = subgroupBroadcast(w0, 0u); a00 = fma(vec4<f32>(xa0.x), b, a00); a10 = fma(vec4<f32>(xa1.x), b, a10); a20 = fma(vec4<f32>(xa2.x), b, a20); a30 = fma(vec4<f32>(xa3.x), b, a30); }
            { let b = subgroupBroadcast(w0, 1u); a00 = fma(vec4<f32>(xa0.y), b, a00); a10 = fma(vec4<f32>(xa1.y), b, a10); a20 = fma(vec4<f32>(xa2.y), b, a20); a30 = fma(vec4<f32>(xa3.y), b, a30); }
            { let b = subgroupBroadcast(w0, 2u); a00 = fma(vec4<f32>(xa0.z), b, a00); a10 = fma(vec4<f32>(xa1.z), b, a10); a20 = fma(vec4<f32>(xa2.z), b, a20); a30 = fma(vec4<f32>(xa3.z), b, a30); }
            { let b = subgroupBroadcast(w0, 3u); a00 = fma(vec4<f32>(xa0.w), b, a00); a10 = fma(vec4<f32>(xa1.w), b, a10); a20 = fma(vec4<f32>(xa2.w), b, a20); a30 = fma(vec4<f32>(xa3.w), b, a30); }
            { let b = subgroupBroadcast(w0, 4u); a00 = fma(vec4<f32>(xb0.x), b, a00); a10 = fma(vec4<f32>(xb1.x), b, a10); a20 = fma(vec4<f32>(xb2.x), b, a20); a30 = fma(vec4<f32>(xb3.x), b, a30); }
            { let b = subgroupBroadcast(w0, 5u); a00 = fma(vec4<f32>(xb0.y), b, a00); a10 = fma(vec4<f32>(xb1.y), b, a10); a20 = fma(vec4<f32>(xb2.y), b, a20); a30 = fma(vec4<f32>(xb3.y), b, a30); }
            { let b = subgroupBroadcast(w0, 6u); a00 = fma(vec4<f32>(xb0.z), b, a00); a10 = fma(vec4<f32>(xb1.z), b, a10); a20 = fma(vec4<f32>(xb2.z), b, a20); a30 = fma(vec4<f32>(xb3.z), b, a30); }
            { let b = subgroupBroadcast(w0, 7u); a00 = fma(vec4<f32>(xb0.w), b, a00); a10 = fma(vec4<f32>(xb1.w), b, a10); a20 = fma(vec4<f32>(xb2.w), b, a20); a30 = fma(vec4<f32>(xb3.w), b, a30); }
            { let b = subgroupBroadcast(w1, 0u); a01 = fma(vec4<f32>(xa0.x), b, a01); a11 = fma(vec4<f32>(xa1.x), b, a11); a21 = fma(vec4<f32>(xa2.x), b, a21); a31 = fma(vec4<f32>(xa3.x), b, a31); }
            { let b = subgroupBroadcast(w1, 1u); a01 = fma(vec4<f32>(xa0.y), b, a01); a11 = fma(vec4<f32>(xa1.y), b, a11); a21 = fma(vec4<f32>(xa2.y), b, a21); a31 = fma(vec4<f32>(xa3.y), b, a31); }
            { let b = subgroupBroadcast(w1, 2u); a01 = fma(vec4<f32>(xa0.z), b, a01); a11 = fma(vec4<f32>(xa1.z), b, a11); a21 = fma(vec4<f32>(xa2.z), b, a21); a31 = fma(vec4<f32>(xa3.z), b, a31); }
            { let b = subgroupBroadcast(w1, 3u); a01 = fma(vec4<f32>(xa0.w), b, a01); a11 = fma(vec4<f32>(xa1.w), b, a11); a21 = fma(vec4<f32>(xa2.w), b, a21); a31 = fma(vec4<f32>(xa3.w), b, a31); }
            { let b = subgroupBroadcast(w1, 4u); a01 = fma(vec4<f32>(xb0.x), b, a01); a11 = fma(vec4<f32>(xb1.x), b, a11); a21 = fma(vec4<f32>(xb2.x), b, a21); a31 = fma(vec4<f32>(xb3.x), b, a31); }
            { let b = subgroupBroadcast(w1, 5u); a01 = fma(vec4<f32>(xb0.y), b, a01); a11 = fma(vec4<f32>(xb1.y), b, a11); a21 = fma(vec4<f32>(xb2.y), b, a21); a31 = fma(vec4<f32>(xb3.y), b, a31); }
            { let b = subgroupBroadcast(w1, 6u); a01 = fma(vec4<f32>(xb0.z), b, a01); a11 = fma(vec4<f32>(xb1.z), b, a11); a21 = fma(vec4<f32>(xb2.z), b, a21); a31 = fma(vec4<f32>(xb3.z), b, a31); }
            { let b = subgroupBroadcast(w1, 7u); a01 = fma(vec4<f32>(xb0.w), b, a01); a11 = fma(vec4<f32>(xb1.w), b, a11); a21 = fma(vec4<f32>(xb2.w), b, a21); a31 = fma(vec4<f32>(xb3.w), b, a31); }
            { let b = subgroupBroadcast(w2, 0u); a02 = fma(vec4<f32>(xa0.x), b, a02); a12 = fma(vec4<f32>(xa1.x), b, a12); a22 = fma(vec4<f32>(xa2.x), b, a22); a32 = fma(vec4<f32>(xa3.x), b, a32); }
            { let b = subgroupBroadcast(w2, 1u); a02 = fma(vec4<f32>(xa0.y), b, a02); a12 = fma(vec4<f32>(xa1.y), b, a12); a22 = fma(vec4<f32>(xa2.y), b, a22); a32 = fma(vec4<f32>(xa3.y), b, a32); }
            { let b = subgroupBroadcast(w2, 2u); a02 = fma(vec4<f32>(xa0.z), b, a02); a12 = fma(vec4<f32>(xa1.z), b, a12); a22 = fma(vec4<f32>(xa2.z), b, a22); a32 = fma(vec4<f32>(xa3.z), b, a32); }
            { let b = subgroupBroadcast(w2, 3u); a02 = fma(vec4<f32>(xa0.w), b, a02); a12 = fma(vec4<f32>(xa1.w), b, a12); a22 = fma(vec4<f32>(xa2.w), b, a22); a32 = fma(vec4<f32>(xa3.w), b, a32); }
            { let b = subgroupBroadcast(w2, 4u); a02 = fma(vec4<f32>(xb0.x), b, a02); a12 = fma(vec4<f32>(xb1.x), b, a12); a22 = fma(vec4<f32>(xb2.x), b, a22); a32 = fma(vec4<f32>(xb3.x), b, a32); }
            { let b = subgroupBroadcast(w2, 5u); a02 = fma(vec4<f32>(xb0.y), b, a02); a12 = fma(vec4<f32>(xb1.y), b, a12); a22 = fma(vec4<f32>(xb2.y), b, a22); a32 = fma(vec4<f32>(xb3.y), b, a32); }
            { let b = subgroupBroadcast(w2, 6u); a02 = fma(vec4<f32>(xb0.z), b, a02); a12 = fma(vec4<f32>(xb1.z), b, a12); a22 = fma(vec4<f32>(xb2.z), b, a22); a32 = fma(vec4<f32>(xb3.z), b, a32); }
            { let b = subgroupBroadcast(w2, 7u); a02 = fma(vec4<f32>(xb0.w), b, a02); a12 = fma(vec4<f32>(xb1.w), b, a12); a22 = fma(vec4<f32>(xb2.w), b, a22); a32 = fma(vec4<f32>(xb3.w), b, a32); }
            { let b = subgroupBroadcast(w3, 0u); a03 = fma(vec4<f32>(xa0.x), b, a03); a13 = fma(vec4<f32>(xa1.x), b, a13); a23 = fma(vec4<f32>(xa2.x), b, a23); a33 = fma(vec4<f32>(xa3.x), b, a33); }
            { let b = subgroupBroadcast(w3, 1u); a03 = fma(vec4<f32>(xa0.y), b, a03); a13 = fma(vec4<f32>(xa1.y), b, a13); a23 = fma(vec4<f32>(xa2.y), b, a23); a33 = fma(vec4<f32>(xa3.y), b, a33); }
            { let b = subgroupBroadcast(w3, 2u); a03 = fma(vec4<f32>(xa0.z), b, a03); a13 = fma(vec4<f32>(xa1.z), b, a13); a23 = fma(vec4<f32>(xa2.z), b, a23); a33 = fma(vec4<f32>(xa3.z), b, a33); }
            { let b = subgroupBroadcast(w3, 3u); a03 = fma(vec4<f32>(xa0.w), b, a03); a13 = fma(vec4<f32>(xa1.w), b, a13); a23 = fma(vec4<f32>(xa2.w), b, a23); a33 = fma(vec4<f32>(xa3.w), b, a33); }
            { let b = subgroupBroadcast(w3, 4u); a03 = fma(vec4<f32>(xb0.x), b, a03); a13 = fma(vec4<f32>(xb1.x), b, a13); a23 = fma(vec4<f32>(xb2.x), b, a23); a33 = fma(vec4<f32>(xb3.x), b, a33); }
            { let b = subgroupBroadcast(w3, 5u); a03 = fma(vec4<f32>(xb0.y), b, a03); a13 = fma(vec4<f32>(xb1.y), b, a13); a23 = fma(vec4<f32>(xb2.y), b, a23); a33 = fma(vec4<f32>(xb3.y), b, a33); }
            { let b = subgroupBroadcast(w3, 6u); a03 = fma(vec4<f32>(xb0.z), b, a03); a13 = fma(vec4<f32>(xb1.z), b, a13); a23 = fma(vec4<f32>(xb2.z), b, a23); a33 = fma(vec4<f32>(xb3.z), b, a33); }
            { let b = subgroupBroadcast(w3, 7u); a03 = fma(vec4<f32>(xb0.w), b, a03); a13 = fma(vec4<f32>(xb1.w), b, a13); a23 = fma(vec4<f32>(xb2.w), b, a23); a33 = fma(vec4<f32>(xb3.w), b, a33); }
            { let b = subgroupBroadcast(w4, 0u); a04 = fma(vec4<f32>(xa0.x), b, a04); a14 = fma(vec4<f32>(xa1.x), b, a14); a24 = fma(vec4<f32>(xa2.x), b, a24); a34 = fma(vec4<f32>(xa3.x), b, a34); }
            { let b = subgroupBroadcast(w4, 1u); a04 = fma(vec4<f32>(xa0.y), b, a04); a14 = fma(vec4<f32>(xa1.y), b, a14); a24 = fma(vec4<f32>(xa2.y), b, a24); a34 = fma(vec4<f32>(xa3.y), b, a34); }
            { let b = subgroupBroadcast(w4, 2u); a04 = fma(vec4<f32>(xa0.z), b, a04); a14 = fma(vec4<f32>(xa1.z), b, a14); a24 = fma(vec4<f32>(xa2.z), b, a24); a34 = fma(vec4<f32>(xa3.z), b, a34); }
            { let b = subgroupBroadcast(w4, 3u); a04 = fma(vec4<f32>(xa0.w), b, a04); a14 = fma(vec4<f32>(xa1.w), b, a14); a24 = fma(vec4<f32>(xa2.w), b, a24); a34 = fma(vec4<f32>(xa3.w), b, a34); }
            { let b = subgroupBroadcast(w4, 4u); a04 = fma(vec4<f32>(xb0.x), b, a04); a14 = fma(vec4<f32>(xb1.x), b, a14); a24 = fma(vec4<f32>(xb2.x), b, a24); a34 = fma(vec4<f32>(xb3.x), b, a34); }
            { let b = subgroupBroadcast(w4, 5u); a04 = fma(vec4<f32>(xb0.y), b, a04); a14 = fma(vec4<f32>(xb1.y), b, a14); a24 = fma(vec4<f32>(xb2.y), b, a24); a34 = fma(vec4<f32>(xb3.y), b, a34); }
            { let b = subgroupBroadcast(w4, 6u); a04 = fma(vec4<f32>(xb0.z), b, a04); a14 = fma(vec4<f32>(xb1.z), b, a14); a24 = fma(vec4<f32>(xb2.z), b, a24); a34 = fma(vec4<f32>(xb3.z), b, a34); }
            { let b = subgroupBroadcast(w4, 7u); a04 = fma(vec4<f32>(xb0.w), b, a04); a14 = fma(vec4<f32>(xb1.w), b, a14); a24 = fma(vec4<f32>(xb2.w), b, a24); a34 = fma(vec4<f32>(xb3.w), b, a34); }
            { let b = subgroupBroadcast(w5, 0u); a05 = fma(vec4<f32>(xa0.x), b, a05); a15 = fma(vec4<f32>(xa1.x), b, a15); a25 = fma(vec4<f32>(xa2.x), b, a25); a35 = fma(vec4<f32>(xa3.x), b, a35); }
            { let b = subgroupBroadcast(w5, 1u); a05 = fma(vec4<f32>(xa0.y), b, a05); a15 = fma(vec4<f32>(xa1.y), b, a15); a25 = fma(vec4<f32>(xa2.y), b, a25); a35 = fma(vec4<f32>(xa3.y), b, a35); }
            { let b = subgroupBroadcast(w5, 2u); a05 = fma(vec4<f32>(xa0.z), b, a05); a15 = fma(vec4<f32>(xa1.z), b, a15); a25 = fma(vec4<f32>(xa2.z), b, a25); a35 = fma(vec4<f32>(xa3.z), b, a35); }
            { let b = subgroupBroadcast(w5, 3u); a05 = fma(vec4<f32>(xa0.w), b, a05); a15 = fma(vec4<f32>(xa1.w), b, a15); a25 = fma(vec4<f32>(xa2.w), b, a25); a35 = fma(vec4<f32>(xa3.w), b, a35); }
            { let b = subgroupBroadcast(w5, 4u); a05 = fma(vec4<f32>(xb0.x), b, a05); a15 = fma(vec4<f32>(xb1.x), b, a15); a25 = fma(vec4<f32>(xb2.x), b, a25); a35 = fma(vec4<f32>(xb3.x), b, a35); }
            { let b = subgroupBroadcast(w5, 5u); a05 = fma(vec4<f32>(xb0.y), b, a05); a15 = fma(vec4<f32>(xb1.y), b, a15); a25 = fma(vec4<f32>(xb2.y), b, a25); a35 = fma(vec4<f32>(xb3.y), b, a35); }
            { let b = subgroupBroadcast(w5, 6u); a05 = fma(vec4<f32>(xb0.z), b, a05); a15 = fma(vec4<f32>(xb1.z), b, a15); a25 = fma(vec4<f32>(xb2.z), b, a25); a35 = fma(vec4<f32>(xb3.z), b, a35); }
            { let b = subgroupBroadcast(w5, 7u); a05 = fma(vec4<f32>(xb0.w), b, a05); a15 = fma(vec4<f32>(xb1.w), b, a15); a25 = fma(vec4<f32>(xb2.w), b, a25); a35 = fma(vec4<f32>(xb3.w), b, a35); }
            { let b = subgroupBroadcast(w6, 0u); a06 = fma(vec4<f32>(xa0.x), b, a06); a16 = fma(vec4<f32>(xa1.x), b, a16); a26 = fma(vec4<f32>(xa2.x), b, a26); a36 = fma(vec4<f32>(xa3.x), b, a36); }
            { let b = subgroupBroadcast(w6, 1u); a06 = fma(vec4<f32>(xa0.y), b, a06); a16 = fma(vec4<f32>(xa1.y), b, a16); a26 = fma(vec4<f32>(xa2.y), b, a26); a36 = fma(vec4<f32>(xa3.y), b, a36); }
            { let b = subgroupBroadcast(w6, 2u); a06 = fma(vec4<f32>(xa0.z), b, a06); a16 = fma(vec4<f32>(xa1.z), b, a16); a26 = fma(vec4<f32>(xa2.z), b, a26); a36 = fma(vec4<f32>(xa3.z), b, a36); }
            { let b = subgroupBroadcast(w6, 3u); a06 = fma(vec4<f32>(xa0.w), b, a06); a16 = fma(vec4<f32>(xa1.w), b, a16); a26 = fma(vec4<f32>(xa2.w), b, a26); a36 = fma(vec4<f32>(xa3.w), b, a36); }
            { let b = subgroupBroadcast(w6, 4u); a06 = fma(vec4<f32>(xb0.x), b, a06); a16 = fma(vec4<f32>(xb1.x), b, a16); a26 = fma(vec4<f32>(xb2.x), b, a26); a36 = fma(vec4<f32>(xb3.x), b, a36); }
            { let b = subgroupBroadcast(w6, 5u); a06 = fma(vec4<f32>(xb0.y), b, a06); a16 = fma(vec4<f32>(xb1.y), b, a16); a26 = fma(vec4<f32>(xb2.y), b, a26); a36 = fma(vec4<f32>(xb3.y), b, a36); }
            { let b = subgroupBroadcast(w6, 6u); a06 = fma(vec4<f32>(xb0.z), b, a06); a16 = fma(vec4<f32>(xb1.z), b, a16); a26 = fma(vec4<f32>(xb2.z), b, a26); a36 = fma(vec4<f32>(xb3.z), b, a36); }
            { let b = subgroupBroadcast(w6, 7u); a06 = fma(vec4<f32>(xb0.w), b, a06); a16 = fma(vec4<f32>(xb1.w), b, a16); a26 = fma(vec4<f32>(xb2.w), b, a26); a36 = fma(vec4<f32>(xb3.w), b, a36); }
            { let b = subgroupBroadcast(w7, 0u); a07 = fma(vec4<f32>(xa0.x), b, a07); a17 = fma(vec4<f32>(xa1.x), b, a17); a27 = fma(vec4<f32>(xa2.x), b, a27); a37 = fma(vec4<f32>(xa3.x), b, a37); }
            { let b = subgroupBroadcast(w7, 1u); a07 = fma(vec4<f32>(xa0.y), b, a07); a17 = fma(vec4<f32>(xa1.y), b, a17); a27 = fma(vec4<f32>(xa2.y), b, a27); a37 = fma(vec4<f32>(xa3.y), b, a37); }
            { let b = subgroupBroadcast(w7, 2u); a07 = fma(vec4<f32>(xa0.z), b, a07); a17 = fma(vec4<f32>(xa1.z), b, a17); a27 = fma(vec4<f32>(xa2.z), b, a27); a37 = fma(vec4<f32>(xa3.z), b, a37); }
            { let b = subgroupBroadcast(w7, 3u); a07 = fma(vec4<f32>(xa0.w), b, a07); a17 = fma(vec4<f32>(xa1.w), b, a17); a27 = fma(vec4<f32>(xa2.w), b, a27); a37 = fma(vec4<f32>(xa3.w), b, a37); }
            { let b = subgroupBroadcast(w7, 4u); a07 = fma(vec4<f32>(xb0.x), b, a07); a17 = fma(vec4<f32>(xb1.x), b, a17); a27 = fma(vec4<f32>(xb2.x), b, a27); a37 = fma(vec4<f32>(xb3.x), b, a37); }
            { let b = subgroupBroadcast(w7, 5u); a07 = fma(vec4<f32>(xb0.y), b, a07); a17 = fma(vec4<f32>(xb1.y), b, a17); a27 = fma(vec4<f32>(xb2.y), b, a27); a37 = fma(vec4<f32>(xb3.y), b, a37); }
            { let b = subgroupBroadcast(w7, 6u); a07 = fma(vec4<f32>(xb0.z), b, a07); a17 = fma(vec4<f32>(xb1.z), b, a17); a27 = fma(vec4<f32>(xb2.z), b, a27); a37 = fma(vec4<f32>(xb3.z), b, a37); }
            { let b = subgroupBroadcast(w7, 7u); a07 = fma(vec4<f32>(xb0.w), b, a07); a17 = fma(vec4<f32>(xb1.w), b, a17); a27 = fma(vec4<f32>(xb2.w), b, a27); a37 = fma(vec4<f32>(xb3.w), b, a37); }
        }
        for (; kb < rows; kb += 8u) { // the last input channels and the edge row (runs at most once)
            let o0 = (t0.o + kb) / 4u;
            let xa0 = tail4(x4[o0], t0.ok, kb); let xb0 = tail4(x4[o0 + 1u], t0.ok, kb + 4u);
            let o1 = (t1.o + kb) / 4u;
            let xa1 = tail4(x4[o1], t1.ok, kb); let xb1 = tail4(x4[o1 + 1u], t1.ok, kb + 4u);
            let o2 = (t2.o + kb) / 4u;
            let xa2 = tail4(x4[o2], t2.ok, kb); let xb2 = tail4(x4[o2 + 1u], t2.ok, kb + 4u);
            let o3 = (t3.o + kb) / 4u;
            let xa3 = tail4(x4[o3], t3.ok, kb); let xb3 = tail4(x4[o3 + 1u], t3.ok, kb + 4u);
            let wi = wrow + kb * nv;
            let ok = kb + r < rows; // the lane's row exists
            let w0 = select(z, wt[wi + 0u], ok);
            let w1 = select(z, wt[wi + 1u], ok);
            let w2 = select(z, wt[wi + 2u], ok);
            let w3 = select(z, wt[wi + 3u], ok);
            let w4 = select(z, wt[wi + 4u], ok && hi);
            let w5 = select(z, wt[wi + 5u], ok && hi);
            let w6 = select(z, wt[wi + 6u], ok && hi);
            let w7 = select(z, wt[wi + 7u], ok && hi);
            { let b = subgroupBroadcast(w0, 0u); a00 = fma(vec4<f32>(xa0.x), b, a00); a10 = fma(vec4<f32>(xa1.x), b, a10); a20 = fma(vec4<f32>(xa2.x), b, a20); a30 = fma(vec4<f32>(xa3.x), b, a30); }
            { let b = subgroupBroadcast(w0, 1u); a00 = fma(vec4<f32>(xa0.y), b, a00); a10 = fma(vec4<f32>(xa1.y), b, a10); a20 = fma(vec4<f32>(xa2.y), b, a20); a30 = fma(vec4<f32>(xa3.y), b, a30); }
            { let b = subgroupBroadcast(w0, 2u); a00 = fma(vec4<f32>(xa0.z), b, a00); a10 = fma(vec4<f32>(xa1.z), b, a10); a20 = fma(vec4<f32>(xa2.z), b, a20); a30 = fma(vec4<f32>(xa3.z), b, a30); }
            { let b = subgroupBroadcast(w0, 3u); a00 = fma(vec4<f32>(xa0.w), b, a00); a10 = fma(vec4<f32>(xa1.w), b, a10); a20 = fma(vec4<f32>(xa2.w), b, a20); a30 = fma(vec4<f32>(xa3.w), b, a30); }
            { let b = subgroupBroadcast(w0, 4u); a00 = fma(vec4<f32>(xb0.x), b, a00); a10 = fma(vec4<f32>(xb1.x), b, a10); a20 = fma(vec4<f32>(xb2.x), b, a20); a30 = fma(vec4<f32>(xb3.x), b, a30); }
            { let b = subgroupBroadcast(w0, 5u); a00 = fma(vec4<f32>(xb0.y), b, a00); a10 = fma(vec4<f32>(xb1.y), b, a10); a20 = fma(vec4<f32>(xb2.y), b, a20); a30 = fma(vec4<f32>(xb3.y), b, a30); }
            { let b = subgroupBroadcast(w0, 6u); a00 = fma(vec4<f32>(xb0.z), b, a00); a10 = fma(vec4<f32>(xb1.z), b, a10); a20 = fma(vec4<f32>(xb2.z), b, a20); a30 = fma(vec4<f32>(xb3.z), b, a30); }
            { let b = subgroupBroadcast(w0, 7u); a00 = fma(vec4<f32>(xb0.w), b, a00); a10 = fma(vec4<f32>(xb1.w), b, a10); a20 = fma(vec4<f32>(xb2.w), b, a20); a30 = fma(vec4<f32>(xb3.w), b, a30); }
            { let b = subgroupBroadcast(w1, 0u); a01 = fma(vec4<f32>(xa0.x), b, a01); a11 = fma(vec4<f32>(xa1.x), b, a11); a21 = fma(vec4<f32>(xa2.x), b, a21); a31 = fma(vec4<f32>(xa3.x), b, a31); }
            { let b = subgroupBroadcast(w1, 1u); a01 = fma(vec4<f32>(xa0.y), b, a01); a11 = fma(vec4<f32>(xa1.y), b, a11); a21 = fma(vec4<f32>(xa2.y), b, a21); a31 = fma(vec4<f32>(xa3.y), b, a31); }
            { let b = subgroupBroadcast(w1, 2u); a01 = fma(vec4<f32>(xa0.z), b, a01); a11 = fma(vec4<f32>(xa1.z), b, a11); a21 = fma(vec4<f32>(xa2.z), b, a21); a31 = fma(vec4<f32>(xa3.z), b, a31); }
            { let b = subgroupBroadcast(w1, 3u); a01 = fma(vec4<f32>(xa0.w), b, a01); a11 = fma(vec4<f32>(xa1.w), b, a11); a21 = fma(vec4<f32>(xa2.w), b, a21); a31 = fma(vec4<f32>(xa3.w), b, a31); }
            { let b = subgroupBroadcast(w1, 4u); a01 = fma(vec4<f32>(xb0.x), b, a01); a11 = fma(vec4<f32>(xb1.x), b, a11); a21 = fma(vec4<f32>(xb2.x), b, a21); a31 = fma(vec4<f32>(xb3.x), b, a31); }
            { let b = subgroupBroadcast(w1, 5u); a01 = fma(vec4<f32>(xb0.y), b, a01); a11 = fma(vec4<f32>(xb1.y), b, a11); a21 = fma(vec4<f32>(xb2.y), b, a21); a31 = fma(vec4<f32>(xb3.y), b, a31); }
            { let b = subgroupBroadcast(w1, 6u); a01 = fma(vec4<f32>(xb0.z), b, a01); a11 = fma(vec4<f32>(xb1.z), b, a11); a21 = fma(vec4<f32>(xb2.z), b, a21); a31 = fma(vec4<f32>(xb3.z), b, a31); }
            { let b = subgroupBroadcast(w1, 7u); a01 = fma(vec4<f32>(xb0.w), b, a01); a11 = fma(vec4<f32>(xb1.w), b, a11); a21 = fma(vec4<f32>(xb2.w), b, a21); a31 = fma(vec4<f32>(xb3.w), b, a31); }
            { let b = subgroupBroadcast(w2, 0u); a02 = fma(vec4<f32>(xa0.x), b, a02); a12 = fma(vec4<f32>(xa1.x), b, a12); a22 = fma(vec4<f32>(xa2.x), b, a22); a32 = fma(vec4<f32>(xa3.x), b, a32); }
            { let b = subgroupBroadcast(w2, 1u); a02 = fma(vec4<f32>(xa0.y), b, a02); a12 = fma(vec4<f32>(xa1.y), b, a12); a22 = fma(vec4<f32>(xa2.y), b, a22); a32 = fma(vec4<f32>(xa3.y), b, a32); }
            { let b = subgroupBroadcast(w2, 2u); a02 = fma(vec4<f32>(xa0.z), b, a02); a12 = fma(vec4<f32>(xa1.z), b, a12); a22 = fma(vec4<f32>(xa2.z), b, a22); a32 = fma(vec4<f32>(xa3.z), b, a32); }
            { let b = subgroupBroadcast(w2, 3u); a02 = fma(vec4<f32>(xa0.w), b, a02); a12 = fma(vec4<f32>(xa1.w), b, a12); a22 = fma(vec4<f32>(xa2.w), b, a22); a32 = fma(vec4<f32>(xa3.w), b, a32); }
            { let b = subgroupBroadcast(w2, 4u); a02 = fma(vec4<f32>(xb0.x), b, a02); a12 = fma(vec4<f32>(xb1.x), b, a12); a22 = fma(vec4<f32>(xb2.x), b, a22); a32 = fma(vec4<f32>(xb3.x), b, a32); }
            { let b = subgroupBroadcast(w2, 5u); a02 = fma(vec4<f32>(xb0.y), b, a02); a12 = fma(vec4<f32>(xb1.y), b, a12); a22 = fma(vec4<f32>(xb2.y), b, a22); a32 = fma(vec4<f32>(xb3.y), b, a32); }
            { let b = subgroupBroadcast(w2, 6u); a02 = fma(vec4<f32>(xb0.z), b, a02); a12 = fma(vec4<f32>(xb1.z), b, a12); a22 = fma(vec4<f32>(xb2.z), b, a22); a32 = fma(vec4<f32>(xb3.z), b, a32); }
            { let b = subgroupBroadcast(w2, 7u); a02 = fma(vec4<f32>(xb0.w), b, a02); a12 = fma(vec4<f32>(xb1.w), b, a12); a22 = fma(vec4<f32>(xb2.w), b, a22); a32 = fma(vec4<f32>(xb3.w), b, a32); }
            { let b = subgroupBroadcast(w3, 0u); a03 = fma(vec4<f32>(xa0.x), b, a03); a13 = fma(vec4<f32>(xa1.x), b, a13); a23 = fma(vec4<f32>(xa2.x), b, a23); a33 = fma(vec4<f32>(xa3.x), b, a33); }
            { let b = subgroupBroadcast(w3, 1u); a03 = fma(vec4<f32>(xa0.y), b, a03); a13 = fma(vec4<f32>(xa1.y), b, a13); a23 = fma(vec4<f32>(xa2.y), b, a23); a33 = fma(vec4<f32>(xa3.y), b, a33); }
            { let b = subgroupBroadcast(w3, 2u); a03 = fma(vec4<f32>(xa0.z), b, a03); a13 = fma(vec4<f32>(xa1.z), b, a13); a23 = fma(vec4<f32>(xa2.z), b, a23); a33 = fma(vec4<f32>(xa3.z), b, a33); }
            { let b = subgroupBroadcast(w3, 3u); a03 = fma(vec4<f32>(xa0.w), b, a03); a13 = fma(vec4<f32>(xa1.w), b, a13); a23 = fma(vec4<f32>(xa2.w), b, a23); a33 = fma(vec4<f32>(xa3.w), b, a33); }
            { let b = subgroupBroadcast(w3, 4u); a03 = fma(vec4<f32>(xb0.x), b, a03); a13 = fma(vec4<f32>(xb1.x), b, a13); a23 = fma(vec4<f32>(xb2.x), b, a23); a33 = fma(vec4<f32>(xb3.x), b, a33); }
            { let b = subgroupBroadcast(w3, 5u); a03 = fma(vec4<f32>(xb0.y), b, a03); a13 = fma(vec4<f32>(xb1.y), b, a13); a23 = fma(vec4<f32>(xb2.y), b, a23); a33 = fma(vec4<f32>(xb3.y), b, a33); }
            { let b = subgroupBroadcast(w3, 6u); a03 = fma(vec4<f32>(xb0.z), b, a03); a13 = fma(vec4<f32>(xb1.z), b, a13); a23 = fma(vec4<f32>(xb2.z), b, a23); a33 = fma(vec4<f32>(xb3.z), b, a33); }
            { let b = subgroupBroadcast(w3, 7u); a03 = fma(vec4<f32>(xb0.w), b, a03); a13 = fma(vec4<f32>(xb1.w), b, a13); a23 = fma(vec4<f32>(xb2.w), b, a23); a33 = fma(vec4<f32>(xb3.w), b, a33); }
            { let b = subgroupBroadcast(w4, 0u); a04 = fma(vec4<f32>(xa0.x), b, a04); a14 = fma(vec4<f32>(xa1.x), b, a14); a24 = fma(vec4<f32>(xa2.x), b, a24); a34 = fma(vec4<f32>(xa3.x), b, a34); }
            { let b = subgroupBroadcast(w4, 1u); a04 = fma(vec4<f32>(xa0.y), b, a04); a14 = fma(vec4<f32>(xa1.y), b, a14); a24 = fma(vec4<f32>(xa2.y), b, a24); a34 = fma(vec4<f32>(xa3.y), b, a34); }
            { let b = subgroupBroadcast(w4, 2u); a04 = fma(vec4<f32>(xa0.z), b, a04); a14 = fma(vec4<f32>(xa1.z), b, a14); a24 = fma(vec4<f32>(xa2.z), b, a24); a34 = fma(vec4<f32>(xa3.z), b, a34); }
            { let b = subgroupBroadcast(w4, 3u); a04 = fma(vec4<f32>(xa0.w), b, a04); a14 = fma(vec4<f32>(xa1.w), b, a14); a24 = fma(vec4<f32>(xa2.w), b, a24); a34 = fma(vec4<f32>(xa3.w), b, a34); }
            { let b = subgroupBroadcast(w4, 4u); a04 = fma(vec4<f32>(xb0.x), b, a04); a14 = fma(vec4<f32>(xb1.x), b, a14); a24 = fma(vec4<f32>(xb2.x), b, a24); a34 = fma(vec4<f32>(xb3.x), b, a34); }
            { let b = subgroupBroadcast(w4, 5u); a04 = fma(vec4<f32>(xb0.y), b, a04); a14 = fma(vec4<f32>(xb1.y), b, a14); a24 = fma(vec4<f32>(xb2.y), b, a24); a34 = fma(vec4<f32>(xb3.y), b, a34); }
            { let b = subgroupBroadcast(w4, 6u); a04 = fma(vec4<f32>(xb0.z), b, a04); a14 = fma(vec4<f32>(xb1.z), b, a14); a24 = fma(vec4<f32>(xb2.z), b, a24); a34 = fma(vec4<f32>(xb3.z), b, a34); }
            { let b = subgroupBroadcast(w4, 7u); a04 = fma(vec4<f32>(xb0.w), b, a04); a14 = fma(vec4<f32>(xb1.w), b, a14); a24 = fma(vec4<f32>(xb2.w), b, a24); a34 = fma(vec4<f32>(xb3.w), b, a34); }
            { let b = subgroupBroadcast(w5, 0u); a05 = fma(vec4<f32>(xa0.x), b, a05); a15 = fma(vec4<f32>(xa1.x), b, a15); a25 = fma(vec4<f32>(xa2.x), b, a25); a35 = fma(vec4<f32>(xa3.x), b, a35); }
            { let b = subgroupBroadcast(w5, 1u); a05 = fma(vec4<f32>(xa0.y), b, a05); a15 = fma(vec4<f32>(xa1.y), b, a15); a25 = fma(vec4<f32>(xa2.y), b, a25); a35 = fma(vec4<f32>(xa3.y), b, a35); }
            { let b = subgroupBroadcast(w5, 2u); a05 = fma(vec4<f32>(xa0.z), b, a05); a15 = fma(vec4<f32>(xa1.z), b, a15); a25 = fma(vec4<f32>(xa2.z), b, a25); a35 = fma(vec4<f32>(xa3.z), b, a35); }
            { let b = subgroupBroadcast(w5, 3u); a05 = fma(vec4<f32>(xa0.w), b, a05); a15 = fma(vec4<f32>(xa1.w), b, a15); a25 = fma(vec4<f32>(xa2.w), b, a25); a35 = fma(vec4<f32>(xa3.w), b, a35); }
            { let b = subgroupBroadcast(w5, 4u); a05 = fma(vec4<f32>(xb0.x), b, a05); a15 = fma(vec4<f32>(xb1.x), b, a15); a25 = fma(vec4<f32>(xb2.x), b, a25); a35 = fma(vec4<f32>(xb3.x), b, a35); }
            { let b = subgroupBroadcast(w5, 5u); a05 = fma(vec4<f32>(xb0.y), b, a05); a15 = fma(vec4<f32>(xb1.y), b, a15); a25 = fma(vec4<f32>(xb2.y), b, a25); a35 = fma(vec4<f32>(xb3.y), b, a35); }
            { let b = subgroupBroadcast(w5, 6u); a05 = fma(vec4<f32>(xb0.z), b, a05); a15 = fma(vec4<f32>(xb1.z), b, a15); a25 = fma(vec4<f32>(xb2.z), b, a25); a35 = fma(vec4<f32>(xb3.z), b, a35); }
            { let b = subgroupBroadcast(w5, 7u); a05 = fma(vec4<f32>(xb0.w), b, a05); a15 = fma(vec4<f32>(xb1.w), b, a15); a25 = fma(vec4<f32>(xb2.w), b, a25); a35 = fma(vec4<f32>(xb3.w), b, a35); }
            { let b = subgroupBroadcast(w6, 0u); a06 = fma(vec4<f32>(xa0.x), b, a06); a16 = fma(vec4<f32>(xa1.x), b, a16); a26 = fma(vec4<f32>(xa2.x), b, a26); a36 = fma(vec4<f32>(xa3.x), b, a36); }
            { let b = subgroupBroadcast(w6, 1u); a06 = fma(vec4<f32>(xa0.y), b, a06); a16 = fma(vec4<f32>(xa1.y), b, a16); a26 = fma(vec4<f32>(xa2.y), b, a26); a36 = fma(vec4<f32>(xa3.y), b, a36); }
            { let b = subgroupBroadcast(w6, 2u); a06 = fma(vec4<f32>(xa0.z), b, a06); a16 = fma(vec4<f32>(xa1.z), b, a16); a26 = fma(vec4<f32>(xa2.z), b, a26); a36 = fma(vec4<f32>(xa3.z), b, a36); }
            { let b = subgroupBroadcast(w6, 3u); a06 = fma(vec4<f32>(xa0.w), b, a06); a16 = fma(vec4<f32>(xa1.w), b, a16); a26 = fma(vec4<f32>(xa2.w), b, a26); a36 = fma(vec4<f32>(xa3.w), b, a36); }
            { let b = subgroupBroadcast(w6, 4u); a06 = fma(vec4<f32>(xb0.x), b, a06); a16 = fma(vec4<f32>(xb1.x), b, a16); a26 = fma(vec4<f32>(xb2.x), b, a26); a36 = fma(vec4<f32>(xb3.x), b, a36); }
            { let b = subgroupBroadcast(w6, 5u); a06 = fma(vec4<f32>(xb0.y), b, a06); a16 = fma(vec4<f32>(xb1.y), b, a16); a26 = fma(vec4<f32>(xb2.y), b, a26); a36 = fma(vec4<f32>(xb3.y), b, a36); }
            { let b = subgroupBroadcast(w6, 6u); a06 = fma(vec4<f32>(xb0.z), b, a06); a16 = fma(vec4<f32>(xb1.z), b, a16); a26 = fma(vec4<f32>(xb2.z), b, a26); a36 = fma(vec4<f32>(xb3.z), b, a36); }
            { let b = subgroupBroadcast(w6, 7u); a06 = fma(vec4<f32>(xb0.w), b, a06); a16 = fma(vec4<f32>(xb1.w), b, a16); a26 = fma(vec4<f32>(xb2.w), b, a26); a36 = fma(vec4<f32>(xb3.w), b, a36); }
            { let b = subgroupBroadcast(w7, 0u); a07 = fma(vec4<f32>(xa0.x), b, a07); a17 = fma(vec4<f32>(xa1.x), b, a17); a27 = fma(vec4<f32>(xa2.x), b, a27); a37 = fma(vec4<f32>(xa3.x), b, a37); }
            { let b = subgroupBroadcast(w7, 1u); a07 = fma(vec4<f32>(xa0.y), b, a07); a17 = fma(vec4<f32>(xa1.y), b, a17); a27 = fma(vec4<f32>(xa2.y), b, a27); a37 = fma(vec4<f32>(xa3.y), b, a37); }
            { let b = subgroupBroadcast(w7, 2u); a07 = fma(vec4<f32>(xa0.z), b, a07); a17 = fma(vec4<f32>(xa1.z), b, a17); a27 = fma(vec4<f32>(xa2.z), b, a27); a37 = fma(vec4<f32>(xa3.z), b, a37); }
            { let b = subgroupBroadcast(w7, 3u); a07 = fma(vec4<f32>(xa0.w), b, a07); a17 = fma(vec4<f32>(xa1.w), b, a17); a27 = fma(vec4<f32>(xa2.w), b, a27); a37 = fma(vec4<f32>(xa3.w), b, a37); }
            { let b = subgroupBroadcast(w7, 4u); a07 = fma(vec4<f32>(xb0.x), b, a07); a17 = fma(vec4<f32>(xb1.x), b, a17); a27 = fma(vec4<f32>(xb2.x), b, a27); a37 = fma(vec4<f32>(xb3.x), b, a37); }
            { let b = subgroupBroadcast(w7, 5u); a07 = fma(vec4<f32>(xb0.y), b, a07); a17 = fma(vec4<f32>(xb1.y), b, a17); a27 = fma(vec4<f32>(xb2.y), b, a27); a37 = fma(vec4<f32>(xb3.y), b, a37); }
            { let b = subgroupBroadcast(w7, 6u); a07 = fma(vec4<f32>(xb0.z), b, a07); a17 = fma(vec4<f32>(xb1.z), b, a17); a27 = fma(vec4<f32>(xb2.z), b, a27); a37 = fma(vec4<f32>(xb3.z), b, a37); }
            { let b = subgroupBroadcast(w7, 7u); a07 = fma(vec4<f32>(xb0.w), b, a07); a17 = fma(vec4<f32>(xb1.w), b, a17); a27 = fma(vec4<f32>(xb2.w), b, a27); a37 = fma(vec4<f32>(xb3.w), b, a37); }
        }
    }
    let co0 = wk.x * 32u;
    if (co0 + 0u < p.cout) {
        let e = epi(co0 + 0u);
        store4(co0 + 0u, a00, e, q0); store4(co0 + 0u, a10, e, q1); store4(co0 + 0u, a20, e, q2); store4(co0 + 0u, a30, e, q3);
    }
    if (co0 + 4u < p.cout) {
        let e = epi(co0 + 4u);
        store4(co0 + 4u, a01, e, q0); store4(co0 + 4u, a11, e, q1); store4(co0 + 4u, a21, e, q2); store4(co0 + 4u, a31, e, q3);
    }
    if (co0 + 8u < p.cout) {
        let e = epi(co0 + 8u);
        store4(co0 + 8u, a02, e, q0); store4(co0 + 8u, a12, e, q1); store4(co0 + 8u, a22, e, q2); store4(co0 + 8u, a32, e, q3);
    }
    if (co0 + 12u < p.cout) {
        let e = epi(co0 + 12u);
        store4(co0 + 12u, a03, e, q0); store4(co0 + 12u, a13, e, q1); store4(co0 + 12u, a23, e, q2); store4(co0 + 12u, a33, e, q3);
    }
    if (co0 + 16u < p.cout) {
        let e = epi(co0 + 16u);
        store4(co0 + 16u, a04, e, q0); store4(co0 + 16u, a14, e, q1); store4(co0 + 16u, a24, e, q2); store4(co0 + 16u, a34, e, q3);
    }
    if (co0 + 20u < p.cout) {
        let e = epi(co0 + 20u);
        store4(co0 + 20u, a05, e, q0); store4(co0 + 20u, a15, e, q1); store4(co0 + 20u, a25, e, q2); store4(co0 + 20u, a35, e, q3);
    }
    if (co0 + 24u < p.cout) {
        let e = epi(co0 + 24u);
        store4(co0 + 24u, a06, e, q0); store4(co0 + 24u, a16, e, q1); store4(co0 + 24u, a26, e, q2); store4(co0 + 24u, a36, e, q3);
    }
    if (co0 + 28u < p.cout) {
        let e = epi(co0 + 28u);
        store4(co0 + 28u, a07, e, q0); store4(co0 + 28u, a17, e, q1); store4(co0 + 28u, a27, e, q2); store4(co0 + 28u, a37, e, q3);
    }
}

@compute @workgroup_size(64)
fn forward_sg16(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) lane: u32) {
    let wk = work(wg, nwg, 16u, 256u);
    if (wk.x * 16u >= p.cout) { return; } // past the end: the whole workgroup (uniform)
    let q0 = pixel(wk.y + li + 0u); let q1 = pixel(wk.y + li + 64u); let q2 = pixel(wk.y + li + 128u); let q3 = pixel(wk.y + li + 192u);
    let nv = p.cout_pad / 4u;
    let v0 = wk.x * 4u;
    let rows = p.cin + p.edge;
    let r = lane % 8u;
    let half = i32(p.k / 2u);
    let z = vec4<f32>(0.0);
    var a00 = z; var a01 = z; var a02 = z; var a03 = z;
    var a10 = z; var a11 = z; var a12 = z; var a13 = z;
    var a20 = z; var a21 = z; var a22 = z; var a23 = z;
    var a30 = z; var a31 = z; var a32 = z; var a33 = z;
    for (var t = 0u; t < p.k * p.k; t++) {
        let dy = i32(t / p.k) - half;
        let dx = i32(t % p.k) - half;
        let t0 = tap(q0, dy, dx); let t1 = tap(q1, dy, dx); let t2 = tap(q2, dy, dx); let t3 = tap(q3, dy, dx);
        let wrow = (t * rows + r) * nv + v0; // the lane's row in the tap's first block
        var kb = 0u;
        for (; kb + 8u <= p.cin; kb += 8u) { // blocks of 8 input channels
            let o0 = t0.o + kb;
            let xa0 = select(z, vec4<f32>(x[o0], x[o0 + 1u], x[o0 + 2u], x[o0 + 3u]), t0.ok);
            let xb0 = select(z, vec4<f32>(x[o0 + 4u], x[o0 + 5u], x[o0 + 6u], x[o0 + 7u]), t0.ok);
            let o1 = t1.o + kb;
            let xa1 = select(z, vec4<f32>(x[o1], x[o1 + 1u], x[o1 + 2u], x[o1 + 3u]), t1.ok);
            let xb1 = select(z, vec4<f32>(x[o1 + 4u], x[o1 + 5u], x[o1 + 6u], x[o1 + 7u]), t1.ok);
            let o2 = t2.o + kb;
            let xa2 = select(z, vec4<f32>(x[o2], x[o2 + 1u], x[o2 + 2u], x[o2 + 3u]), t2.ok);
            let xb2 = select(z, vec4<f32>(x[o2 + 4u], x[o2 + 5u], x[o2 + 6u], x[o2 + 7u]), t2.ok);
            let o3 = t3.o + kb;
            let xa3 = select(z, vec4<f32>(x[o3], x[o3 + 1u], x[o3 + 2u], x[o3 + 3u]), t3.ok);
            let xb3 = select(z, vec4<f32>(x[o3 + 4u], x[o3 + 5u], x[o3 + 6u], x[o3 + 7u]), t3.ok);
            let wi = wrow + kb * nv;
            let w0 = wt[wi + 0u];
            let w1 = wt[wi + 1u];
            let w2 = wt[wi + 2u];
            let w3 = wt[wi + 3u];
            { let b = subgroupBroadcast(w0, 0u); a00 = fma(vec4<f32>(xa0.x), b, a00); a10 = fma(vec4<f32>(xa1.x), b, a10); a20 = fma(vec4<f32>(xa2.x), b, a20); a30 = fma(vec4<f32>(xa3.x), b, a30); }
            { let b = subgroupBroadcast(w0, 1u); a00 = fma(vec4<f32>(xa0.y), b, a00); a10 = fma(vec4<f32>(xa1.y), b, a10); a20 = fma(vec4<f32>(xa2.y), b, a20); a30 = fma(vec4<f32>(xa3.y), b, a30); }
            { let b = subgroupBroadcast(w0, 2u); a00 = fma(vec4<f32>(xa0.z), b, a00); a10 = fma(vec4<f32>(xa1.z), b, a10); a20 = fma(vec4<f32>(xa2.z), b, a20); a30 = fma(vec4<f32>(xa3.z), b, a30); }
            { let b = subgroupBroadcast(w0, 3u); a00 = fma(vec4<f32>(xa0.w), b, a00); a10 = fma(vec4<f32>(xa1.w), b, a10); a20 = fma(vec4<f32>(xa2.w), b, a20); a30 = fma(vec4<f32>(xa3.w), b, a30); }
            { let b = subgroupBroadcast(w0, 4u); a00 = fma(vec4<f32>(xb0.x), b, a00); a10 = fma(vec4<f32>(xb1.x), b, a10); a20 = fma(vec4<f32>(xb2.x), b, a20); a30 = fma(vec4<f32>(xb3.x), b, a30); }
            { let b = subgroupBroadcast(w0, 5u); a00 = fma(vec4<f32>(xb0.y), b, a00); a10 = fma(vec4<f32>(xb1.y), b, a10); a20 = fma(vec4<f32>(xb2.y), b, a20); a30 = fma(vec4<f32>(xb3.y), b, a30); }
            { let b = subgroupBroadcast(w0, 6u); a00 = fma(vec4<f32>(xb0.z), b, a00); a10 = fma(vec4<f32>(xb1.z), b, a10); a20 = fma(vec4<f32>(xb2.z), b, a20); a30 = fma(vec4<f32>(xb3.z), b, a30); }
            { let b = subgroupBroadcast(w0, 7u); a00 = fma(vec4<f32>(xb0.w), b, a00); a10 = fma(vec4<f32>(xb1.w), b, a10); a20 = fma(vec4<f32>(xb2.w), b, a20); a30 = fma(vec4<f32>(xb3.w), b, a30); }
            { let b = subgroupBroadcast(w1, 0u); a01 = fma(vec4<f32>(xa0.x), b, a01); a11 = fma(vec4<f32>(xa1.x), b, a11); a21 = fma(vec4<f32>(xa2.x), b, a21); a31 = fma(vec4<f32>(xa3.x), b, a31); }
            { let b = subgroupBroadcast(w1, 1u); a01 = fma(vec4<f32>(xa0.y), b, a01); a11 = fma(vec4<f32>(xa1.y), b, a11); a21 = fma(vec4<f32>(xa2.y), b, a21); a31 = fma(vec4<f32>(xa3.y), b, a31); }
            { let b = subgroupBroadcast(w1, 2u); a01 = fma(vec4<f32>(xa0.z), b, a01); a11 = fma(vec4<f32>(xa1.z), b, a11); a21 = fma(vec4<f32>(xa2.z), b, a21); a31 = fma(vec4<f32>(xa3.z), b, a31); }
            { let b = subgroupBroadcast(w1, 3u); a01 = fma(vec4<f32>(xa0.w), b, a01); a11 = fma(vec4<f32>(xa1.w), b, a11); a21 = fma(vec4<f32>(xa2.w), b, a21); a31 = fma(vec4<f32>(xa3.w), b, a31); }
            { let b = subgroupBroadcast(w1, 4u); a01 = fma(vec4<f32>(xb0.x), b, a01); a11 = fma(vec4<f32>(xb1.x), b, a11); a21 = fma(vec4<f32>(xb2.x), b, a21); a31 = fma(vec4<f32>(xb3.x), b, a31); }
            { let b = subgroupBroadcast(w1, 5u); a01 = fma(vec4<f32>(xb0.y), b, a01); a11 = fma(vec4<f32>(xb1.y), b, a11); a21 = fma(vec4<f32>(xb2.y), b, a21); a31 = fma(vec4<f32>(xb3.y), b, a31); }
            { let b = subgroupBroadcast(w1, 6u); a01 = fma(vec4<f32>(xb0.z), b, a01); a11 = fma(vec4<f32>(xb1.z), b, a11); a21 = fma(vec4<f32>(xb2.z), b, a21); a31 = fma(vec4<f32>(xb3.z), b, a31); }
            { let b = subgroupBroadcast(w1, 7u); a01 = fma(vec4<f32>(xb0.w), b, a01); a11 = fma(vec4<f32>(xb1.w), b, a11); a21 = fma(vec4<f32>(xb2.w), b, a21); a31 = fma(vec4<f32>(xb3.w), b, a31); }
            { let b = subgroupBroadcast(w2, 0u); a02 = fma(vec4<f32>(xa0.x), b, a02); a12 = fma(vec4<f32>(xa1.x), b, a12); a22 = fma(vec4<f32>(xa2.x), b, a22); a32 = fma(vec4<f32>(xa3.x), b, a32); }
            { let b = subgroupBroadcast(w2, 1u); a02 = fma(vec4<f32>(xa0.y), b, a02); a12 = fma(vec4<f32>(xa1.y), b, a12); a22 = fma(vec4<f32>(xa2.y), b, a22); a32 = fma(vec4<f32>(xa3.y), b, a32); }
            { let b = subgroupBroadcast(w2, 2u); a02 = fma(vec4<f32>(xa0.z), b, a02); a12 = fma(vec4<f32>(xa1.z), b, a12); a22 = fma(vec4<f32>(xa2.z), b, a22); a32 = fma(vec4<f32>(xa3.z), b, a32); }
            { let b = subgroupBroadcast(w2, 3u); a02 = fma(vec4<f32>(xa0.w), b, a02); a12 = fma(vec4<f32>(xa1.w), b, a12); a22 = fma(vec4<f32>(xa2.w), b, a22); a32 = fma(vec4<f32>(xa3.w), b, a32); }
            { let b = subgroupBroadcast(w2, 4u); a02 = fma(vec4<f32>(xb0.x), b, a02); a12 = fma(vec4<f32>(xb1.x), b, a12); a22 = fma(vec4<f32>(xb2.x), b, a22); a32 = fma(vec4<f32>(xb3.x), b, a32); }
            { let b = subgroupBroadcast(w2, 5u); a02 = fma(vec4<f32>(xb0.y), b, a02); a12 = fma(vec4<f32>(xb1.y), b, a12); a22 = fma(vec4<f32>(xb2.y), b, a22); a32 = fma(vec4<f32>(xb3.y), b, a32); }
            { let b = subgroupBroadcast(w2, 6u); a02 = fma(vec4<f32>(xb0.z), b, a02); a12 = fma(vec4<f32>(xb1.z), b, a12); a22 = fma(vec4<f32>(xb2.z), b, a22); a32 = fma(vec4<f32>(xb3.z), b, a32); }
            { let b = subgroupBroadcast(w2, 7u); a02 = fma(vec4<f32>(xb0.w), b, a02); a12 = fma(vec4<f32>(xb1.w), b, a12); a22 = fma(vec4<f32>(xb2.w), b, a22); a32 = fma(vec4<f32>(xb3.w), b, a32); }
            { let b = subgroupBroadcast(w3, 0u); a03 = fma(vec4<f32>(xa0.x), b, a03); a13 = fma(vec4<f32>(xa1.x), b, a13); a23 = fma(vec4<f32>(xa2.x), b, a23); a33 = fma(vec4<f32>(xa3.x), b, a33); }
            { let b = subgroupBroadcast(w3, 1u); a03 = fma(vec4<f32>(xa0.y), b, a03); a13 = fma(vec4<f32>(xa1.y), b, a13); a23 = fma(vec4<f32>(xa2.y), b, a23); a33 = fma(vec4<f32>(xa3.y), b, a33); }
            { let b = subgroupBroadcast(w3, 2u); a03 = fma(vec4<f32>(xa0.z), b, a03); a13 = fma(vec4<f32>(xa1.z), b, a13); a23 = fma(vec4<f32>(xa2.z), b, a23); a33 = fma(vec4<f32>(xa3.z), b, a33); }
            { let b = subgroupBroadcast(w3, 3u); a03 = fma(vec4<f32>(xa0.w), b, a03); a13 = fma(vec4<f32>(xa1.w), b, a13); a23 = fma(vec4<f32>(xa2.w), b, a23); a33 = fma(vec4<f32>(xa3.w), b, a33); }
            { let b = subgroupBroadcast(w3, 4u); a03 = fma(vec4<f32>(xb0.x), b, a03); a13 = fma(vec4<f32>(xb1.x), b, a13); a23 = fma(vec4<f32>(xb2.x), b, a23); a33 = fma(vec4<f32>(xb3.x), b, a33); }
            { let b = subgroupBroadcast(w3, 5u); a03 = fma(vec4<f32>(xb0.y), b, a03); a13 = fma(vec4<f32>(xb1.y), b, a13); a23 = fma(vec4<f32>(xb2.y), b, a23); a33 = fma(vec4<f32>(xb3.y), b, a33); }
            { let b = subgroupBroadcast(w3, 6u); a03 = fma(vec4<f32>(xb0.z), b, a03); a13 = fma(vec4<f32>(xb1.z), b, a13); a23 = fma(vec4<f32>(xb2.z), b, a23); a33 = fma(vec4<f32>(xb3.z), b, a33); }
            { let b = subgroupBroadcast(w3, 7u); a03 = fma(vec4<f32>(xb0.w), b, a03); a13 = fma(vec4<f32>(xb1.w), b, a13); a23 = fma(vec4<f32>(xb2.w), b, a23); a33 = fma(vec4<f32>(xb3.w), b, a33); }
        }
        for (; kb < rows; kb += 8u) { // the last input channels and the edge row (runs at most once)
            let xa0 = vec4<f32>(tail_x(t0, kb + 0u), tail_x(t0, kb + 1u), tail_x(t0, kb + 2u), tail_x(t0, kb + 3u));
            let xb0 = vec4<f32>(tail_x(t0, kb + 4u), tail_x(t0, kb + 5u), tail_x(t0, kb + 6u), tail_x(t0, kb + 7u));
            let xa1 = vec4<f32>(tail_x(t1, kb + 0u), tail_x(t1, kb + 1u), tail_x(t1, kb + 2u), tail_x(t1, kb + 3u));
            let xb1 = vec4<f32>(tail_x(t1, kb + 4u), tail_x(t1, kb + 5u), tail_x(t1, kb + 6u), tail_x(t1, kb + 7u));
            let xa2 = vec4<f32>(tail_x(t2, kb + 0u), tail_x(t2, kb + 1u), tail_x(t2, kb + 2u), tail_x(t2, kb + 3u));
            let xb2 = vec4<f32>(tail_x(t2, kb + 4u), tail_x(t2, kb + 5u), tail_x(t2, kb + 6u), tail_x(t2, kb + 7u));
            let xa3 = vec4<f32>(tail_x(t3, kb + 0u), tail_x(t3, kb + 1u), tail_x(t3, kb + 2u), tail_x(t3, kb + 3u));
            let xb3 = vec4<f32>(tail_x(t3, kb + 4u), tail_x(t3, kb + 5u), tail_x(t3, kb + 6u), tail_x(t3, kb + 7u));
            let wi = wrow + kb * nv;
            let ok = kb + r < rows; // the lane's row exists
            let w0 = select(z, wt[wi + 0u], ok);
            let w1 = select(z, wt[wi + 1u], ok);
            let w2 = select(z, wt[wi + 2u], ok);
            let w3 = select(z, wt[wi + 3u], ok);
            { let b = subgroupBroadcast(w0, 0u); a00 = fma(vec4<f32>(xa0.x), b, a00); a10 = fma(vec4<f32>(xa1.x), b, a10); a20 = fma(vec4<f32>(xa2.x), b, a20); a30 = fma(vec4<f32>(xa3.x), b, a30); }
            { let b = subgroupBroadcast(w0, 1u); a00 = fma(vec4<f32>(xa0.y), b, a00); a10 = fma(vec4<f32>(xa1.y), b, a10); a20 = fma(vec4<f32>(xa2.y), b, a20); a30 = fma(vec4<f32>(xa3.y), b, a30); }
            { let b = subgroupBroadcast(w0, 2u); a00 = fma(vec4<f32>(xa0.z), b, a00); a10 = fma(vec4<f32>(xa1.z), b, a10); a20 = fma(vec4<f32>(xa2.z), b, a20); a30 = fma(vec4<f32>(xa3.z), b, a30); }
            { let b = subgroupBroadcast(w0, 3u); a00 = fma(vec4<f32>(xa0.w), b, a00); a10 = fma(vec4<f32>(xa1.w), b, a10); a20 = fma(vec4<f32>(xa2.w), b, a20); a30 = fma(vec4<f32>(xa3.w), b, a30); }
            { let b = subgroupBroadcast(w0, 4u); a00 = fma(vec4<f32>(xb0.x), b, a00); a10 = fma(vec4<f32>(xb1.x), b, a10); a20 = fma(vec4<f32>(xb2.x), b, a20); a30 = fma(vec4<f32>(xb3.x), b, a30); }
            { let b = subgroupBroadcast(w0, 5u); a00 = fma(vec4<f32>(xb0.y), b, a00); a10 = fma(vec4<f32>(xb1.y), b, a10); a20 = fma(vec4<f32>(xb2.y), b, a20); a30 = fma(vec4<f32>(xb3.y), b, a30); }
            { let b = subgroupBroadcast(w0, 6u); a00 = fma(vec4<f32>(xb0.z), b, a00); a10 = fma(vec4<f32>(xb1.z), b, a10); a20 = fma(vec4<f32>(xb2.z), b, a20); a30 = fma(vec4<f32>(xb3.z), b, a30); }
            { let b = subgroupBroadcast(w0, 7u); a00 = fma(vec4<f32>(xb0.w), b, a00); a10 = fma(vec4<f32>(xb1.w), b, a10); a20 = fma(vec4<f32>(xb2.w), b, a20); a30 = fma(vec4<f32>(xb3.w), b, a30); }
            { let b = subgroupBroadcast(w1, 0u); a01 = fma(vec4<f32>(xa0.x), b, a01); a11 = fma(vec4<f32>(xa1.x), b, a11); a21 = fma(vec4<f32>(xa2.x), b, a21); a31 = fma(vec4<f32>(xa3.x), b, a31); }
            { let b = subgroupBroadcast(w1, 1u); a01 = fma(vec4<f32>(xa0.y), b, a01); a11 = fma(vec4<f32>(xa1.y), b, a11); a21 = fma(vec4<f32>(xa2.y), b, a21); a31 = fma(vec4<f32>(xa3.y), b, a31); }
            { let b = subgroupBroadcast(w1, 2u); a01 = fma(vec4<f32>(xa0.z), b, a01); a11 = fma(vec4<f32>(xa1.z), b, a11); a21 = fma(vec4<f32>(xa2.z), b, a21); a31 = fma(vec4<f32>(xa3.z), b, a31); }
            { let b = subgroupBroadcast(w1, 3u); a01 = fma(vec4<f32>(xa0.w), b, a01); a11 = fma(vec4<f32>(xa1.w), b, a11); a21 = fma(vec4<f32>(xa2.w), b, a21); a31 = fma(vec4<f32>(xa3.w), b, a31); }
            { let b = subgroupBroadcast(w1, 4u); a01 = fma(vec4<f32>(xb0.x), b, a01); a11 = fma(vec4<f32>(xb1.x), b, a11); a21 = fma(vec4<f32>(xb2.x), b, a21); a31 = fma(vec4<f32>(xb3.x), b, a31); }
            { let b = subgroupBroadcast(w1, 5u); a01 = fma(vec4<f32>(xb0.y), b, a01); a11 = fma(vec4<f32>(xb1.y), b, a11); a21 = fma(vec4<f32>(xb2.y), b, a21); a31 = fma(vec4<f32>(xb3.y), b, a31); }
            { let b = subgroupBroadcast(w1, 6u); a01 = fma(vec4<f32>(xb0.z), b, a01); a11 = fma(vec4<f32>(xb1.z), b, a11); a21 = fma(vec4<f32>(xb2.z), b, a21); a31 = fma(vec4<f32>(xb3.z), b, a31); }
            { let b = subgroupBroadcast(w1, 7u); a01 = fma(vec4<f32>(xb0.w), b, a01); a11 = fma(vec4<f32>(xb1.w), b, a11); a21 = fma(vec4<f32>(xb2.w), b, a21); a31 = fma(vec4<f32>(xb3.w), b, a31); }
            { let b = subgroupBroadcast(w2, 0u); a02 = fma(vec4<f32>(xa0.x), b, a02); a12 = fma(vec4<f32>(xa1.x), b, a12); a22 = fma(vec4<f32>(xa2.x), b, a22); a32 = fma(vec4<f32>(xa3.x), b, a32); }
            { let b = subgroupBroadcast(w2, 1u); a02 = fma(vec4<f32>(xa0.y), b, a02); a12 = fma(vec4<f32>(xa1.y), b, a12); a22 = fma(vec4<f32>(xa2.y), b, a22); a32 = fma(vec4<f32>(xa3.y), b, a32); }
            { let b = subgroupBroadcast(w2, 2u); a02 = fma(vec4<f32>(xa0.z), b, a02); a12 = fma(vec4<f32>(xa1.z), b, a12); a22 = fma(vec4<f32>(xa2.z), b, a22); a32 = fma(vec4<f32>(xa3.z), b, a32); }
            { let b = subgroupBroadcast(w2, 3u); a02 = fma(vec4<f32>(xa0.w), b, a02); a12 = fma(vec4<f32>(xa1.w), b, a12); a22 = fma(vec4<f32>(xa2.w), b, a22); a32 = fma(vec4<f32>(xa3.w), b, a32); }
            { let b = subgroupBroadcast(w2, 4u); a02 = fma(vec4<f32>(xb0.x), b, a02); a12 = fma(vec4<f32>(xb1.x), b, a12); a22 = fma(vec4<f32>(xb2.x), b, a22); a32 = fma(vec4<f32>(xb3.x), b, a32); }
            { let b = subgroupBroadcast(w2, 5u); a02 = fma(vec4<f32>(xb0.y), b, a02); a12 = fma(vec4<f32>(xb1.y), b, a12); a22 = fma(vec4<f32>(xb2.y), b, a22); a32 = fma(vec4<f32>(xb3.y), b, a32); }
            { let b = subgroupBroadcast(w2, 6u); a02 = fma(vec4<f32>(xb0.z), b, a02); a12 = fma(vec4<f32>(xb1.z), b, a12); a22 = fma(vec4<f32>(xb2.z), b, a22); a32 = fma(vec4<f32>(xb3.z), b, a32); }
            { let b = subgroupBroadcast(w2, 7u); a02 = fma(vec4<f32>(xb0.w), b, a02); a12 = fma(vec4<f32>(xb1.w), b, a12); a22 = fma(vec4<f32>(xb2.w), b, a22); a32 = fma(vec4<f32>(xb3.w), b, a32); }
            { let b = subgroupBroadcast(w3, 0u); a03 = fma(vec4<f32>(xa0.x), b, a03); a13 = fma(vec4<f32>(xa1.x), b, a13); a23 = fma(vec4<f32>(xa2.x), b, a23); a33 = fma(vec4<f32>(xa3.x), b, a33); }
            { let b = subgroupBroadcast(w3, 1u); a03 = fma(vec4<f32>(xa0.y), b, a03); a13 = fma(vec4<f32>(xa1.y), b, a13); a23 = fma(vec4<f32>(xa2.y), b, a23); a33 = fma(vec4<f32>(xa3.y), b, a33); }
            { let b = subgroupBroadcast(w3, 2u); a03 = fma(vec4<f32>(xa0.z), b, a03); a13 = fma(vec4<f32>(xa1.z), b, a13); a23 = fma(vec4<f32>(xa2.z), b, a23); a33 = fma(vec4<f32>(xa3.z), b, a33); }
            { let b = subgroupBroadcast(w3, 3u); a03 = fma(vec4<f32>(xa0.w), b, a03); a13 = fma(vec4<f32>(xa1.w), b, a13); a23 = fma(vec4<f32>(xa2.w), b, a23); a33 = fma(vec4<f32>(xa3.w), b, a33); }
            { let b = subgroupBroadcast(w3, 4u); a03 = fma(vec4<f32>(xb0.x), b, a03); a13 = fma(vec4<f32>(xb1.x), b, a13); a23 = fma(vec4<f32>(xb2.x), b, a23); a33 = fma(vec4<f32>(xb3.x), b, a33); }
            { let b = subgroupBroadcast(w3, 5u); a03 = fma(vec4<f32>(xb0.y), b, a03); a13 = fma(vec4<f32>(xb1.y), b, a13); a23 = fma(vec4<f32>(xb2.y), b, a23); a33 = fma(vec4<f32>(xb3.y), b, a33); }
            { let b = subgroupBroadcast(w3, 6u); a03 = fma(vec4<f32>(xb0.z), b, a03); a13 = fma(vec4<f32>(xb1.z), b, a13); a23 = fma(vec4<f32>(xb2.z), b, a23); a33 = fma(vec4<f32>(xb3.z), b, a33); }
            { let b = subgroupBroadcast(w3, 7u); a03 = fma(vec4<f32>(xb0.w), b, a03); a13 = fma(vec4<f32>(xb1.w), b, a13); a23 = fma(vec4<f32>(xb2.w), b, a23); a33 = fma(vec4<f32>(xb3.w), b, a33); }
        }
    }
    let co0 = wk.x * 16u;
    if (co0 + 0u < p.cout) {
        let e = epi(co0 + 0u);
        store4(co0 + 0u, a00, e, q0); store4(co0 + 0u, a10, e, q1); store4(co0 + 0u, a20, e, q2); store4(co0 + 0u, a30, e, q3);
    }
    if (co0 + 4u < p.cout) {
        let e = epi(co0 + 4u);
        store4(co0 + 4u, a01, e, q0); store4(co0 + 4u, a11, e, q1); store4(co0 + 4u, a21, e, q2); store4(co0 + 4u, a31, e, q3);
    }
    if (co0 + 8u < p.cout) {
        let e = epi(co0 + 8u);
        store4(co0 + 8u, a02, e, q0); store4(co0 + 8u, a12, e, q1); store4(co0 + 8u, a22, e, q2); store4(co0 + 8u, a32, e, q3);
    }
    if (co0 + 12u < p.cout) {
        let e = epi(co0 + 12u);
        store4(co0 + 12u, a03, e, q0); store4(co0 + 12u, a13, e, q1); store4(co0 + 12u, a23, e, q2); store4(co0 + 12u, a33, e, q3);
    }
}

@compute @workgroup_size(64)
fn forward_sg16_v4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) lane: u32) {
    let wk = work(wg, nwg, 16u, 256u);
    if (wk.x * 16u >= p.cout) { return; } // past the end: the whole workgroup (uniform)
    let q0 = pixel(wk.y + li + 0u); let q1 = pixel(wk.y + li + 64u); let q2 = pixel(wk.y + li + 128u); let q3 = pixel(wk.y + li + 192u);
    let nv = p.cout_pad / 4u;
    let v0 = wk.x * 4u;
    let rows = p.cin + p.edge;
    let r = lane % 8u;
    let half = i32(p.k / 2u);
    let z = vec4<f32>(0.0);
    var a00 = z; var a01 = z; var a02 = z; var a03 = z;
    var a10 = z; var a11 = z; var a12 = z; var a13 = z;
    var a20 = z; var a21 = z; var a22 = z; var a23 = z;
    var a30 = z; var a31 = z; var a32 = z; var a33 = z;
    for (var t = 0u; t < p.k * p.k; t++) {
        let dy = i32(t / p.k) - half;
        let dx = i32(t % p.k) - half;
        let t0 = tap(q0, dy, dx); let t1 = tap(q1, dy, dx); let t2 = tap(q2, dy, dx); let t3 = tap(q3, dy, dx);
        let wrow = (t * rows + r) * nv + v0; // the lane's row in the tap's first block
        var kb = 0u;
        for (; kb + 8u <= p.cin; kb += 8u) { // blocks of 8 input channels
            let o0 = (t0.o + kb) / 4u;
            let xa0 = select(z, x4[o0], t0.ok); let xb0 = select(z, x4[o0 + 1u], t0.ok);
            let o1 = (t1.o + kb) / 4u;
            let xa1 = select(z, x4[o1], t1.ok); let xb1 = select(z, x4[o1 + 1u], t1.ok);
            let o2 = (t2.o + kb) / 4u;
            let xa2 = select(z, x4[o2], t2.ok); let xb2 = select(z, x4[o2 + 1u], t2.ok);
            let o3 = (t3.o + kb) / 4u;
            let xa3 = select(z, x4[o3], t3.ok); let xb3 = select(z, x4[o3 + 1u], t3.ok);
            let wi = wrow + kb * nv;
            let w0 = wt[wi + 0u];
            let w1 = wt[wi + 1u];
            let w2 = wt[wi + 2u];
            let w3 = wt[wi + 3u];
            { let b = subgroupBroadcast(w0, 0u); a00 = fma(vec4<f32>(xa0.x), b, a00); a10 = fma(vec4<f32>(xa1.x), b, a10); a20 = fma(vec4<f32>(xa2.x), b, a20); a30 = fma(vec4<f32>(xa3.x), b, a30); }
            { let b = subgroupBroadcast(w0, 1u); a00 = fma(vec4<f32>(xa0.y), b, a00); a10 = fma(vec4<f32>(xa1.y), b, a10); a20 = fma(vec4<f32>(xa2.y), b, a20); a30 = fma(vec4<f32>(xa3.y), b, a30); }
            { let b = subgroupBroadcast(w0, 2u); a00 = fma(vec4<f32>(xa0.z), b, a00); a10 = fma(vec4<f32>(xa1.z), b, a10); a20 = fma(vec4<f32>(xa2.z), b, a20); a30 = fma(vec4<f32>(xa3.z), b, a30); }
            { let b = subgroupBroadcast(w0, 3u); a00 = fma(vec4<f32>(xa0.w), b, a00); a10 = fma(vec4<f32>(xa1.w), b, a10); a20 = fma(vec4<f32>(xa2.w), b, a20); a30 = fma(vec4<f32>(xa3.w), b, a30); }
            { let b = subgroupBroadcast(w0, 4u); a00 = fma(vec4<f32>(xb0.x), b, a00); a10 = fma(vec4<f32>(xb1.x), b, a10); a20 = fma(vec4<f32>(xb2.x), b, a20); a30 = fma(vec4<f32>(xb3.x), b, a30); }
            { let b = subgroupBroadcast(w0, 5u); a00 = fma(vec4<f32>(xb0.y), b, a00); a10 = fma(vec4<f32>(xb1.y), b, a10); a20 = fma(vec4<f32>(xb2.y), b, a20); a30 = fma(vec4<f32>(xb3.y), b, a30); }
            { let b = subgroupBroadcast(w0, 6u); a00 = fma(vec4<f32>(xb0.z), b, a00); a10 = fma(vec4<f32>(xb1.z), b, a10); a20 = fma(vec4<f32>(xb2.z), b, a20); a30 = fma(vec4<f32>(xb3.z), b, a30); }
            { let b = subgroupBroadcast(w0, 7u); a00 = fma(vec4<f32>(xb0.w), b, a00); a10 = fma(vec4<f32>(xb1.w), b, a10); a20 = fma(vec4<f32>(xb2.w), b, a20); a30 = fma(vec4<f32>(xb3.w), b, a30); }
            { let b = subgroupBroadcast(w1, 0u); a01 = fma(vec4<f32>(xa0.x), b, a01); a11 = fma(vec4<f32>(xa1.x), b, a11); a21 = fma(vec4<f32>(xa2.x), b, a21); a31 = fma(vec4<f32>(xa3.x), b, a31); }
            { let b = subgroupBroadcast(w1, 1u); a01 = fma(vec4<f32>(xa0.y), b, a01); a11 = fma(vec4<f32>(xa1.y), b, a11); a21 = fma(vec4<f32>(xa2.y), b, a21); a31 = fma(vec4<f32>(xa3.y), b, a31); }
            { let b = subgroupBroadcast(w1, 2u); a01 = fma(vec4<f32>(xa0.z), b, a01); a11 = fma(vec4<f32>(xa1.z), b, a11); a21 = fma(vec4<f32>(xa2.z), b, a21); a31 = fma(vec4<f32>(xa3.z), b, a31); }
            { let b = subgroupBroadcast(w1, 3u); a01 = fma(vec4<f32>(xa0.w), b, a01); a11 = fma(vec4<f32>(xa1.w), b, a11); a21 = fma(vec4<f32>(xa2.w), b, a21); a31 = fma(vec4<f32>(xa3.w), b, a31); }
            { let b = subgroupBroadcast(w1, 4u); a01 = fma(vec4<f32>(xb0.x), b, a01); a11 = fma(vec4<f32>(xb1.x), b, a11); a21 = fma(vec4<f32>(xb2.x), b, a21); a31 = fma(vec4<f32>(xb3.x), b, a31); }
            { let b = subgroupBroadcast(w1, 5u); a01 = fma(vec4<f32>(xb0.y), b, a01); a11 = fma(vec4<f32>(xb1.y), b, a11); a21 = fma(vec4<f32>(xb2.y), b, a21); a31 = fma(vec4<f32>(xb3.y), b, a31); }
            { let b = subgroupBroadcast(w1, 6u); a01 = fma(vec4<f32>(xb0.z), b, a01); a11 = fma(vec4<f32>(xb1.z), b, a11); a21 = fma(vec4<f32>(xb2.z), b, a21); a31 = fma(vec4<f32>(xb3.z), b, a31); }
            { let b = subgroupBroadcast(w1, 7u); a01 = fma(vec4<f32>(xb0.w), b, a01); a11 = fma(vec4<f32>(xb1.w), b, a11); a21 = fma(vec4<f32>(xb2.w), b, a21); a31 = fma(vec4<f32>(xb3.w), b, a31); }
            { let b = subgroupBroadcast(w2, 0u); a02 = fma(vec4<f32>(xa0.x), b, a02); a12 = fma(vec4<f32>(xa1.x), b, a12); a22 = fma(vec4<f32>(xa2.x), b, a22); a32 = fma(vec4<f32>(xa3.x), b, a32); }
            { let b = subgroupBroadcast(w2, 1u); a02 = fma(vec4<f32>(xa0.y), b, a02); a12 = fma(vec4<f32>(xa1.y), b, a12); a22 = fma(vec4<f32>(xa2.y), b, a22); a32 = fma(vec4<f32>(xa3.y), b, a32); }
            { let b = subgroupBroadcast(w2, 2u); a02 = fma(vec4<f32>(xa0.z), b, a02); a12 = fma(vec4<f32>(xa1.z), b, a12); a22 = fma(vec4<f32>(xa2.z), b, a22); a32 = fma(vec4<f32>(xa3.z), b, a32); }
            { let b = subgroupBroadcast(w2, 3u); a02 = fma(vec4<f32>(xa0.w), b, a02); a12 = fma(vec4<f32>(xa1.w), b, a12); a22 = fma(vec4<f32>(xa2.w), b, a22); a32 = fma(vec4<f32>(xa3.w), b, a32); }
            { let b = subgroupBroadcast(w2, 4u); a02 = fma(vec4<f32>(xb0.x), b, a02); a12 = fma(vec4<f32>(xb1.x), b, a12); a22 = fma(vec4<f32>(xb2.x), b, a22); a32 = fma(vec4<f32>(xb3.x), b, a32); }
            { let b = subgroupBroadcast(w2, 5u); a02 = fma(vec4<f32>(xb0.y), b, a02); a12 = fma(vec4<f32>(xb1.y), b, a12); a22 = fma(vec4<f32>(xb2.y), b, a22); a32 = fma(vec4<f32>(xb3.y), b, a32); }
            { let b = subgroupBroadcast(w2, 6u); a02 = fma(vec4<f32>(xb0.z), b, a02); a12 = fma(vec4<f32>(xb1.z), b, a12); a22 = fma(vec4<f32>(xb2.z), b, a22); a32 = fma(vec4<f32>(xb3.z), b, a32); }
            { let b = subgroupBroadcast(w2, 7u); a02 = fma(vec4<f32>(xb0.w), b, a02); a12 = fma(vec4<f32>(xb1.w), b, a12); a22 = fma(vec4<f32>(xb2.w), b, a22); a32 = fma(vec4<f32>(xb3.w), b, a32); }
            { let b = subgroupBroadcast(w3, 0u); a03 = fma(vec4<f32>(xa0.x), b, a03); a13 = fma(vec4<f32>(xa1.x), b, a13); a23 = fma(vec4<f32>(xa2.x), b, a23); a33 = fma(vec4<f32>(xa3.x), b, a33); }
            { let b = subgroupBroadcast(w3, 1u); a03 = fma(vec4<f32>(xa0.y), b, a03); a13 = fma(vec4<f32>(xa1.y), b, a13); a23 = fma(vec4<f32>(xa2.y), b, a23); a33 = fma(vec4<f32>(xa3.y), b, a33); }
            { let b = subgroupBroadcast(w3, 2u); a03 = fma(vec4<f32>(xa0.z), b, a03); a13 = fma(vec4<f32>(xa1.z), b, a13); a23 = fma(vec4<f32>(xa2.z), b, a23); a33 = fma(vec4<f32>(xa3.z), b, a33); }
            { let b = subgroupBroadcast(w3, 3u); a03 = fma(vec4<f32>(xa0.w), b, a03); a13 = fma(vec4<f32>(xa1.w), b, a13); a23 = fma(vec4<f32>(xa2.w), b, a23); a33 = fma(vec4<f32>(xa3.w), b, a33); }
            { let b = subgroupBroadcast(w3, 4u); a03 = fma(vec4<f32>(xb0.x), b, a03); a13 = fma(vec4<f32>(xb1.x), b, a13); a23 = fma(vec4<f32>(xb2.x), b, a23); a33 = fma(vec4<f32>(xb3.x), b, a33); }
            { let b = subgroupBroadcast(w3, 5u); a03 = fma(vec4<f32>(xb0.y), b, a03); a13 = fma(vec4<f32>(xb1.y), b, a13); a23 = fma(vec4<f32>(xb2.y), b, a23); a33 = fma(vec4<f32>(xb3.y), b, a33); }
            { let b = subgroupBroadcast(w3, 6u); a03 = fma(vec4<f32>(xb0.z), b, a03); a13 = fma(vec4<f32>(xb1.z), b, a13); a23 = fma(vec4<f32>(xb2.z), b, a23); a33 = fma(vec4<f32>(xb3.z), b, a33); }
            { let b = subgroupBroadcast(w3, 7u); a03 = fma(vec4<f32>(xb0.w), b, a03); a13 = fma(vec4<f32>(xb1.w), b, a13); a23 = fma(vec4<f32>(xb2.w), b, a23); a33 = fma(vec4<f32>(xb3.w), b, a33); }
        }
        for (; kb < rows; kb += 8u) { // the last input channels and the edge row (runs at most once)
            let o0 = (t0.o + kb) / 4u;
            let xa0 = tail4(x4[o0], t0.ok, kb); let xb0 = tail4(x4[o0 + 1u], t0.ok, kb + 4u);
            let o1 = (t1.o + kb) / 4u;
            let xa1 = tail4(x4[o1], t1.ok, kb); let xb1 = tail4(x4[o1 + 1u], t1.ok, kb + 4u);
            let o2 = (t2.o + kb) / 4u;
            let xa2 = tail4(x4[o2], t2.ok, kb); let xb2 = tail4(x4[o2 + 1u], t2.ok, kb + 4u);
            let o3 = (t3.o + kb) / 4u;
            let xa3 = tail4(x4[o3], t3.ok, kb); let xb3 = tail4(x4[o3 + 1u], t3.ok, kb + 4u);
            let wi = wrow + kb * nv;
            let ok = kb + r < rows; // the lane's row exists
            let w0 = select(z, wt[wi + 0u], ok);
            let w1 = select(z, wt[wi + 1u], ok);
            let w2 = select(z, wt[wi + 2u], ok);
            let w3 = select(z, wt[wi + 3u], ok);
            { let b = subgroupBroadcast(w0, 0u); a00 = fma(vec4<f32>(xa0.x), b, a00); a10 = fma(vec4<f32>(xa1.x), b, a10); a20 = fma(vec4<f32>(xa2.x), b, a20); a30 = fma(vec4<f32>(xa3.x), b, a30); }
            { let b = subgroupBroadcast(w0, 1u); a00 = fma(vec4<f32>(xa0.y), b, a00); a10 = fma(vec4<f32>(xa1.y), b, a10); a20 = fma(vec4<f32>(xa2.y), b, a20); a30 = fma(vec4<f32>(xa3.y), b, a30); }
            { let b = subgroupBroadcast(w0, 2u); a00 = fma(vec4<f32>(xa0.z), b, a00); a10 = fma(vec4<f32>(xa1.z), b, a10); a20 = fma(vec4<f32>(xa2.z), b, a20); a30 = fma(vec4<f32>(xa3.z), b, a30); }
            { let b = subgroupBroadcast(w0, 3u); a00 = fma(vec4<f32>(xa0.w), b, a00); a10 = fma(vec4<f32>(xa1.w), b, a10); a20 = fma(vec4<f32>(xa2.w), b, a20); a30 = fma(vec4<f32>(xa3.w), b, a30); }
            { let b = subgroupBroadcast(w0, 4u); a00 = fma(vec4<f32>(xb0.x), b, a00); a10 = fma(vec4<f32>(xb1.x), b, a10); a20 = fma(vec4<f32>(xb2.x), b, a20); a30 = fma(vec4<f32>(xb3.x), b, a30); }
            { let b = subgroupBroadcast(w0, 5u); a00 = fma(vec4<f32>(xb0.y), b, a00); a10 = fma(vec4<f32>(xb1.y), b, a10); a20 = fma(vec4<f32>(xb2.y), b, a20); a30 = fma(vec4<f32>(xb3.y), b, a30); }
            { let b = subgroupBroadcast(w0, 6u); a00 = fma(vec4<f32>(xb0.z), b, a00); a10 = fma(vec4<f32>(xb1.z), b, a10); a20 = fma(vec4<f32>(xb2.z), b, a20); a30 = fma(vec4<f32>(xb3.z), b, a30); }
            { let b = subgroupBroadcast(w0, 7u); a00 = fma(vec4<f32>(xb0.w), b, a00); a10 = fma(vec4<f32>(xb1.w), b, a10); a20 = fma(vec4<f32>(xb2.w), b, a20); a30 = fma(vec4<f32>(xb3.w), b, a30); }
            { let b = subgroupBroadcast(w1, 0u); a01 = fma(vec4<f32>(xa0.x), b, a01); a11 = fma(vec4<f32>(xa1.x), b, a11); a21 = fma(vec4<f32>(xa2.x), b, a21); a31 = fma(vec4<f32>(xa3.x), b, a31); }
            { let b = subgroupBroadcast(w1, 1u); a01 = fma(vec4<f32>(xa0.y), b, a01); a11 = fma(vec4<f32>(xa1.y), b, a11); a21 = fma(vec4<f32>(xa2.y), b, a21); a31 = fma(vec4<f32>(xa3.y), b, a31); }
            { let b = subgroupBroadcast(w1, 2u); a01 = fma(vec4<f32>(xa0.z), b, a01); a11 = fma(vec4<f32>(xa1.z), b, a11); a21 = fma(vec4<f32>(xa2.z), b, a21); a31 = fma(vec4<f32>(xa3.z), b, a31); }
            { let b = subgroupBroadcast(w1, 3u); a01 = fma(vec4<f32>(xa0.w), b, a01); a11 = fma(vec4<f32>(xa1.w), b, a11); a21 = fma(vec4<f32>(xa2.w), b, a21); a31 = fma(vec4<f32>(xa3.w), b, a31); }
            { let b = subgroupBroadcast(w1, 4u); a01 = fma(vec4<f32>(xb0.x), b, a01); a11 = fma(vec4<f32>(xb1.x), b, a11); a21 = fma(vec4<f32>(xb2.x), b, a21); a31 = fma(vec4<f32>(xb3.x), b, a31); }
            { let b = subgroupBroadcast(w1, 5u); a01 = fma(vec4<f32>(xb0.y), b, a01); a11 = fma(vec4<f32>(xb1.y), b, a11); a21 = fma(vec4<f32>(xb2.y), b, a21); a31 = fma(vec4<f32>(xb3.y), b, a31); }
            { let b = subgroupBroadcast(w1, 6u); a01 = fma(vec4<f32>(xb0.z), b, a01); a11 = fma(vec4<f32>(xb1.z), b, a11); a21 = fma(vec4<f32>(xb2.z), b, a21); a31 = fma(vec4<f32>(xb3.z), b, a31); }
            { let b = subgroupBroadcast(w1, 7u); a01 = fma(vec4<f32>(xb0.w), b, a01); a11 = fma(vec4<f32>(xb1.w), b, a11); a21 = fma(vec4<f32>(xb2.w), b, a21); a31 = fma(vec4<f32>(xb3.w), b, a31); }
            { let b = subgroupBroadcast(w2, 0u); a02 = fma(vec4<f32>(xa0.x), b, a02); a12 = fma(vec4<f32>(xa1.x), b, a12); a22 = fma(vec4<f32>(xa2.x), b, a22); a32 = fma(vec4<f32>(xa3.x), b, a32); }
            { let b = subgroupBroadcast(w2, 1u); a02 = fma(vec4<f32>(xa0.y), b, a02); a12 = fma(vec4<f32>(xa1.y), b, a12); a22 = fma(vec4<f32>(xa2.y), b, a22); a32 = fma(vec4<f32>(xa3.y), b, a32); }
            { let b = subgroupBroadcast(w2, 2u); a02 = fma(vec4<f32>(xa0.z), b, a02); a12 = fma(vec4<f32>(xa1.z), b, a12); a22 = fma(vec4<f32>(xa2.z), b, a22); a32 = fma(vec4<f32>(xa3.z), b, a32); }
            { let b = subgroupBroadcast(w2, 3u); a02 = fma(vec4<f32>(xa0.w), b, a02); a12 = fma(vec4<f32>(xa1.w), b, a12); a22 = fma(vec4<f32>(xa2.w), b, a22); a32 = fma(vec4<f32>(xa3.w), b, a32); }
            { let b = subgroupBroadcast(w2, 4u); a02 = fma(vec4<f32>(xb0.x), b, a02); a12 = fma(vec4<f32>(xb1.x), b, a12); a22 = fma(vec4<f32>(xb2.x), b, a22); a32 = fma(vec4<f32>(xb3.x), b, a32); }
            { let b = subgroupBroadcast(w2, 5u); a02 = fma(vec4<f32>(xb0.y), b, a02); a12 = fma(vec4<f32>(xb1.y), b, a12); a22 = fma(vec4<f32>(xb2.y), b, a22); a32 = fma(vec4<f32>(xb3.y), b, a32); }
            { let b = subgroupBroadcast(w2, 6u); a02 = fma(vec4<f32>(xb0.z), b, a02); a12 = fma(vec4<f32>(xb1.z), b, a12); a22 = fma(vec4<f32>(xb2.z), b, a22); a32 = fma(vec4<f32>(xb3.z), b, a32); }
            { let b = subgroupBroadcast(w2, 7u); a02 = fma(vec4<f32>(xb0.w), b, a02); a12 = fma(vec4<f32>(xb1.w), b, a12); a22 = fma(vec4<f32>(xb2.w), b, a22); a32 = fma(vec4<f32>(xb3.w), b, a32); }
            { let b = subgroupBroadcast(w3, 0u); a03 = fma(vec4<f32>(xa0.x), b, a03); a13 = fma(vec4<f32>(xa1.x), b, a13); a23 = fma(vec4<f32>(xa2.x), b, a23); a33 = fma(vec4<f32>(xa3.x), b, a33); }
            { let b = subgroupBroadcast(w3, 1u); a03 = fma(vec4<f32>(xa0.y), b, a03); a13 = fma(vec4<f32>(xa1.y), b, a13); a23 = fma(vec4<f32>(xa2.y), b, a23); a33 = fma(vec4<f32>(xa3.y), b, a33); }
            { let b = subgroupBroadcast(w3, 2u); a03 = fma(vec4<f32>(xa0.z), b, a03); a13 = fma(vec4<f32>(xa1.z), b, a13); a23 = fma(vec4<f32>(xa2.z), b, a23); a33 = fma(vec4<f32>(xa3.z), b, a33); }
            { let b = subgroupBroadcast(w3, 3u); a03 = fma(vec4<f32>(xa0.w), b, a03); a13 = fma(vec4<f32>(xa1.w), b, a13); a23 = fma(vec4<f32>(xa2.w), b, a23); a33 = fma(vec4<f32>(xa3.w), b, a33); }
            { let b = subgroupBroadcast(w3, 4u); a03 = fma(vec4<f32>(xb0.x), b, a03); a13 = fma(vec4<f32>(xb1.x), b, a13); a23 = fma(vec4<f32>(xb2.x), b, a23); a33 = fma(vec4<f32>(xb3.x), b, a33); }
            { let b = subgroupBroadcast(w3, 5u); a03 = fma(vec4<f32>(xb0.y), b, a03); a13 = fma(vec4<f32>(xb1.y), b, a13); a23 = fma(vec4<f32>(xb2.y), b, a23); a33 = fma(vec4<f32>(xb3.y), b, a33); }
            { let b = subgroupBroadcast(w3, 6u); a03 = fma(vec4<f32>(xb0.z), b, a03); a13 = fma(vec4<f32>(xb1.z), b, a13); a23 = fma(vec4<f32>(xb2.z), b, a23); a33 = fma(vec4<f32>(xb3.z), b, a33); }
            { let b = subgroupBroadcast(w3, 7u); a03 = fma(vec4<f32>(xb0.w), b, a03); a13 = fma(vec4<f32>(xb1.w), b, a13); a23 = fma(vec4<f32>(xb2.w), b, a23); a33 = fma(vec4<f32>(xb3.w), b, a33); }
        }
    }
    let co0 = wk.x * 16u;
    if (co0 + 0u < p.cout) {
        let e = epi(co0 + 0u);
        store4(co0 + 0u, a00, e, q0); store4(co0 + 0u, a10, e, q1); store4(co0 + 0u, a20, e, q2); store4(co0 + 0u, a30, e, q3);
    }
    if (co0 + 4u < p.cout) {
        let e = epi(co0 + 4u);
        store4(co0 + 4u, a01, e, q0); store4(co0 + 4u, a11, e, q1); store4(co0 + 4u, a21, e, q2); store4(co0 + 4u, a31, e, q3);
    }
    if (co0 + 8u < p.cout) {
        let e = epi(co0 + 8u);
        store4(co0 + 8u, a02, e, q0); store4(co0 + 8u, a12, e, q1); store4(co0 + 8u, a22, e, q2); store4(co0 + 8u, a32, e, q3);
    }
    if (co0 + 12u < p.cout) {
        let e = epi(co0 + 12u);
        store4(co0 + 12u, a03, e, q0); store4(co0 + 12u, a13, e, q1); store4(co0 + 12u, a23, e, q2); store4(co0 + 12u, a33, e, q3);
    }
}

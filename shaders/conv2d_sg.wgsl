// 2-D convolution with subgroup operations: the op of conv2d.wgsl (NHWC, stride 1, 1x1 or 3x3 with
// SAME zero padding, optional edge-bias channel, epilogue (acc + bias) * exp(3 logs) and ReLU; see
// src/ops/conv2d/mod.rs) for devices with the `subgroups` feature and subgroups of at least 8
// lanes. The conv ops pick it in place of conv2d.wgsl there (`GpuCaps::subgroups`);
// GLOWGPU_NO_SUBGROUPS=1 turns it off. One entry point, `forward`, specialised by the defines
// CO16 and V4 below.
//
// Layout of the work. A workgroup (64 invocations, 1-D) computes 256 consecutive output pixels x
// one block of CB output channels: 32, or 16 with the define CO16 (for cout <= 16). Each
// invocation keeps 4 pixels (li, li + 64, li + 128, li + 192) x the block's channels in vec4
// accumulators. All lanes of a subgroup therefore share the channel block and differ in pixels.
//
// The weight rows of a tap (its cin input channels, then the edge row) advance in blocks of 8.
// Lane j of lanes 0..7 (wider subgroups repeat them) loads row j of the block, i.e. its 32 (16)
// packed weights as 8 (4) vec4, and `subgroupBroadcast` hands row j to every lane: 8 rows cost
// each lane one row's loads instead of eight. On lavapipe every storage-buffer load is a loop over
// the lanes (tens of cycles per vec4) while a broadcast is a register shuffle, so loads are what
// the layout minimises: per block each lane loads one weight row and its 4 pixels' 8 inputs (two
// vec4 per pixel when the input slice is vec4-aligned: the define V4 reads the input as vec4).
// Uniform control flow: every lane runs every broadcast (the only early return is a whole
// workgroup's); out-of-range pixels compute and do not store.
//
// Measured choices (lavapipe, 2 cores): 4 pixels x 32 channels beat 1-3 or 5-8 pixels and 16 or
// 64 channels; the accumulation runs channel group by channel group (`rows8`) so that few
// accumulators are live at once; the last, partial block of each tap (and the edge row) is a
// separate loop, because a branch between whole and partial blocks inside the loop costs ~40%.
// (A broadcast inside an `if` after the loop returned zeros on lavapipe 22.3; inside a loop it works.)
//
// Needs the WGSL `subgroups` extension, without an `enable subgroups;` directive: naga 30 (wgpu's
// WGSL front end) rejects that directive as unimplemented (gfx-rs/wgpu#5555) and accepts the
// built-ins on devices opened with `Features::SUBGROUP`, the only ones that compile this shader.
struct P {
    n: u32, h: u32, w: u32,
    cin: u32, cin_stride: u32, cin_off: u32,  // input channel slice of a cin_stride-channel tensor
    cout: u32, cout_pad: u32,                  // outputs; packed weight row length (multiple of 16)
    k: u32,                                    // 1 or 3
    edge: u32, epilogue: u32, relu: u32,
    accumulate: u32,                           // 1 adds into y, 0 sets it
    y_stride: u32, y_off: u32,                 // y[pixel * y_stride + y_off + co] (y_stride 0: cout)
    _q2: u32,
}
@group(0) @binding(0) var<uniform> p: P;
#ifdef V4
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>; // [n, h, w, cin_stride/4]
#else
@group(0) @binding(1) var<storage, read> x: array<f32>;       // [n, h, w, cin_stride]
#endif
@group(0) @binding(2) var<storage, read> wt: array<vec4<f32>>; // [k*k, cin + edge, cout_pad/4]
@group(0) @binding(3) var<storage, read> bias: array<f32>;     // [cout] (epilogue)
@group(0) @binding(4) var<storage, read> logs: array<f32>;     // [cout] (epilogue)
@group(0) @binding(5) var<storage, read_write> y: array<f32>;  // [n, h, w, cout]

// Output channels per workgroup.
#ifdef CO16
const CB: u32 = 16u;
#else
const CB: u32 = 32u;
#endif

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

#ifdef V4
// Rows c..c+3 of a tap in the last block of rows: input channels (`v`, read at the tap's offset
// + c; zero outside the image), the edge channel (1 outside the image), zero past the last row.
fn tail4(v: vec4<f32>, ok: bool, c: u32) -> vec4<f32> {
    let row = vec4<u32>(c) + vec4<u32>(0u, 1u, 2u, 3u);
    let pad = select(vec4<f32>(0.0), vec4<f32>(select(1.0, 0.0, ok)), row < vec4<u32>(p.cin + p.edge));
    return select(pad, select(vec4<f32>(0.0), v, ok), row < vec4<u32>(p.cin));
}
#else
// The same reading the input as scalars (rows past the input channels are not read).
fn tail1(t: Tap, c: u32) -> f32 {
    if (c < p.cin) { return select(0.0, x[t.o + c], t.ok); }
    return select(0.0, select(1.0, 0.0, t.ok), c < p.cin + p.edge);
}
fn tail(t: Tap, c: u32) -> vec4<f32> {
    return vec4<f32>(tail1(t, c), tail1(t, c + 1u), tail1(t, c + 2u), tail1(t, c + 3u));
}
#endif

// The workgroup's block of `cb` output channels and its first pixel (256 per workgroup); the
// block is past the end for the spare workgroups of a dispatch folded into y (over 65535).
fn work(wg: vec3<u32>, nwg: vec3<u32>, cb: u32) -> vec2<u32> {
    let g = wg.x + wg.y * nwg.x;
    let ncb = (p.cout + cb - 1u) / cb;
    let nblk = (p.n * p.h * p.w + 255u) / 256u;
    if (g >= nblk * ncb) { return vec2<u32>(ncb, 0u); }
    return vec2<u32>(g % ncb, (g / ncb) * 256u);
}

// The 4 pixels' values of 8 rows kb..kb+7: a<i> rows kb..kb+3, b<i> rows kb+4..kb+7 of pixel i.
struct Xs { a0: vec4<f32>, b0: vec4<f32>, a1: vec4<f32>, b1: vec4<f32>,
            a2: vec4<f32>, b2: vec4<f32>, a3: vec4<f32>, b3: vec4<f32> }

// 8 rows into 4 output channels of the 4 pixels: `w` is this lane's row (lane j holds row kb + j),
// broadcast one row at a time.
fn rows8(w: vec4<f32>, xs: Xs, a0: ptr<function, vec4<f32>>, a1: ptr<function, vec4<f32>>,
         a2: ptr<function, vec4<f32>>, a3: ptr<function, vec4<f32>>) {
    var b = subgroupBroadcast(w, 0u);
    *a0 += xs.a0.x * b; *a1 += xs.a1.x * b; *a2 += xs.a2.x * b; *a3 += xs.a3.x * b;
    b = subgroupBroadcast(w, 1u);
    *a0 += xs.a0.y * b; *a1 += xs.a1.y * b; *a2 += xs.a2.y * b; *a3 += xs.a3.y * b;
    b = subgroupBroadcast(w, 2u);
    *a0 += xs.a0.z * b; *a1 += xs.a1.z * b; *a2 += xs.a2.z * b; *a3 += xs.a3.z * b;
    b = subgroupBroadcast(w, 3u);
    *a0 += xs.a0.w * b; *a1 += xs.a1.w * b; *a2 += xs.a2.w * b; *a3 += xs.a3.w * b;
    b = subgroupBroadcast(w, 4u);
    *a0 += xs.b0.x * b; *a1 += xs.b1.x * b; *a2 += xs.b2.x * b; *a3 += xs.b3.x * b;
    b = subgroupBroadcast(w, 5u);
    *a0 += xs.b0.y * b; *a1 += xs.b1.y * b; *a2 += xs.b2.y * b; *a3 += xs.b3.y * b;
    b = subgroupBroadcast(w, 6u);
    *a0 += xs.b0.z * b; *a1 += xs.b1.z * b; *a2 += xs.b2.z * b; *a3 += xs.b3.z * b;
    b = subgroupBroadcast(w, 7u);
    *a0 += xs.b0.w * b; *a1 += xs.b1.w * b; *a2 += xs.b2.w * b; *a3 += xs.b3.w * b;
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
            if (co + i < p.cout) {
                let o = q.i * select(p.y_stride, p.cout, p.y_stride == 0u) + p.y_off + co + i;
                if (p.accumulate == 1u) { y[o] += c[i]; } else { y[o] = c[i]; }
            }
        }
    }
}
// The same for the 4 pixels of an invocation.
fn out4(co: u32, a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>, a3: vec4<f32>, q0: Pix, q1: Pix, q2: Pix, q3: Pix) {
    if (co >= p.cout) { return; }
    let e = epi(co);
    store4(co, a0, e, q0); store4(co, a1, e, q1); store4(co, a2, e, q2); store4(co, a3, e, q3);
}

@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) lane: u32) {
    let wk = work(wg, nwg, CB);
    if (wk.x * CB >= p.cout) { return; } // past the end: the whole workgroup (uniform)
    let q0 = pixel(wk.y + li); let q1 = pixel(wk.y + li + 64u);
    let q2 = pixel(wk.y + li + 128u); let q3 = pixel(wk.y + li + 192u);
    let nv = p.cout_pad / 4u;
    let v0 = wk.x * (CB / 4u);
#ifndef CO16
    let hi = v0 + 4u < nv; // the block's channels 16..31 exist in the packed rows
#endif
    let rows = p.cin + p.edge;
    let r = lane % 8u;
    let half = i32(p.k / 2u);
    let z = vec4<f32>(0.0);
    // accumulators a<pixel><q>: channels 4q..4q+3 of the block
    var a00 = z; var a01 = z; var a02 = z; var a03 = z;
    var a10 = z; var a11 = z; var a12 = z; var a13 = z;
    var a20 = z; var a21 = z; var a22 = z; var a23 = z;
    var a30 = z; var a31 = z; var a32 = z; var a33 = z;
#ifndef CO16
    var a04 = z; var a05 = z; var a06 = z; var a07 = z;
    var a14 = z; var a15 = z; var a16 = z; var a17 = z;
    var a24 = z; var a25 = z; var a26 = z; var a27 = z;
    var a34 = z; var a35 = z; var a36 = z; var a37 = z;
#endif
    for (var t = 0u; t < p.k * p.k; t++) {
        let dy = i32(t / p.k) - half;
        let dx = i32(t % p.k) - half;
        let t0 = tap(q0, dy, dx); let t1 = tap(q1, dy, dx); let t2 = tap(q2, dy, dx); let t3 = tap(q3, dy, dx);
        let wrow = (t * rows + r) * nv + v0; // the lane's row in the tap's first block
        var kb = 0u;
        for (; kb + 8u <= p.cin; kb += 8u) { // whole blocks of 8 input channels
            // the 4 pixels' inputs in the block's 8 channels (zero where a tap is outside the image)
#ifdef V4
            let o0 = (t0.o + kb) / 4u;
            let xa0 = select(z, x[o0], t0.ok); let xb0 = select(z, x[o0 + 1u], t0.ok);
            let o1 = (t1.o + kb) / 4u;
            let xa1 = select(z, x[o1], t1.ok); let xb1 = select(z, x[o1 + 1u], t1.ok);
            let o2 = (t2.o + kb) / 4u;
            let xa2 = select(z, x[o2], t2.ok); let xb2 = select(z, x[o2 + 1u], t2.ok);
            let o3 = (t3.o + kb) / 4u;
            let xa3 = select(z, x[o3], t3.ok); let xb3 = select(z, x[o3 + 1u], t3.ok);
#else
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
#endif
            let xs = Xs(xa0, xb0, xa1, xb1, xa2, xb2, xa3, xb3);
            // the lane's weight row kb + r
            let wi = wrow + kb * nv;
            let w0 = wt[wi + 0u]; let w1 = wt[wi + 1u];
            let w2 = wt[wi + 2u]; let w3 = wt[wi + 3u];
#ifndef CO16
            let w4 = select(z, wt[wi + 4u], hi); let w5 = select(z, wt[wi + 5u], hi);
            let w6 = select(z, wt[wi + 6u], hi); let w7 = select(z, wt[wi + 7u], hi);
#endif
            rows8(w0, xs, &a00, &a10, &a20, &a30);
            rows8(w1, xs, &a01, &a11, &a21, &a31);
            rows8(w2, xs, &a02, &a12, &a22, &a32);
            rows8(w3, xs, &a03, &a13, &a23, &a33);
#ifndef CO16
            rows8(w4, xs, &a04, &a14, &a24, &a34);
            rows8(w5, xs, &a05, &a15, &a25, &a35);
            rows8(w6, xs, &a06, &a16, &a26, &a36);
            rows8(w7, xs, &a07, &a17, &a27, &a37);
#endif
        }
        for (; kb < rows; kb += 8u) { // the last input channels and the edge row: at most once
            // the 4 pixels' rows kb..kb+7: input channels, the edge channel, zeros
#ifdef V4
            let o0 = (t0.o + kb) / 4u;
            let xa0 = tail4(x[o0], t0.ok, kb); let xb0 = tail4(x[o0 + 1u], t0.ok, kb + 4u);
            let o1 = (t1.o + kb) / 4u;
            let xa1 = tail4(x[o1], t1.ok, kb); let xb1 = tail4(x[o1 + 1u], t1.ok, kb + 4u);
            let o2 = (t2.o + kb) / 4u;
            let xa2 = tail4(x[o2], t2.ok, kb); let xb2 = tail4(x[o2 + 1u], t2.ok, kb + 4u);
            let o3 = (t3.o + kb) / 4u;
            let xa3 = tail4(x[o3], t3.ok, kb); let xb3 = tail4(x[o3 + 1u], t3.ok, kb + 4u);
#else
            let xa0 = tail(t0, kb); let xb0 = tail(t0, kb + 4u);
            let xa1 = tail(t1, kb); let xb1 = tail(t1, kb + 4u);
            let xa2 = tail(t2, kb); let xb2 = tail(t2, kb + 4u);
            let xa3 = tail(t3, kb); let xb3 = tail(t3, kb + 4u);
#endif
            let xs = Xs(xa0, xb0, xa1, xb1, xa2, xb2, xa3, xb3);
            // the lane's weight row kb + r (zero past the last row)
            let wi = wrow + kb * nv;
            let ok = kb + r < rows;
            let w0 = select(z, wt[wi + 0u], ok); let w1 = select(z, wt[wi + 1u], ok);
            let w2 = select(z, wt[wi + 2u], ok); let w3 = select(z, wt[wi + 3u], ok);
#ifndef CO16
            let w4 = select(z, wt[wi + 4u], ok && hi); let w5 = select(z, wt[wi + 5u], ok && hi);
            let w6 = select(z, wt[wi + 6u], ok && hi); let w7 = select(z, wt[wi + 7u], ok && hi);
#endif
            rows8(w0, xs, &a00, &a10, &a20, &a30);
            rows8(w1, xs, &a01, &a11, &a21, &a31);
            rows8(w2, xs, &a02, &a12, &a22, &a32);
            rows8(w3, xs, &a03, &a13, &a23, &a33);
#ifndef CO16
            rows8(w4, xs, &a04, &a14, &a24, &a34);
            rows8(w5, xs, &a05, &a15, &a25, &a35);
            rows8(w6, xs, &a06, &a16, &a26, &a36);
            rows8(w7, xs, &a07, &a17, &a27, &a37);
#endif
        }
    }
    let co0 = wk.x * CB;
    out4(co0 + 0u, a00, a10, a20, a30, q0, q1, q2, q3);
    out4(co0 + 4u, a01, a11, a21, a31, q0, q1, q2, q3);
    out4(co0 + 8u, a02, a12, a22, a32, q0, q1, q2, q3);
    out4(co0 + 12u, a03, a13, a23, a33, q0, q1, q2, q3);
#ifndef CO16
    out4(co0 + 16u, a04, a14, a24, a34, q0, q1, q2, q3);
    out4(co0 + 20u, a05, a15, a25, a35, q0, q1, q2, q3);
    out4(co0 + 24u, a06, a16, a26, a36, q0, q1, q2, q3);
    out4(co0 + 28u, a07, a17, a27, a37, q0, q1, q2, q3);
#endif
}

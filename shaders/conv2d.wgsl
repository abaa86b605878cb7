// 2-D convolution, NHWC, stride 1, SAME padding, optional edge-bias channel and
// (acc + bias) * exp(3 logs) epilogue + ReLU (see src/ops/conv2d/mod.rs). Variants by define:
// FORWARD (the convolution; with V4 the input read as vec4), BACKWARD_WEIGHT (with V4 likewise),
// WEIGHT_REDUCE, PACK.
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

#ifdef FORWARD
// `forward`: each invocation computes 4 consecutive output pixels of one row x CB output channels.
// Any channel layout: CB = 8 (2 vec4 accumulators per pixel). With V4 (cin, cin_stride and cin_off
// multiples of 4: every conv of a Glow model but the first of each coupling net / prior) the input
// is read as vec4 along channels and CB = 16: per 4 input channels an invocation loads 4 input
// vec4 and 16 weight vec4 for 64 vec4 multiply-adds.
#ifdef V4
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>; // [n, h, w, cin_stride/4]
const CB: u32 = 16u;
#else
@group(0) @binding(1) var<storage, read> x: array<f32>;       // [n, h, w, cin_stride]
const CB: u32 = 8u;
#endif
@group(0) @binding(2) var<storage, read> wt: array<vec4<f32>>; // [k*k, cin + edge, cout_pad/4]
@group(0) @binding(3) var<storage, read> bias: array<f32>;     // [cout] (epilogue)
@group(0) @binding(4) var<storage, read> logs: array<f32>;     // [cout] (epilogue)
@group(0) @binding(5) var<storage, read_write> y: array<f32>;  // [n, h, w, cout]

// Output element (pixel, channel): a channel slice of a wider tensor where y_stride > 0; added to
// the old value when accumulating (the input gradient runs as a forward conv, see ConvBackwardData).
fn y_index(pix: u32, co: u32) -> u32 {
    return pix * select(p.y_stride, p.cout, p.y_stride == 0u) + p.y_off + co;
}
fn put_y(pix: u32, co: u32, v: f32) {
    let o = y_index(pix, co);
    if (p.accumulate == 1u) { y[o] += v; } else { y[o] = v; }
}

#ifdef V4
fn store16(pix: u32, co0: u32, a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>, a3: vec4<f32>) {
    for (var j = 0u; j < 16u; j++) {
        let co = co0 + j;
        if (co >= p.cout) { return; }
        var v: f32;
        switch (j / 4u) {
            case 0u: { v = a0[j % 4u]; }
            case 1u: { v = a1[j % 4u]; }
            case 2u: { v = a2[j % 4u]; }
            default: { v = a3[j % 4u]; }
        }
        if (p.epilogue == 1u) { v = (v + bias[co]) * exp(3.0 * logs[co]); }
        if (p.relu == 1u) { v = max(v, 0.0); }
        put_y(pix, co, v);
    }
}
#else
fn store(pix: u32, co0: u32, a: vec4<f32>, b: vec4<f32>) {
    for (var j = 0u; j < 8u; j++) {
        let co = co0 + j;
        if (co >= p.cout) { return; }
        var v: f32;
        if (j < 4u) { v = a[j]; } else { v = b[j - 4u]; }
        if (p.epilogue == 1u) { v = (v + bias[co]) * exp(3.0 * logs[co]); }
        if (p.relu == 1u) { v = max(v, 0.0); }
        put_y(pix, co, v);
    }
}
#endif

@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = linear_id(gid, nwg);
    let ncb = (p.cout + CB - 1u) / CB;
    let nxb = (p.w + 3u) / 4u;
    if (id >= p.n * p.h * nxb * ncb) { return; }
    let cb = id % ncb;
    var r = id / ncb;
    let xb = r % nxb; r = r / nxb;
    let oy = r % p.h;
    let n = r / p.h;
    let ox = xb * 4u;
    let nv = p.cout_pad / 4u;
    let v0 = cb * (CB / 4u);
    let rows = p.cin + p.edge;
    let half = i32(p.k / 2u);
#ifdef V4
    // the input slice in vec4s
    let xs = p.cin_stride / 4u;
    let xo = p.cin_off / 4u;
    let cin4 = p.cin / 4u;
    var a00 = vec4<f32>(0.0); var a01 = vec4<f32>(0.0); var a02 = vec4<f32>(0.0); var a03 = vec4<f32>(0.0);
    var a10 = vec4<f32>(0.0); var a11 = vec4<f32>(0.0); var a12 = vec4<f32>(0.0); var a13 = vec4<f32>(0.0);
    var a20 = vec4<f32>(0.0); var a21 = vec4<f32>(0.0); var a22 = vec4<f32>(0.0); var a23 = vec4<f32>(0.0);
    var a30 = vec4<f32>(0.0); var a31 = vec4<f32>(0.0); var a32 = vec4<f32>(0.0); var a33 = vec4<f32>(0.0);
#else
    let xs = p.cin_stride;
    let xo = p.cin_off;
    var a0 = vec4<f32>(0.0); var b0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0); var b1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0); var b2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0); var b3 = vec4<f32>(0.0);
#endif

    for (var ky = 0u; ky < p.k; ky++) {
        let iy = i32(oy) + i32(ky) - half;
        let row_ok = iy >= 0 && iy < i32(p.h);
        let rowbase = (n * p.h + u32(max(iy, 0))) * p.w;
        for (var kx = 0u; kx < p.k; kx++) {
            let wbase = (ky * p.k + kx) * rows * nv + v0;
            let ix0 = i32(ox) + i32(kx) - half;
            // whether each of the 4 pixels' tap is inside the image, and its input offset
            let ok0 = row_ok && ix0 >= 0 && ix0 < i32(p.w);
            let ok1 = row_ok && ix0 + 1 >= 0 && ix0 + 1 < i32(p.w);
            let ok2 = row_ok && ix0 + 2 >= 0 && ix0 + 2 < i32(p.w);
            let ok3 = row_ok && ix0 + 3 >= 0 && ix0 + 3 < i32(p.w);
            let o0 = select(0u, (rowbase + u32(ix0)) * xs + xo, ok0);
            let o1 = select(0u, (rowbase + u32(ix0 + 1)) * xs + xo, ok1);
            let o2 = select(0u, (rowbase + u32(ix0 + 2)) * xs + xo, ok2);
            let o3 = select(0u, (rowbase + u32(ix0 + 3)) * xs + xo, ok3);
#ifdef V4
            for (var c4 = 0u; c4 < cin4; c4++) {
                let wb = wbase + c4 * 4u * nv;
                let w00 = wt[wb + 0u * nv + 0u]; let w01 = wt[wb + 0u * nv + 1u]; let w02 = wt[wb + 0u * nv + 2u]; let w03 = wt[wb + 0u * nv + 3u];
                let w10 = wt[wb + 1u * nv + 0u]; let w11 = wt[wb + 1u * nv + 1u]; let w12 = wt[wb + 1u * nv + 2u]; let w13 = wt[wb + 1u * nv + 3u];
                let w20 = wt[wb + 2u * nv + 0u]; let w21 = wt[wb + 2u * nv + 1u]; let w22 = wt[wb + 2u * nv + 2u]; let w23 = wt[wb + 2u * nv + 3u];
                let w30 = wt[wb + 3u * nv + 0u]; let w31 = wt[wb + 3u * nv + 1u]; let w32 = wt[wb + 3u * nv + 2u]; let w33 = wt[wb + 3u * nv + 3u];
                let x0 = select(vec4<f32>(0.0), x[o0 + c4], ok0);
                a00 += x0.x * w00 + x0.y * w10 + x0.z * w20 + x0.w * w30;
                a01 += x0.x * w01 + x0.y * w11 + x0.z * w21 + x0.w * w31;
                a02 += x0.x * w02 + x0.y * w12 + x0.z * w22 + x0.w * w32;
                a03 += x0.x * w03 + x0.y * w13 + x0.z * w23 + x0.w * w33;
                let x1 = select(vec4<f32>(0.0), x[o1 + c4], ok1);
                a10 += x1.x * w00 + x1.y * w10 + x1.z * w20 + x1.w * w30;
                a11 += x1.x * w01 + x1.y * w11 + x1.z * w21 + x1.w * w31;
                a12 += x1.x * w02 + x1.y * w12 + x1.z * w22 + x1.w * w32;
                a13 += x1.x * w03 + x1.y * w13 + x1.z * w23 + x1.w * w33;
                let x2 = select(vec4<f32>(0.0), x[o2 + c4], ok2);
                a20 += x2.x * w00 + x2.y * w10 + x2.z * w20 + x2.w * w30;
                a21 += x2.x * w01 + x2.y * w11 + x2.z * w21 + x2.w * w31;
                a22 += x2.x * w02 + x2.y * w12 + x2.z * w22 + x2.w * w32;
                a23 += x2.x * w03 + x2.y * w13 + x2.z * w23 + x2.w * w33;
                let x3 = select(vec4<f32>(0.0), x[o3 + c4], ok3);
                a30 += x3.x * w00 + x3.y * w10 + x3.z * w20 + x3.w * w30;
                a31 += x3.x * w01 + x3.y * w11 + x3.z * w21 + x3.w * w31;
                a32 += x3.x * w02 + x3.y * w12 + x3.z * w22 + x3.w * w32;
                a33 += x3.x * w03 + x3.y * w13 + x3.z * w23 + x3.w * w33;
            }
            if (p.edge == 1u) {
                // the edge channel is 1 exactly where the tap falls outside the image
                let we = wbase + p.cin * nv;
                let e0 = wt[we + 0u]; let e1 = wt[we + 1u]; let e2 = wt[we + 2u]; let e3 = wt[we + 3u];
                let m0 = select(1.0, 0.0, ok0);
                a00 += m0 * e0; a01 += m0 * e1; a02 += m0 * e2; a03 += m0 * e3;
                let m1 = select(1.0, 0.0, ok1);
                a10 += m1 * e0; a11 += m1 * e1; a12 += m1 * e2; a13 += m1 * e3;
                let m2 = select(1.0, 0.0, ok2);
                a20 += m2 * e0; a21 += m2 * e1; a22 += m2 * e2; a23 += m2 * e3;
                let m3 = select(1.0, 0.0, ok3);
                a30 += m3 * e0; a31 += m3 * e1; a32 += m3 * e2; a33 += m3 * e3;
            }
#else
            for (var ci = 0u; ci < p.cin; ci++) {
                let wa = wt[wbase + ci * nv];
                let wb = wt[wbase + ci * nv + 1u];
                let x0 = select(0.0, x[o0 + ci], ok0); let x1 = select(0.0, x[o1 + ci], ok1);
                let x2 = select(0.0, x[o2 + ci], ok2); let x3 = select(0.0, x[o3 + ci], ok3);
                a0 += x0 * wa; b0 += x0 * wb;
                a1 += x1 * wa; b1 += x1 * wb;
                a2 += x2 * wa; b2 += x2 * wb;
                a3 += x3 * wa; b3 += x3 * wb;
            }
            if (p.edge == 1u) {
                // the edge channel is 1 exactly where the tap falls outside the image
                let m0 = select(0.0, 1.0, ok0); let m1 = select(0.0, 1.0, ok1);
                let m2 = select(0.0, 1.0, ok2); let m3 = select(0.0, 1.0, ok3);
                let wa = wt[wbase + p.cin * nv];
                let wb = wt[wbase + p.cin * nv + 1u];
                a0 += (1.0 - m0) * wa; b0 += (1.0 - m0) * wb;
                a1 += (1.0 - m1) * wa; b1 += (1.0 - m1) * wb;
                a2 += (1.0 - m2) * wa; b2 += (1.0 - m2) * wb;
                a3 += (1.0 - m3) * wa; b3 += (1.0 - m3) * wb;
            }
#endif
        }
    }
    let pix = (n * p.h + oy) * p.w + ox;
    let co0 = cb * CB;
#ifdef V4
    { store16(pix + 0u, co0, a00, a01, a02, a03); }
    if (ox + 1u < p.w) { store16(pix + 1u, co0, a10, a11, a12, a13); }
    if (ox + 2u < p.w) { store16(pix + 2u, co0, a20, a21, a22, a23); }
    if (ox + 3u < p.w) { store16(pix + 3u, co0, a30, a31, a32, a33); }
#else
    store(pix, co0, a0, b0);
    if (ox + 1u < p.w) { store(pix + 1u, co0, a1, b1); }
    if (ox + 2u < p.w) { store(pix + 2u, co0, a2, b2); }
    if (ox + 3u < p.w) { store(pix + 3u, co0, a3, b3); }
#endif
}
#endif

// ---------------------------------------------------------------------------------------------
// Backward (training). The input gradient runs through the forward entries above
// (ConvBackwardData: dacc convolved with the flipped, transposed weight from `pack_t`).
// `backward_weight`: partial weight gradients Σ_pixels xin(pixel + tap, ci)·dacc[pixel, co] over
// chunks of WCHUNK pixels (llvmpipe silently caps a loop at 65535 iterations, and long loops
// starve real GPUs), the edge row ci = cin seeing 1 where the tap falls outside; each invocation
// does one chunk of one tap x 4 rows x 4 outputs and writes its partial sums. `weight_reduce`
// then adds the chunks into grad_w.
const WCHUNK: u32 = 2048u;

#ifdef BACKWARD_WEIGHT
// With V4 (cin, cin_stride, cin_off and cout multiples of 4) a 4-row block of input channels and
// 4 outputs are one vec4 load each per pixel; the edge row (its own block, ci = cin) sums dacc
// over the pixels whose tap falls outside.
#ifdef V4
@group(0) @binding(1) var<storage, read> bw_x: array<vec4<f32>>;     // [n, h, w, cin_stride/4]
@group(0) @binding(2) var<storage, read> bw_dacc: array<vec4<f32>>;  // [n, h, w, cout/4]
#else
@group(0) @binding(1) var<storage, read> bw_x: array<f32>;           // [n, h, w, cin_stride]
@group(0) @binding(2) var<storage, read> bw_dacc: array<f32>;        // [n, h, w, cout]

fn xval(src: u32, row: u32, inside: bool) -> f32 {
    if (row < p.cin) { return select(0.0, bw_x[src + row], inside); }
    if (row == p.cin && p.edge == 1u) { return select(1.0, 0.0, inside); }
    return 0.0;
}

fn dval(q: u32, co: u32) -> f32 {
    return select(0.0, bw_dacc[q * p.cout + min(co, p.cout - 1u)], co < p.cout);
}
#endif
@group(0) @binding(3) var<storage, read_write> bw_part: array<f32>;  // [chunks, k*k, cin + edge, cout]

// One invocation's work in the weight gradient: tile = (tap, 4-row block, 4-output block), over
// chunk `chunk` of WCHUNK pixels [q0, q1); `start` is q0's (column, row).
struct WTile { ok: bool, chunk: u32, tap: u32, r0: u32, co0: u32, dy: i32, dx: i32, q0: u32, q1: u32, start: vec2<u32> }
fn wtile(id: u32) -> WTile {
    var t: WTile;
    let nrb = (p.cin + p.edge + 3u) / 4u;
    let ncb = (p.cout + 3u) / 4u;
    let tiles = p.k * p.k * nrb * ncb;
    let npix = p.n * p.h * p.w;
    t.ok = id < tiles * ((npix + WCHUNK - 1u) / WCHUNK);
    let tile = id % tiles;
    t.chunk = id / tiles;
    t.co0 = (tile % ncb) * 4u;
    let r = tile / ncb;
    t.r0 = (r % nrb) * 4u;
    t.tap = r / nrb;
    t.dy = i32(t.tap / p.k) - i32(p.k / 2u);
    t.dx = i32(t.tap % p.k) - i32(p.k / 2u);
    t.q0 = t.chunk * WCHUNK;
    t.q1 = min(npix, t.q0 + WCHUNK);
    t.start = vec2<u32>(t.q0 % p.w, (t.q0 / p.w) % p.h);
    return t;
}
// Whether the tap of pixel (column, row) reads inside the image.
fn tap_inside(pos: vec2<u32>, t: WTile) -> bool {
    let ix = i32(pos.x) + t.dx;
    let iy = i32(pos.y) + t.dy;
    return iy >= 0 && iy < i32(p.h) && ix >= 0 && ix < i32(p.w);
}
// The next pixel's (column, row): stepped along, no division per pixel.
fn next_pixel(pos: vec2<u32>) -> vec2<u32> {
    var n = vec2<u32>(pos.x + 1u, pos.y);
    if (n.x == p.w) { n = vec2<u32>(0u, select(n.y + 1u, 0u, n.y + 1u == p.h)); }
    return n;
}

@compute @workgroup_size(64)
fn backward_weight(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = wtile(linear_id(gid, nwg));
    if (!t.ok) { return; }
    let r0 = t.r0;
#ifdef V4
    let ncb = p.cout / 4u;
    let cb = t.co0 / 4u;
    let edge_block = r0 >= p.cin;
    let xs = p.cin_stride / 4u;
    let xo = (p.cin_off + r0) / 4u;
    var g0 = vec4<f32>(0.0); var g1 = vec4<f32>(0.0); var g2 = vec4<f32>(0.0); var g3 = vec4<f32>(0.0);
    var pos = t.start;
    for (var q = t.q0; q < t.q1; q++) {
        let inside = tap_inside(pos, t);
        pos = next_pixel(pos);
        let d = bw_dacc[q * ncb + cb];
        var xv = vec4<f32>(0.0);
        if (edge_block) {
            xv.x = select(1.0, 0.0, inside);
        } else if (inside) {
            xv = bw_x[(q + u32(t.dy * i32(p.w) + t.dx)) * xs + xo];
        }
        g0 += xv.x * d; g1 += xv.y * d; g2 += xv.z * d; g3 += xv.w * d;
    }
    let rows = p.cin + p.edge;
    let base = t.chunk * p.k * p.k * rows * p.cout;
    let tap = t.tap;
    let co0 = t.co0;
    for (var j = 0u; j < 4u; j++) {
        let row = r0 + j;
        if (row >= rows) { break; }
        var g = g0;
        if (j == 1u) { g = g1; } else if (j == 2u) { g = g2; } else if (j == 3u) { g = g3; }
        let o = base + (tap * rows + row) * p.cout + co0;
        bw_part[o] = g.x; bw_part[o + 1u] = g.y; bw_part[o + 2u] = g.z; bw_part[o + 3u] = g.w;
    }
#else
    let co0 = t.co0;
    var g0 = vec4<f32>(0.0); var g1 = vec4<f32>(0.0); var g2 = vec4<f32>(0.0); var g3 = vec4<f32>(0.0);
    var pos = t.start;
    for (var q = t.q0; q < t.q1; q++) {
        let inside = tap_inside(pos, t);
        pos = next_pixel(pos);
        let src = select(0u, (q + u32(t.dy * i32(p.w) + t.dx)) * p.cin_stride + p.cin_off, inside);
        let xv = vec4<f32>(xval(src, r0, inside), xval(src, r0 + 1u, inside), xval(src, r0 + 2u, inside), xval(src, r0 + 3u, inside));
        let d = vec4<f32>(dval(q, co0), dval(q, co0 + 1u), dval(q, co0 + 2u), dval(q, co0 + 3u));
        g0 += xv.x * d; g1 += xv.y * d; g2 += xv.z * d; g3 += xv.w * d;
    }
    let rows = p.cin + p.edge;
    let base = t.chunk * p.k * p.k * rows * p.cout;
    let tap = t.tap;
    for (var j = 0u; j < 4u; j++) {
        let row = r0 + j;
        if (row >= rows) { break; }
        var g = g0;
        if (j == 1u) { g = g1; } else if (j == 2u) { g = g2; } else if (j == 3u) { g = g3; }
        for (var k = 0u; k < 4u; k++) {
            let co = co0 + k;
            if (co < p.cout) { bw_part[base + (tap * rows + row) * p.cout + co] = g[k]; }
        }
    }
#endif
}
#endif

// `weight_reduce`: grad_w[i] += Σ_chunks part[chunk, i].
#ifdef WEIGHT_REDUCE
@group(0) @binding(1) var<storage, read> wr_part: array<f32>;
@group(0) @binding(2) var<storage, read_write> wr_gw: array<f32>;  // plain [k*k, cin + edge, cout]

@compute @workgroup_size(64)
fn weight_reduce(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    let len = p.k * p.k * (p.cin + p.edge) * p.cout;
    if (i >= len) { return; }
    let chunks = (p.n * p.h * p.w + WCHUNK - 1u) / WCHUNK;
    var s = 0.0;
    for (var c = 0u; c < chunks; c++) { s += wr_part[c * len + i]; }
    wr_gw[i] += s;
}
#endif

// `pack`: plain weights [k*k, rows, cout] -> the forward kernels' packed layout [k*k, rows, cout_pad]
// (re-run after every optimizer step).
#ifdef PACK
@group(0) @binding(1) var<storage, read> pk_src: array<f32>;
@group(0) @binding(2) var<storage, read_write> pk_dst: array<f32>;

@compute @workgroup_size(64)
fn pack(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    let nrows = p.k * p.k * (p.cin + p.edge);
    if (i >= nrows * p.cout_pad) { return; }
    let row = i / p.cout_pad;
    let co = i % p.cout_pad;
    pk_dst[i] = select(0.0, pk_src[row * p.cout + min(co, p.cout - 1u)], co < p.cout);
}

// `pack_t`: plain weights [k*k, cin + edge, cout] -> the input-gradient form [k*k, cout, cin_pad]:
// taps flipped, input and output swapped, the edge row dropped (`Layout::ConvPackedT`).
@compute @workgroup_size(64)
fn pack_t(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    let kk = p.k * p.k;
    let cin_pad = (p.cin + 15u) / 16u * 16u;
    if (i >= kk * p.cout * cin_pad) { return; }
    let ci = i % cin_pad;
    let co = (i / cin_pad) % p.cout;
    let t = i / (cin_pad * p.cout);
    let src = ((kk - 1u - t) * (p.cin + p.edge) + min(ci, p.cin - 1u)) * p.cout + co;
    pk_dst[i] = select(0.0, pk_src[src], ci < p.cin);
}
#endif

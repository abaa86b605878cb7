// 2-D convolution, NHWC, stride 1, SAME padding, optional edge-bias channel and
// (acc + bias) * exp(3 logs) epilogue + ReLU (see src/ops/conv2d.rs).
// Each invocation: 4 consecutive output pixels of one row x 8 output channels (2 vec4).
struct P {
    n: u32, h: u32, w: u32,
    cin: u32, cin_stride: u32, cin_off: u32,  // input channel slice of a cin_stride-channel tensor
    cout: u32, cout8: u32,                     // outputs; packed weight row length (multiple of 8)
    k: u32,                                    // 1 or 3
    edge: u32, epilogue: u32, relu: u32,
}
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;        // [n, h, w, cin_stride]
@group(0) @binding(2) var<storage, read> wt: array<vec4<f32>>; // [k*k, cin + edge, cout8/4]
@group(0) @binding(3) var<storage, read> bias: array<f32>;     // [cout] (epilogue)
@group(0) @binding(4) var<storage, read> logs: array<f32>;     // [cout] (epilogue)
@group(0) @binding(5) var<storage, read_write> y: array<f32>;  // [n, h, w, cout]

fn store(pix: u32, co0: u32, a: vec4<f32>, b: vec4<f32>) {
    for (var j = 0u; j < 8u; j++) {
        let co = co0 + j;
        if (co >= p.cout) { return; }
        var v: f32;
        if (j < 4u) { v = a[j]; } else { v = b[j - 4u]; }
        if (p.epilogue == 1u) { v = (v + bias[co]) * exp(3.0 * logs[co]); }
        if (p.relu == 1u) { v = max(v, 0.0); }
        y[pix * p.cout + co] = v;
    }
}

@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = linear_id(gid, nwg);
    let ncb = p.cout8 / 8u;
    let nxb = (p.w + 3u) / 4u;
    if (id >= p.n * p.h * nxb * ncb) { return; }
    let cb = id % ncb;
    var r = id / ncb;
    let xb = r % nxb; r = r / nxb;
    let oy = r % p.h;
    let n = r / p.h;
    let ox = xb * 4u;
    let nv = p.cout8 / 4u;
    let v0 = cb * 2u;
    let rows = p.cin + p.edge;
    let half = i32(p.k / 2u);

    var a0 = vec4<f32>(0.0); var b0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0); var b1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0); var b2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0); var b3 = vec4<f32>(0.0);

    for (var ky = 0u; ky < p.k; ky++) {
        let iy = i32(oy) + i32(ky) - half;
        let row_ok = iy >= 0 && iy < i32(p.h);
        for (var kx = 0u; kx < p.k; kx++) {
            let wbase = (ky * p.k + kx) * rows * nv + v0;
            let ix0 = i32(ox) + i32(kx) - half;
            let ok0 = row_ok && ix0 >= 0 && ix0 < i32(p.w);
            let ok1 = row_ok && ix0 + 1 >= 0 && ix0 + 1 < i32(p.w);
            let ok2 = row_ok && ix0 + 2 >= 0 && ix0 + 2 < i32(p.w);
            let ok3 = row_ok && ix0 + 3 >= 0 && ix0 + 3 < i32(p.w);
            let rowbase = (n * p.h + u32(max(iy, 0))) * p.w;
            let o0 = select(0u, (rowbase + u32(ix0)) * p.cin_stride + p.cin_off, ok0);
            let o1 = select(0u, (rowbase + u32(ix0 + 1)) * p.cin_stride + p.cin_off, ok1);
            let o2 = select(0u, (rowbase + u32(ix0 + 2)) * p.cin_stride + p.cin_off, ok2);
            let o3 = select(0u, (rowbase + u32(ix0 + 3)) * p.cin_stride + p.cin_off, ok3);
            let m0 = select(0.0, 1.0, ok0); let m1 = select(0.0, 1.0, ok1);
            let m2 = select(0.0, 1.0, ok2); let m3 = select(0.0, 1.0, ok3);
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
                let wa = wt[wbase + p.cin * nv];
                let wb = wt[wbase + p.cin * nv + 1u];
                a0 += (1.0 - m0) * wa; b0 += (1.0 - m0) * wb;
                a1 += (1.0 - m1) * wa; b1 += (1.0 - m1) * wb;
                a2 += (1.0 - m2) * wa; b2 += (1.0 - m2) * wb;
                a3 += (1.0 - m3) * wa; b3 += (1.0 - m3) * wb;
            }
        }
    }
    let pix = (n * p.h + oy) * p.w + ox;
    let co0 = cb * 8u;
    store(pix, co0, a0, b0);
    if (ox + 1u < p.w) { store(pix + 1u, co0, a1, b1); }
    if (ox + 2u < p.w) { store(pix + 2u, co0, a2, b2); }
    if (ox + 3u < p.w) { store(pix + 3u, co0, a3, b3); }
}

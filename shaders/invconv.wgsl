// Invertible 1x1 conv: derived tensors and parameter gradients (see src/ops/invconv.rs).
// Matrices [C, C] row-major. LU form: W = P L U', L = I + tril(lower, -1),
// U' = triu(upper, +1) + diag(sign_s exp(log_s)).
struct P {
    c: u32,
    ld: f32,   // loss coefficient of log|det W| (lu_grad, logdet_grad)
    _p0: u32,
    _p1: u32,
}
@group(0) @binding(0) var<uniform> p: P;

// ---- prepare (plain W): Gauss-Jordan with partial pivoting, one workgroup of 64 ----
#ifdef PREPARE
@group(0) @binding(1) var<storage, read> pw_w: array<f32>;             // [C, C]
@group(0) @binding(2) var<storage, read_write> pw_inv: array<f32>;     // [C, C]
@group(0) @binding(3) var<storage, read_write> pw_logdet: array<f32>;  // [1]
@group(0) @binding(4) var<storage, read_write> pw_a: array<f32>;       // [C, C] scratch

const WG: u32 = 64u;
var<workgroup> red_v: array<f32, 64>;
var<workgroup> red_i: array<u32, 64>;

// One Gauss-Jordan row update of column j (row i != k): inverse and, for j > k, A.
fn gj_row(i: u32, j: u32, k: u32, piv: u32, f_piv: f32, xk: f32, ak: f32, upd_a: bool) {
    if (i == k) { return; }
    let c = p.c;
    let f = select(pw_a[i * c + k], f_piv, i == piv);
    pw_inv[i * c + j] -= f * xk;
    if (upd_a) { pw_a[i * c + j] -= f * ak; }
}

// Invocation `lid` owns columns lid, lid + 64, ... of the scratch copy A and of the inverse, so
// within a pivot step every write is to its own columns; column k of A (read by every invocation
// in step k) is left as is in step k (it is never read again), and the row swap of step k is
// applied to the pivot column by index. Pivot: the first row of largest |A[r][k]|, r >= k.
// lavapipe (llvmpipe, Mesa 22.3) constraints, both silent when violated: every loop of an
// invocation stops after 65535 iterations in all (hence the row loop unrolled by 4: C up to
// about 210 is exact there), and a 256-invocation version of this kernel re-ran parts of steps
// on invocations 64 and up; 64 invocations (8 SIMD chunks) run correctly.
@compute @workgroup_size(64)
fn prepare(@builtin(local_invocation_index) lid: u32) {
    let c = p.c;
    for (var j = lid; j < c; j += WG) {
        for (var i = 0u; i < c; i++) {
            pw_a[i * c + j] = pw_w[i * c + j];
            pw_inv[i * c + j] = select(0.0, 1.0, i == j);
        }
    }
    var logdet = 0.0;
    storageBarrier();
    for (var k = 0u; k < c; k++) {
        var best = -1.0;
        var bi = k;
        for (var r = k + lid; r < c; r += WG) {
            let v = abs(pw_a[r * c + k]);
            if (v > best) { best = v; bi = r; }
        }
        red_v[lid] = best;
        red_i[lid] = bi;
        workgroupBarrier();
        for (var s = WG / 2u; s > 0u; s = s >> 1u) {
            if (lid < s) {
                let v2 = red_v[lid + s];
                let i2 = red_i[lid + s];
                if (v2 > red_v[lid] || (v2 == red_v[lid] && i2 < red_i[lid])) {
                    red_v[lid] = v2;
                    red_i[lid] = i2;
                }
            }
            workgroupBarrier();
        }
        let piv = red_i[0];
        let d = pw_a[piv * c + k];
        logdet += log(abs(d));
        let f_piv = pw_a[k * c + k]; // the swapped pivot column's entry at row piv
        for (var j = lid; j < c; j += WG) {
            // column j: swap rows k and piv, scale row k, eliminate the others
            let xk = pw_inv[piv * c + j] / d;
            let xp = pw_inv[k * c + j];
            pw_inv[k * c + j] = xk;
            if (piv != k) { pw_inv[piv * c + j] = xp; }
            let upd_a = j > k;
            var ak = 0.0;
            if (upd_a) {
                ak = pw_a[piv * c + j] / d;
                let ap = pw_a[k * c + j];
                pw_a[k * c + j] = ak;
                if (piv != k) { pw_a[piv * c + j] = ap; }
            }
            var i = 0u;
            for (; i + 4u <= c; i += 4u) {
                gj_row(i, j, k, piv, f_piv, xk, ak, upd_a);
                gj_row(i + 1u, j, k, piv, f_piv, xk, ak, upd_a);
                gj_row(i + 2u, j, k, piv, f_piv, xk, ak, upd_a);
                gj_row(i + 3u, j, k, piv, f_piv, xk, ak, upd_a);
            }
            for (; i < c; i++) {
                gj_row(i, j, k, piv, f_piv, xk, ak, upd_a);
            }
        }
        storageBarrier();
    }
    if (lid == 0u) { pw_logdet[0] = logdet; }
}
#endif

// ---- prepare_lu: compose W and invert by substitution, one invocation per column ----
// (about 2.5·C² loop iterations per invocation: exact on lavapipe up to C of about 160)
#ifdef PREPARE_LU
@group(0) @binding(1) var<storage, read> pl_p: array<f32>;             // [C, C]
@group(0) @binding(2) var<storage, read> pl_sign: array<f32>;          // [C]
@group(0) @binding(3) var<storage, read> pl_logs: array<f32>;          // [C]
@group(0) @binding(4) var<storage, read> pl_lower: array<f32>;         // [C, C]
@group(0) @binding(5) var<storage, read> pl_upper: array<f32>;         // [C, C]
@group(0) @binding(6) var<storage, read_write> pl_w: array<f32>;      // [C, C]
@group(0) @binding(7) var<storage, read_write> pl_inv: array<f32>;    // [C, C]
@group(0) @binding(8) var<storage, read_write> pl_logdet: array<f32>; // [1]

fn pl_diag(i: u32) -> f32 { return pl_sign[i] * exp(pl_logs[i]); }

@compute @workgroup_size(64)
fn prepare_lu(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c = p.c;
    let j = gid.x;
    if (j >= c) { return; }
    // M[:, j] = L U'[:, j], kept in column j of the inverse until the substitutions
    for (var i = 0u; i < c; i++) {
        var m = 0.0;
        for (var k = 0u; k <= min(i, j); k++) {
            let l = select(pl_lower[i * c + k], 1.0, k == i);
            let u = select(pl_upper[k * c + j], pl_diag(j), k == j);
            m += l * u;
        }
        pl_inv[i * c + j] = m;
    }
    // W[:, j] = P M[:, j]
    for (var i = 0u; i < c; i++) {
        var s = 0.0;
        for (var k = 0u; k < c; k++) { s += pl_p[i * c + k] * pl_inv[k * c + j]; }
        pl_w[i * c + j] = s;
    }
    // W^-1[:, j] = U'^-1 L^-1 P^T e_j: forward then back substitution, in place
    for (var i = 0u; i < c; i++) {
        var s = pl_p[j * c + i];
        for (var k = 0u; k < i; k++) { s -= pl_lower[i * c + k] * pl_inv[k * c + j]; }
        pl_inv[i * c + j] = s;
    }
    for (var ii = 0u; ii < c; ii++) {
        let i = c - 1u - ii;
        var s = pl_inv[i * c + j];
        for (var k = i + 1u; k < c; k++) { s -= pl_upper[i * c + k] * pl_inv[k * c + j]; }
        pl_inv[i * c + j] = s / pl_diag(i);
    }
    if (j == 0u) {
        var ld = 0.0;
        for (var i = 0u; i < c; i++) { ld += pl_logs[i]; }
        pl_logdet[0] = ld;
    }
}
#endif

// ---- lu_grad_permute: q = P^T dW, one invocation per element ----
#ifdef LU_GRAD_PERMUTE
@group(0) @binding(1) var<storage, read> gp_dw: array<f32>;        // [C, C]
@group(0) @binding(2) var<storage, read> gp_p: array<f32>;         // [C, C]
@group(0) @binding(3) var<storage, read_write> gp_q: array<f32>;   // [C, C]

@compute @workgroup_size(64)
fn lu_grad_permute(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let c = p.c;
    let e = linear_id(gid, nwg);
    if (e >= c * c) { return; }
    let k = e / c;
    let j = e % c;
    var s = 0.0;
    for (var m = 0u; m < c; m++) { s += gp_p[m * c + k] * gp_dw[m * c + j]; }
    gp_q[e] = s;
}
#endif

// ---- lu_grad: from q = P^T dW, accumulate d lower, d upper, d log_s; one invocation per element ----
#ifdef LU_GRAD
@group(0) @binding(1) var<storage, read> lg_q: array<f32>;               // [C, C]
@group(0) @binding(2) var<storage, read> lg_sign: array<f32>;            // [C]
@group(0) @binding(3) var<storage, read> lg_logs: array<f32>;            // [C]
@group(0) @binding(4) var<storage, read> lg_lower: array<f32>;           // [C, C]
@group(0) @binding(5) var<storage, read> lg_upper: array<f32>;           // [C, C]
@group(0) @binding(6) var<storage, read_write> lg_glower: array<f32>;    // [C, C]
@group(0) @binding(7) var<storage, read_write> lg_gupper: array<f32>;    // [C, C]
@group(0) @binding(8) var<storage, read_write> lg_glogs: array<f32>;     // [C]

@compute @workgroup_size(64)
fn lu_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let c = p.c;
    let e = linear_id(gid, nwg);
    if (e >= c * c) { return; }
    let i = e / c;
    let j = e % c;
    if (i > j) {
        // dL[i][j] = (q U'^T)[i][j] = sum_{k >= j} q[i][k] U'[j][k]
        var s = lg_q[e] * lg_sign[j] * exp(lg_logs[j]);
        for (var k = j + 1u; k < c; k++) { s += lg_q[i * c + k] * lg_upper[j * c + k]; }
        lg_glower[e] += s;
    } else {
        // dU'[i][j] = (L^T q)[i][j] = q[i][j] + sum_{k > i} lower[k][i] q[k][j]
        var s = lg_q[e];
        for (var k = i + 1u; k < c; k++) { s += lg_lower[k * c + i] * lg_q[k * c + j]; }
        if (i < j) {
            lg_gupper[e] += s;
        } else {
            lg_glogs[i] += s * lg_sign[i] * exp(lg_logs[i]) + p.ld;
        }
    }
}
#endif

// ---- logdet_grad: grad_w += ld W^-T, one invocation per element ----
#ifdef LOGDET_GRAD
@group(0) @binding(1) var<storage, read> ld_inv: array<f32>;           // [C, C]
@group(0) @binding(2) var<storage, read_write> ld_gw: array<f32>;      // [C, C]

@compute @workgroup_size(64)
fn logdet_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let c = p.c;
    let e = linear_id(gid, nwg);
    if (e >= c * c) { return; }
    let i = e / c;
    let j = e % c;
    ld_gw[e] += p.ld * ld_inv[j * c + i];
}
#endif

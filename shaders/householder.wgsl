// Orthogonal 1x1 conv from Householder reflections (see src/layers/householder.rs).
// Variants: COMPOSE (entry `compose`), GRAD (entry `grad`); bindings from 1 in each.
// v [R, C], u_r = v_r / |v_r|, H_r = I - 2 u_r u_r^T, W = H_1 ... H_R ([C, C] row-major).
// A zero v_r is H_r = I with a zero gradient.
struct P {
    c: u32,
    r: u32,   // reflections R (rows of v)
    _p0: u32,
    _p1: u32,
}
@group(0) @binding(0) var<uniform> p: P;

const WG: u32 = 64u;
const CMAX: u32 = 1024u;

#ifdef COMPOSE
// ---- compose: W and W^T, one invocation per row i of W (e_i^T H_1 ... H_R), no barriers ----
// About R (C/2 + 2) loop iterations per invocation (exact on lavapipe up to C = R = 356).
@group(0) @binding(1) var<storage, read> cp_v: array<f32>;            // [R, C]
@group(0) @binding(2) var<storage, read_write> cp_w: array<f32>;      // [C, C]
@group(0) @binding(3) var<storage, read_write> cp_winv: array<f32>;   // [C, C]

@compute @workgroup_size(64)
fn compose(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let c = p.c;
    let i = linear_id(gid, nwg);
    if (i >= c) { return; }
    let row = i * c;
    for (var k = 0u; k < c; k++) { cp_w[row + k] = select(0.0, 1.0, k == i); }
    for (var r = 0u; r < p.r; r++) {
        let vr = r * c;
        // t = W_i . v_r and |v_r|^2
        var t = 0.0;
        var n2 = 0.0;
        var k = 0u;
        for (; k + 4u <= c; k += 4u) {
            let v0 = cp_v[vr + k];
            let v1 = cp_v[vr + k + 1u];
            let v2 = cp_v[vr + k + 2u];
            let v3 = cp_v[vr + k + 3u];
            t += cp_w[row + k] * v0 + cp_w[row + k + 1u] * v1 + cp_w[row + k + 2u] * v2 + cp_w[row + k + 3u] * v3;
            n2 += v0 * v0 + v1 * v1 + v2 * v2 + v3 * v3;
        }
        for (; k < c; k++) {
            let v0 = cp_v[vr + k];
            t += cp_w[row + k] * v0;
            n2 += v0 * v0;
        }
        let f = select(0.0, 2.0 * t / n2, n2 > 0.0);
        k = 0u;
        for (; k + 4u <= c; k += 4u) {
            cp_w[row + k] -= f * cp_v[vr + k];
            cp_w[row + k + 1u] -= f * cp_v[vr + k + 1u];
            cp_w[row + k + 2u] -= f * cp_v[vr + k + 2u];
            cp_w[row + k + 3u] -= f * cp_v[vr + k + 3u];
        }
        for (; k < c; k++) { cp_w[row + k] -= f * cp_v[vr + k]; }
    }
    for (var k = 0u; k < c; k++) { cp_winv[k * c + i] = cp_w[row + k]; }
}

#endif

#ifdef GRAD
// ---- grad: grad_v += dL/dv from dL/dW, one workgroup of 64 ----
// Walk r = R..1 from A = W, G = dW (scratch: A, then G):
//   A <- A H_r (= H_1 ... H_{r-1});  p = G u, q = A u;  du = -2 (A^T p + G^T q);
//   dv_r = (du - u (u.du)) / |v_r|;  G <- G H_r.
// Invocation lid owns rows lid, lid + 64, ... (A / G updates, p, q) and columns lid, lid + 64, ...
// (du). q = A_r u = -A_{r+1} u, and u.du = -4 p.q (as A_r u = q, G_r u = p).
// About R (ceil(C/64) C + 30) loop iterations per invocation: exact on lavapipe (which stops an
// invocation's loops after 65535 in total) up to C = R = 136 (measured; wrong from 137).
@group(0) @binding(1) var<storage, read> hg_v: array<f32>;             // [R, C]
@group(0) @binding(2) var<storage, read> hg_w: array<f32>;             // [C, C]
@group(0) @binding(3) var<storage, read> hg_dw: array<f32>;            // [C, C]
@group(0) @binding(4) var<storage, read_write> hg_gv: array<f32>;      // [R, C]
@group(0) @binding(5) var<storage, read_write> hg_s: array<f32>;       // [2, C, C]: A, G

var<workgroup> hg_u: array<f32, CMAX>;
var<workgroup> hg_p: array<f32, CMAX>;
var<workgroup> hg_q: array<f32, CMAX>;

@compute @workgroup_size(64)
fn grad(@builtin(local_invocation_index) lid: u32) {
    let c = p.c;
    let cc = c * c;
    for (var i = lid; i < c; i += WG) {
        for (var k = 0u; k < c; k++) {
            hg_s[i * c + k] = hg_w[i * c + k];
            hg_s[cc + i * c + k] = hg_dw[i * c + k];
        }
    }
    for (var rr = 0u; rr < p.r; rr++) {
        let vr = (p.r - 1u - rr) * c;
        // u = v_r / |v_r| (0 for v_r = 0)
        var part = 0.0;
        for (var j = lid; j < c; j += WG) { part += hg_v[vr + j] * hg_v[vr + j]; }
        let n2 = wg_sum(lid, part);
        let inv = select(0.0, 1.0 / sqrt(n2), n2 > 0.0);
        for (var j = lid; j < c; j += WG) { hg_u[j] = hg_v[vr + j] * inv; }
        workgroupBarrier();
        // rows: s = A_i.u, A_i -= 2 s u, q_i = -s; p_i = G_i.u
        var pq = 0.0;
        for (var i = lid; i < c; i += WG) {
            let ra = i * c;
            let rg = cc + i * c;
            var s = 0.0;
            var pi = 0.0;
            var k = 0u;
            for (; k + 4u <= c; k += 4u) {
                let u0 = hg_u[k];
                let u1 = hg_u[k + 1u];
                let u2 = hg_u[k + 2u];
                let u3 = hg_u[k + 3u];
                s += hg_s[ra + k] * u0 + hg_s[ra + k + 1u] * u1 + hg_s[ra + k + 2u] * u2 + hg_s[ra + k + 3u] * u3;
                pi += hg_s[rg + k] * u0 + hg_s[rg + k + 1u] * u1 + hg_s[rg + k + 2u] * u2 + hg_s[rg + k + 3u] * u3;
            }
            for (; k < c; k++) {
                s += hg_s[ra + k] * hg_u[k];
                pi += hg_s[rg + k] * hg_u[k];
            }
            let s2 = 2.0 * s;
            k = 0u;
            for (; k + 4u <= c; k += 4u) {
                hg_s[ra + k] -= s2 * hg_u[k];
                hg_s[ra + k + 1u] -= s2 * hg_u[k + 1u];
                hg_s[ra + k + 2u] -= s2 * hg_u[k + 2u];
                hg_s[ra + k + 3u] -= s2 * hg_u[k + 3u];
            }
            for (; k < c; k++) { hg_s[ra + k] -= s2 * hg_u[k]; }
            hg_p[i] = pi;
            hg_q[i] = -s;
            pq -= pi * s;
        }
        let pq_all = wg_sum(lid, pq);
        storageBarrier();
        workgroupBarrier();
        // columns: du_j = -2 sum_i (A_ij p_i + G_ij q_i); dv_j = (du_j + 4 (p.q) u_j) / |v_r|
        for (var j = lid; j < c; j += WG) {
            var d = 0.0;
            var i = 0u;
            for (; i + 4u <= c; i += 4u) {
                let a = i * c + j;
                d += hg_s[a] * hg_p[i] + hg_s[cc + a] * hg_q[i]
                    + hg_s[a + c] * hg_p[i + 1u] + hg_s[cc + a + c] * hg_q[i + 1u]
                    + hg_s[a + 2u * c] * hg_p[i + 2u] + hg_s[cc + a + 2u * c] * hg_q[i + 2u]
                    + hg_s[a + 3u * c] * hg_p[i + 3u] + hg_s[cc + a + 3u * c] * hg_q[i + 3u];
            }
            for (; i < c; i++) { d += hg_s[i * c + j] * hg_p[i] + hg_s[cc + i * c + j] * hg_q[i]; }
            hg_gv[vr + j] += (-2.0 * d + 4.0 * pq_all * hg_u[j]) * inv;
        }
        storageBarrier();
        workgroupBarrier();
        // rows: G_i -= 2 p_i u
        for (var i = lid; i < c; i += WG) {
            let rg = cc + i * c;
            let p2 = 2.0 * hg_p[i];
            var k = 0u;
            for (; k + 4u <= c; k += 4u) {
                hg_s[rg + k] -= p2 * hg_u[k];
                hg_s[rg + k + 1u] -= p2 * hg_u[k + 1u];
                hg_s[rg + k + 2u] -= p2 * hg_u[k + 2u];
                hg_s[rg + k + 3u] -= p2 * hg_u[k + 3u];
            }
            for (; k < c; k++) { hg_s[rg + k] -= p2 * hg_u[k]; }
        }
        workgroupBarrier();
    }
}
#endif

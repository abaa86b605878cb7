//! The convolution ops on the CPU backend (f32 / f64), as GEMMs of good shape plus parallel
//! gathers, with scratch from the plan's pool.
//!
//! Notation: output pixel `o`, input pixel `q`, tap `t` with offset `d_t = (t / k − k/2, t % k −
//! k/2)`; the forward is `acc[o, co] = Σ_t Σ_ci xpad[o + d_t, ci]·W[t, ci, co]` with the edge
//! channel 1 outside the image. Three shapes of the same products:
//! - im2col: `patch[o, (t, ci)] = xpad[o + d_t, ci]` (edge channel a real column), `acc = patch·W`;
//! - taps (few outputs): `Z = x·W'` with all taps as columns, then `acc[o] = Σ_t Z[o + d_t, t]`;
//! - the gradient gather `D[q, (t, co)] = dacc[q − d_t, co]`, so `dx = D·Wᵀ'` and
//!   `dW[t] = xᵀ·D[·, t]`: one GEMM of inner size `k·k·cout` where `cout` is small.
//!
//! Weight gradients are summed per fixed chunk of `WEIGHT_CHUNK` pixels, in chunk order: the
//! result does not depend on the thread count. The forward pass is in `cpu_forward.rs`.
use super::{ConvBackwardData, ConvBackwardWeight, ConvParams, WEIGHT_CHUNK};
use crate::ops::{CpuCtx, Real};
use crate::platform;

/// Elements of an im2col / gather scratch per chunk of pixels (4 MiB of f32).
pub(super) const CHUNK_ELEMS: usize = 1 << 20;
/// Pixels per parallel task of the gathers and elementwise loops.
pub(super) const TASK_PIXELS: usize = 256;

#[derive(Clone, Copy)]
pub(super) struct Geo {
    pub(super) h: usize,
    pub(super) w: usize,
    pub(super) cin: usize,
    pub(super) cout: usize,
    pub(super) k: usize,
    /// Weight rows per tap: `cin + edge`.
    pub(super) rows: usize,
    /// `k·k·rows`.
    pub(super) kk: usize,
    pub(super) np: usize,
    pub(super) stride: usize,
    pub(super) off: usize,
    pub(super) edge: bool,
}

impl Geo {
    pub(super) fn of(p: &ConvParams) -> Geo {
        let (cin, k) = (p.cin as usize, p.k as usize);
        let rows = cin + p.edge as usize;
        Geo {
            h: p.h as usize,
            w: p.w as usize,
            cin,
            cout: p.cout as usize,
            k,
            rows,
            kk: k * k * rows,
            np: p.pixels(),
            stride: p.cin_stride as usize,
            off: p.cin_off as usize,
            edge: p.edge == 1,
        }
    }
    /// Image, row and column of pixel `o`.
    pub(super) fn pos(&self, o: usize) -> (usize, usize, usize) {
        (o / (self.w * self.h), (o / self.w) % self.h, o % self.w)
    }
    /// The pixel at `(y, x)` of image `b` if it is inside the image.
    pub(super) fn at(&self, b: usize, y: isize, x: isize) -> Option<usize> {
        (y >= 0 && x >= 0 && (y as usize) < self.h && (x as usize) < self.w)
            .then(|| (b * self.h + y as usize) * self.w + x as usize)
    }
    pub(super) fn tap(&self, t: usize) -> (isize, isize) {
        let half = (self.k / 2) as isize;
        ((t / self.k) as isize - half, (t % self.k) as isize - half)
    }
}

/// `c[i·c_rs + j] (+)= Σ_l a[i·a_rs + l·a_cs]·b[l·b_rs + j·b_cs]` for `i < m, j < n, l < k` (the
/// gemm crate; on all cores when `par` and the product is large).
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_into<T: Real>(
    (m, n, k): (usize, usize, usize),
    a: &[T],
    (a_rs, a_cs): (usize, usize),
    b: &[T],
    (b_rs, b_cs): (usize, usize),
    c: &mut [T],
    c_rs: usize,
    accumulate: bool,
    par: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k > 0 {
        assert!(a.len() > (m - 1) * a_rs + (k - 1) * a_cs && b.len() > (k - 1) * b_rs + (n - 1) * b_cs);
    }
    assert!(c.len() > (m - 1) * c_rs + n - 1 && c_rs >= n);
    let parts = if par { platform::gemm_parts(m, m * n * k) } else { 1 };
    if parts > 1 {
        // row blocks of `c`, one gemm call each (the threaded wasm build)
        let rows = m.div_ceil(parts);
        let c = &mut c[..(m - 1) * c_rs + n];
        platform::par_chunks(c, rows * c_rs, |i, part| {
            let r0 = i * rows;
            let mi = rows.min(m - r0);
            gemm_into((mi, n, k), &a[r0 * a_rs..], (a_rs, a_cs), b, (b_rs, b_cs), part, c_rs, accumulate, false);
        });
        return;
    }
    let parallelism = if par { platform::gemm_parallelism(m * n * k) } else { gemm_common::Parallelism::None };
    // The kernels want a column-major destination: a row-major `c` (`c_rs > 1`) is computed as
    // `cᵀ = bᵀ·aᵀ`, as the `gemm` crate's own entry point does before it picks the kernel (without
    // this the kernels ran 1.3-1.5x slower here).
    let is = |v: usize| v as isize;
    // (rows, cols, dst col stride, dst row stride, lhs, lhs strides, rhs, rhs strides)
    let ((mm, nn), (dcs, drs), (l, lcs, lrs), (r, rcs, rrs)) = if c_rs > 1 {
        ((n, m), (is(c_rs), 1), (b.as_ptr(), is(b_rs), is(b_cs)), (a.as_ptr(), is(a_rs), is(a_cs)))
    } else {
        ((m, n), (1, is(c_rs)), (a.as_ptr(), is(a_cs), is(a_rs)), (b.as_ptr(), is(b_cs), is(b_rs)))
    };
    // SAFETY: the asserts bound every index the strides reach; rows of `c` do not overlap.
    unsafe {
        T::gemm_fn()(
            mm,
            nn,
            k,
            c.as_mut_ptr(),
            dcs,
            drs,
            accumulate,
            l,
            lcs,
            lrs,
            r,
            rcs,
            rrs,
            T::one(),
            T::one(),
            false,
            false,
            false,
            parallelism,
        )
    }
}

/// Fills `patch` (whole rows of `g.kk`) with the im2col rows of pixels `start..`, in parallel.
pub(super) fn im2col<T: Real>(patch: &mut [T], start: usize, x: &[T], g: &Geo) {
    let per = platform::pixels_per_task(patch.len() / g.kk.max(1), g.kk, TASK_PIXELS);
    platform::par_chunks(patch, per * g.kk, |i, part| im2col_rows(part, start + i * per, x, g));
}

/// [`im2col`] on this thread.
pub(super) fn im2col_rows<T: Real>(patch: &mut [T], start: usize, x: &[T], g: &Geo) {
    for (r, row) in patch.chunks_exact_mut(g.kk).enumerate() {
        let (b, yy, xx) = g.pos(start + r);
        for (t, dst) in row.chunks_exact_mut(g.rows).enumerate() {
            let (dy, dx) = g.tap(t);
            let q = g.at(b, yy as isize + dy, xx as isize + dx);
            match q {
                Some(q) => dst[..g.cin].copy_from_slice(&x[q * g.stride + g.off..q * g.stride + g.off + g.cin]),
                None => dst[..g.cin].iter_mut().for_each(|v| *v = T::zero()),
            }
            if g.edge {
                dst[g.cin] = if q.is_some() { T::zero() } else { T::one() };
            }
        }
    }
}

/// Fills `d` (whole rows of `k·k·cout`) with the gradient gather `D[q, (t, co)] = dacc[q − d_t, co]`
/// of pixels `start..`, in parallel.
fn gather_dacc<T: Real>(d: &mut [T], start: usize, dacc: &[T], g: &Geo) {
    let kd = g.k * g.k * g.cout;
    platform::par_chunks(d, TASK_PIXELS * kd, |i, part| {
        for (r, row) in part.chunks_exact_mut(kd).enumerate() {
            let (b, yy, xx) = g.pos(start + i * TASK_PIXELS + r);
            for (t, dst) in row.chunks_exact_mut(g.cout).enumerate() {
                let (dy, dx) = g.tap(t);
                match g.at(b, yy as isize - dy, xx as isize - dx) {
                    Some(o) => dst.copy_from_slice(&dacc[o * g.cout..(o + 1) * g.cout]),
                    None => dst.iter_mut().for_each(|v| *v = T::zero()),
                }
            }
        }
    });
}

/// `Wt[(t, co), ci] = W[t, ci, co]` (edge row dropped): the weight as the gather's right factor.
fn weight_by_tap_output<T: Real>(wt: &[T], g: &Geo, out: &mut [T]) {
    for t in 0..g.k * g.k {
        for ci in 0..g.cin {
            let src = &wt[(t * g.rows + ci) * g.cout..(t * g.rows + ci + 1) * g.cout];
            for (co, &v) in src.iter().enumerate() {
                out[(t * g.cout + co) * g.cin + ci] = v;
            }
        }
    }
}

impl ConvBackwardData {
    /// `dx (+)= ∂acc/∂x · dacc`: a 1x1 conv is one GEMM into the `dx` slice; with at most as many
    /// outputs as inputs, the gradient gather `D` (inner size `k·k·cout`) times the weight; with
    /// more outputs (the coupling net's first conv), `Z = dacc·Wᵀ` (inner size `cout`) then a
    /// parallel gather of the taps.
    pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) {
        let g = Geo::of(&self.p);
        let acc = self.p.accumulate == 1;
        let mut dxb = ctx.take(self.dx);
        let dx = &mut dxb[..g.np * g.stride];
        if g.k == 1 && !g.edge {
            let (dacc, wt) = (ctx.get(self.dacc), ctx.param(&self.weight));
            let dxs = &mut dx[g.off..];
            gemm_into((g.np, g.cin, g.cout), dacc, (g.cout, 1), wt, (1, g.cout), dxs, g.stride, acc, true);
        } else if g.cout <= g.cin {
            let kd = g.k * g.k * g.cout;
            let chunk = (CHUNK_ELEMS / kd).clamp(1, g.np);
            let mut wtt = ctx.scratch(kd * g.cin);
            let mut d = ctx.scratch(chunk * kd);
            let (dacc, wt) = (ctx.get(self.dacc), ctx.param(&self.weight));
            weight_by_tap_output(wt, &g, &mut wtt);
            for start in (0..g.np).step_by(chunk) {
                let m = chunk.min(g.np - start);
                let dm = &mut d[..m * kd];
                gather_dacc(dm, start, dacc, &g);
                let dxs = &mut dx[start * g.stride + g.off..];
                gemm_into((m, g.cin, kd), dm, (kd, 1), &wtt, (g.cin, 1), dxs, g.stride, acc, true);
            }
            ctx.recycle(d);
            ctx.recycle(wtt);
        } else {
            let mut z = ctx.scratch(g.np * g.kk);
            let (dacc, wt) = (ctx.get(self.dacc), ctx.param(&self.weight));
            // Z[o, (t, ci)] = Σ_co dacc[o, co]·W[(t, ci), co]
            gemm_into((g.np, g.kk, g.cout), dacc, (g.cout, 1), wt, (1, g.cout), &mut z, g.kk, false, true);
            let zr = &z;
            platform::par_chunks(dx, TASK_PIXELS * g.stride, |i, part| {
                for (r, row) in part.chunks_mut(g.stride).enumerate() {
                    let (b, yy, xx) = g.pos(i * TASK_PIXELS + r);
                    let dst = &mut row[g.off..g.off + g.cin];
                    if !acc {
                        dst.iter_mut().for_each(|v| *v = T::zero());
                    }
                    for t in 0..g.k * g.k {
                        let (dy, dxo) = g.tap(t);
                        if let Some(o) = g.at(b, yy as isize - dy, xx as isize - dxo) {
                            let src = &zr[o * g.kk + t * g.rows..o * g.kk + t * g.rows + g.cin];
                            dst.iter_mut().zip(src).for_each(|(d, &s)| *d = *d + s);
                        }
                    }
                }
            });
            ctx.recycle(z);
        }
        ctx.put(self.dx, dxb);
    }
}

/// A weight-gradient task: its scratch and its chunks' partial-product slices.
type TaskChunks<'a, T> = (Vec<T>, Vec<(usize, &'a mut [T])>);

impl ConvBackwardWeight {
    /// `grad.<weight> += Σ_pixels xpad(pixel + tap)ᵀ·dacc(pixel)`, as one partial GEMM per chunk of
    /// `WEIGHT_CHUNK` pixels (in parallel, each with its own scratch), summed in chunk order.
    /// Shapes: a 1x1 conv reads `x` itself (`xᵀ·dacc`); with at most as many outputs as inputs,
    /// `xᵀ·D` over the gradient gather (and the edge row from `dacc` on the border); otherwise
    /// `patchᵀ·dacc` over im2col rows.
    pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) {
        let g = Geo::of(&self.p);
        let name = format!("grad.{}", self.weight);
        let mut gw =
            std::mem::take(ctx.params.get_mut(&name).unwrap_or_else(|| panic!("graph needs parameter {name}")));
        let chunks = g.np.div_ceil(WEIGHT_CHUNK);
        let one_by_one = g.k == 1 && !g.edge && g.cin > 0;
        let gather = !one_by_one && g.k == 3 && g.cout <= g.cin && g.cin > 0;
        let kd = g.k * g.k * g.cout;
        // the partial product's shape [pm, pn] and each task's scratch
        let (pm, pn, work) = if one_by_one {
            (g.cin, g.cout, 0)
        } else if gather {
            (g.cin, kd, WEIGHT_CHUNK.min(g.np) * kd)
        } else {
            (g.kk, g.cout, WEIGHT_CHUNK.min(g.np) * g.kk)
        };
        let tasks = platform::threads().clamp(1, chunks);
        // fewer chunks than threads: each chunk's GEMM runs on all cores itself (gemm splits its
        // rows and columns, never the sum, so the result does not change)
        let inner_par = chunks < platform::threads();
        let mut parts = ctx.scratch(chunks * pm * pn);
        let works: Vec<Vec<T>> = (0..tasks).map(|_| ctx.scratch(work)).collect();
        let x = if g.cin > 0 { ctx.get(self.x) } else { &[][..] };
        let dacc = &ctx.get(self.dacc)[..g.np * g.cout];
        // task i computes chunks i, i + tasks, ... into their own slices of `parts`
        let mut per_task: Vec<TaskChunks<T>> = works.into_iter().map(|w| (w, Vec::new())).collect();
        for (c, part) in parts.chunks_mut(pm * pn).enumerate() {
            per_task[c % tasks].1.push((c, part));
        }
        let works = platform::par_items(per_task, |(mut work, mine)| {
            for (c, part) in mine {
                let q0 = c * WEIGHT_CHUNK;
                let m = WEIGHT_CHUNK.min(g.np - q0);
                let dc = &dacc[q0 * g.cout..(q0 + m) * g.cout];
                if one_by_one {
                    let xs = &x[q0 * g.stride + g.off..];
                    gemm_into((pm, pn, m), xs, (1, g.stride), dc, (g.cout, 1), part, pn, false, inner_par);
                } else if gather {
                    let d = &mut work[..m * kd];
                    gather_dacc(d, q0, dacc, &g);
                    let xs = &x[q0 * g.stride + g.off..];
                    gemm_into((pm, pn, m), xs, (1, g.stride), d, (kd, 1), part, pn, false, inner_par);
                } else {
                    let patch = &mut work[..m * g.kk];
                    im2col(patch, q0, x, &g);
                    gemm_into((pm, pn, m), patch, (1, g.kk), dc, (g.cout, 1), part, pn, false, inner_par);
                }
            }
            work
        });
        // sum the chunks in order; the gather's [ci, (t, co)] goes to W's [t, ci, co]
        let parts_r = &parts;
        let sum = |j: usize| (0..chunks).fold(T::zero(), |a, c| a + parts_r[c * pm * pn + j]);
        if gather {
            for ci in 0..g.cin {
                for t in 0..g.k * g.k {
                    for co in 0..g.cout {
                        let dst = &mut gw[(t * g.rows + ci) * g.cout + co];
                        *dst = *dst + sum(ci * kd + t * g.cout + co);
                    }
                }
            }
            if g.edge {
                edge_row_gradient(&mut gw, dacc, &g);
            }
        } else {
            for (j, dst) in gw[..pm * pn].iter_mut().enumerate() {
                *dst = *dst + sum(j);
            }
        }
        for w in works {
            ctx.recycle(w);
        }
        ctx.recycle(parts);
        ctx.params.insert(name, gw);
    }
}

/// The edge row's weight gradient `gw[t, cin, co] += Σ_{o : o + d_t outside} dacc[o, co]` (only
/// border pixels have taps outside).
fn edge_row_gradient<T: Real>(gw: &mut [T], dacc: &[T], g: &Geo) {
    let mut acc = vec![T::zero(); g.k * g.k * g.cout];
    for o in 0..g.np {
        let (b, yy, xx) = g.pos(o);
        if yy > 0 && xx > 0 && yy + 1 < g.h && xx + 1 < g.w {
            continue;
        }
        for t in 0..g.k * g.k {
            let (dy, dx) = g.tap(t);
            if g.at(b, yy as isize + dy, xx as isize + dx).is_none() {
                let a = &mut acc[t * g.cout..(t + 1) * g.cout];
                a.iter_mut().zip(&dacc[o * g.cout..(o + 1) * g.cout]).for_each(|(a, &d)| *a = *a + d);
            }
        }
    }
    for t in 0..g.k * g.k {
        for co in 0..g.cout {
            let dst = &mut gw[(t * g.rows + g.cin) * g.cout + co];
            *dst = *dst + acc[t * g.cout + co];
        }
    }
}

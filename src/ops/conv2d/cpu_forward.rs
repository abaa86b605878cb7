//! The convolution's forward pass on the CPU backend (the shapes of `cpu.rs`'s notation).
//!
//! A big conv runs as tasks over blocks of output pixels, each on one thread with its scratch in
//! the core's cache: its im2col rows or tap products, one single-threaded GEMM, the shift-and-add
//! of the taps and the epilogue, before the next block. The products and the epilogue are the
//! same per pixel as in one GEMM over the whole image (gemm cuts its sum by `k` alone), so the
//! result does not depend on the cut; what changes is that the tap products (9 times the output)
//! and the output itself are no longer written to memory and read back.
use super::cpu::{gemm_into, im2col, im2col_rows, Geo, CHUNK_ELEMS, TASK_PIXELS};
use super::Conv2d;
use crate::ops::{CpuCtx, Real};
use crate::platform;

/// Scratch and output bytes a task works in (half the 1 MiB L2 of a core here).
const TASK_BYTES: usize = 512 << 10;

#[derive(Clone, Copy, PartialEq)]
enum Shape {
    /// A plain 1x1 conv: one GEMM on the input itself (any channel slice).
    OneByOne,
    /// A 3x3 conv with fewer outputs than inputs: `Z = x·W'` with all taps as columns, then the
    /// shift-and-add `acc[o] = Σ_t Z[o + d_t, t]`.
    Taps,
    /// im2col rows times the weight.
    Im2col,
}

/// How [`Conv2d::cpu`] cuts a conv.
struct Blocking {
    shape: Shape,
    /// Scratch elements per output pixel.
    per_px: usize,
    /// Pixels either side of a block whose tap products the block needs.
    halo: usize,
    /// Output pixels per block.
    block: usize,
}

impl Blocking {
    fn of(g: &Geo, elem_bytes: usize) -> Blocking {
        let shape = if g.k == 1 && !g.edge && g.cin > 0 {
            Shape::OneByOne
        } else if g.k == 3 && g.cout < g.cin {
            Shape::Taps
        } else {
            Shape::Im2col
        };
        let (per_px, halo) = match shape {
            Shape::OneByOne => (0, 0),
            Shape::Taps => (9 * g.cout, g.w + 1),
            Shape::Im2col => (g.kk, 0),
        };
        let block = (TASK_BYTES / elem_bytes / (per_px + g.cout).max(1)).max(1);
        Blocking { shape, per_px, halo, block }
    }
}

impl Conv2d {
    /// The output pixels per block [`Conv2d::cpu`] runs this conv in on `threads` threads with
    /// `elem_bytes`-byte floats, or `None` where it runs each stage over the whole image (tests
    /// check that their shapes reach both).
    pub fn cpu_block(&self, threads: usize, elem_bytes: usize) -> Option<usize> {
        let g = Geo::of(&self.p);
        let b = Blocking::of(&g, elem_bytes);
        (g.np >= 2 * threads * b.block).then_some(b.block)
    }

    /// The conv, then the epilogue and ReLU. Big convs run in pixel blocks with the epilogue
    /// fused (see the module docs); a conv too small to give each thread two blocks runs each
    /// stage over the whole image on all threads.
    pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) {
        let p = self.p;
        let g = Geo::of(&p);
        let Blocking { shape, per_px, halo, block } = Blocking::of(&g, std::mem::size_of::<T>());
        let kc = 9 * g.cout;
        let threads = platform::threads();
        let blocked = g.np >= 2 * threads * block;
        let epi = Epilogue::of(self, ctx, g.cout);
        let mut ybuf = ctx.take(self.y);
        let y = &mut ybuf[..g.np * g.cout];
        // the weight as the taps GEMM's right factor: wa[ci, (t, co)] = W[t, ci, co]
        let mut wa = ctx.scratch(if shape == Shape::Taps { g.cin * kc } else { 0 });
        if shape == Shape::Taps {
            let wt = ctx.param(&self.weight);
            for t in 0..9 {
                for ci in 0..g.cin {
                    let src = (t * g.rows + ci) * g.cout;
                    wa[ci * kc + t * g.cout..ci * kc + (t + 1) * g.cout].copy_from_slice(&wt[src..src + g.cout]);
                }
            }
        }
        if blocked {
            let mut slots = ctx.scratch(threads * (block + 2 * halo) * per_px);
            let x = if g.cin > 0 { ctx.get(self.x) } else { &[][..] };
            let wt = ctx.param(&self.weight);
            platform::par_chunks_scratch(y, block * g.cout, &mut slots, |i, ys, work| {
                let (s, m) = (i * block, ys.len() / g.cout);
                match shape {
                    Shape::OneByOne => {
                        let xs = &x[s * g.stride + g.off..];
                        gemm_into((m, g.cout, g.cin), xs, (g.stride, 1), wt, (g.cout, 1), ys, g.cout, false, false);
                    }
                    Shape::Taps => {
                        let (z0, z1) = (s.saturating_sub(halo), (s + m + halo).min(g.np));
                        let z = &mut work[..(z1 - z0) * kc];
                        let xs = &x[z0 * g.stride + g.off..];
                        gemm_into((z1 - z0, kc, g.cin), xs, (g.stride, 1), &wa, (kc, 1), z, kc, false, false);
                        add_taps(ys, s, z, z0, wt, &g);
                    }
                    Shape::Im2col => {
                        let patch = &mut work[..m * g.kk];
                        im2col_rows(patch, s, x, &g);
                        gemm_into((m, g.cout, g.kk), patch, (g.kk, 1), wt, (g.cout, 1), ys, g.cout, false, false);
                    }
                }
                epi.apply(ys);
            });
            ctx.recycle(slots);
        } else {
            whole(shape, self, ctx, y, &wa, &g);
            if epi.active() {
                let per = platform::pixels_per_task(g.np, g.cout, TASK_PIXELS);
                platform::par_chunks(y, per * g.cout, |_, part| epi.apply(part));
            }
        }
        ctx.recycle(wa);
        ctx.put(self.y, ybuf);
    }
}

/// The conv over the whole image, each stage on all threads.
fn whole<T: Real>(shape: Shape, c: &Conv2d, ctx: &mut CpuCtx<T>, y: &mut [T], wa: &[T], g: &Geo) {
    match shape {
        Shape::OneByOne => {
            let (x, wt) = (ctx.get(c.x), ctx.param(&c.weight));
            gemm_into((g.np, g.cout, g.cin), &x[g.off..], (g.stride, 1), wt, (g.cout, 1), y, g.cout, false, true);
        }
        Shape::Taps => {
            let kc = 9 * g.cout;
            let mut z = ctx.scratch(g.np * kc);
            let (x, wt) = (ctx.get(c.x), ctx.param(&c.weight));
            gemm_into((g.np, kc, g.cin), &x[g.off..], (g.stride, 1), wa, (kc, 1), &mut z, kc, false, true);
            let zr = &z;
            let per = platform::pixels_per_task(g.np, g.cout, TASK_PIXELS);
            platform::par_chunks(y, per * g.cout, |i, part| add_taps(part, i * per, zr, 0, wt, g));
            ctx.recycle(z);
        }
        Shape::Im2col => {
            let chunk = (CHUNK_ELEMS / g.kk.max(1)).clamp(1, g.np);
            let mut patch = ctx.scratch(chunk * g.kk);
            let x = if g.cin > 0 { ctx.get(c.x) } else { &[][..] };
            let wt = ctx.param(&c.weight);
            for start in (0..g.np).step_by(chunk) {
                let m = chunk.min(g.np - start);
                let pm = &mut patch[..m * g.kk];
                im2col(pm, start, x, g);
                let ys = &mut y[start * g.cout..(start + m) * g.cout];
                gemm_into((m, g.cout, g.kk), pm, (g.kk, 1), wt, (g.cout, 1), ys, g.cout, false, true);
            }
            ctx.recycle(patch);
        }
    }
}

/// `y[o] = Σ_t Z[o + d_t, t]` for the output rows `ys` of pixels `start..`, taps in order; `z`
/// holds the tap products of pixels `z0..`; an out-of-image tap adds the edge row of `wt`.
fn add_taps<T: Real>(ys: &mut [T], start: usize, z: &[T], z0: usize, wt: &[T], g: &Geo) {
    let kc = 9 * g.cout;
    // inside the image's border every tap is in: Z's row for tap t is `o − z0` plus a fixed offset
    let inner: [isize; 9] = std::array::from_fn(|t| {
        let (dy, dx) = g.tap(t);
        (dy * g.w as isize + dx) * kc as isize + (t * g.cout) as isize
    });
    for (r, yo) in ys.chunks_exact_mut(g.cout).enumerate() {
        let (b, yy, xx) = g.pos(start + r);
        yo.iter_mut().for_each(|v| *v = T::zero());
        if yy > 0 && xx > 0 && yy + 1 < g.h && xx + 1 < g.w {
            let at = ((start + r - z0) * kc) as isize;
            for off in inner {
                let add = &z[(at + off) as usize..][..g.cout];
                yo.iter_mut().zip(add).for_each(|(a, &b)| *a = *a + b);
            }
            continue;
        }
        for t in 0..9 {
            let (dy, dx) = g.tap(t);
            let add = match g.at(b, yy as isize + dy, xx as isize + dx) {
                Some(q) => &z[(q - z0) * kc + t * g.cout..(q - z0) * kc + (t + 1) * g.cout],
                None if g.edge => &wt[(t * g.rows + g.cin) * g.cout..(t * g.rows + g.cin + 1) * g.cout],
                None => continue,
            };
            yo.iter_mut().zip(add).for_each(|(a, &b)| *a = *a + b);
        }
    }
}

/// `y = (acc + bias)·exp(3·logs)` and / or ReLU, per output channel.
struct Epilogue<T> {
    affine: Option<(Vec<T>, Vec<T>)>,
    relu: bool,
}

impl<T: Real> Epilogue<T> {
    fn of(c: &Conv2d, ctx: &CpuCtx<T>, cout: usize) -> Self {
        let affine = (c.p.epilogue == 1).then(|| {
            let b = ctx.param(c.bias.as_ref().expect("epilogue bias"))[..cout].to_vec();
            let l = ctx.param(c.logs.as_ref().expect("epilogue logs"));
            (b, l[..cout].iter().map(|&l| (l * T::f(3.0)).exp()).collect())
        });
        Epilogue { affine, relu: c.p.relu == 1 }
    }

    fn active(&self) -> bool {
        self.affine.is_some() || self.relu
    }

    fn apply(&self, rows: &mut [T]) {
        match &self.affine {
            Some((b, s)) => {
                for row in rows.chunks_exact_mut(b.len()) {
                    for ((v, &bk), &sk) in row.iter_mut().zip(b).zip(s) {
                        let e = (*v + bk) * sk;
                        *v = if self.relu { e.max(T::zero()) } else { e };
                    }
                }
            }
            None if self.relu => rows.iter_mut().for_each(|v| *v = v.max(T::zero())),
            None => {}
        }
    }
}

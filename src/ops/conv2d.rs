//! 2-D convolution, NHWC, stride 1, kernel 1x1 or 3x3 with SAME zero padding, weights
//! `[k, k, cin + edge, cout]` (HWIO, TF order), no bias in the conv itself.
//! - `edge = 1`: the official edge-bias padding: an extra input channel that is 1 on padded
//!   pixels and 0 inside, realised without materialising it (an out-of-image tap adds the extra
//!   weight row).
//! - Epilogue (optional): `y = (acc + bias) · exp(3·logs)`, which is both the actnorm that follows
//!   the coupling net's convs and `conv2d_zeros`'s scaled output; then optional ReLU.
//! - The input may be a channel slice `[cin_off, cin_off + cin)` of a tensor with `cin_stride`
//!   channels (the coupling net reads `z1` in place).
//! - Also the invertible 1x1 conv (`y = x·W`) and the dense layers of the class head.
//!
//!
//! Shader: `shaders/conv2d.wgsl`: `forward` (any channel layout; 4 output pixels of a row x 8
//! outputs per invocation) and `forward_v4` (input channels in whole vec4s; 4 pixels x 16 outputs,
//! vec4 loads along the input channels). Weights are packed per row to a multiple of 16 outputs.
use bytemuck::{Pod, Zeroable};

use super::{groups, uniform, CpuCtx, Real};
use crate::graph::{Access, Bind, BufId, GpuCall, Layout};
use crate::platform;

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct ConvParams {
    pub n: u32,
    pub h: u32,
    pub w: u32,
    pub cin: u32,
    pub cin_stride: u32,
    pub cin_off: u32,
    pub cout: u32,
    /// cout rounded up to a multiple of 16 (packed weight row length).
    pub cout_pad: u32,
    /// 1 or 3.
    pub k: u32,
    pub edge: u32,
    pub epilogue: u32,
    pub relu: u32,
}

impl ConvParams {
    pub fn new(n: usize, h: usize, w: usize, cin: usize, cout: usize, k: usize, edge: bool) -> Self {
        ConvParams {
            n: n as u32,
            h: h as u32,
            w: w as u32,
            cin: cin as u32,
            cin_stride: cin as u32,
            cin_off: 0,
            cout: cout as u32,
            cout_pad: cout.div_ceil(16) as u32 * 16,
            k: k as u32,
            edge: edge as u32,
            epilogue: 0,
            relu: 0,
        }
    }
    /// Whether the input can be read as vec4 along channels (`forward_v4`).
    pub fn vec4_input(&self) -> bool {
        self.cin > 0 && self.cin % 4 == 0 && self.cin_stride % 4 == 0 && self.cin_off % 4 == 0
    }
    pub fn pixels(&self) -> usize {
        (self.n * self.h * self.w) as usize
    }
    /// Multiply-adds x2.
    pub fn flops(&self) -> f64 {
        2.0 * self.pixels() as f64 * (self.k * self.k * self.cin) as f64 * self.cout as f64
    }
}

#[derive(Clone, Debug)]
pub struct Conv2d {
    pub x: BufId,
    pub y: BufId,
    pub weight: String,
    /// Epilogue parameters (`p.epilogue = 1`).
    pub bias: Option<String>,
    pub logs: Option<String>,
    pub p: ConvParams,
}

impl Conv2d {
    pub fn gpu(&self) -> GpuCall {
        let opt = |o: &Option<String>| match o {
            Some(n) => Bind::Param(n.clone(), Layout::Plain, Access::Read),
            None => Bind::Dummy,
        };
        let p = &self.p;
        let v4 = p.vec4_input();
        let per_block = if v4 { 16 } else { 8 };
        let blocks = p.pixels() / p.w as usize * (p.w as usize).div_ceil(4) * (p.cout as usize).div_ceil(per_block);
        GpuCall {
            shader: "conv2d",
            entry: if v4 { "forward_v4" } else { "forward" },
            uniform: uniform(p),
            base: if v4 { 6 } else { 1 },
            binds: vec![
                if p.cin > 0 { Bind::Buf(self.x, Access::Read) } else { Bind::Dummy },
                Bind::Param(self.weight.clone(), Layout::ConvPacked { cout: p.cout }, Access::Read),
                opt(&self.bias),
                opt(&self.logs),
                Bind::Buf(self.y, Access::ReadWrite),
            ],
            workgroups: groups(blocks, 64),
        }
    }

    pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) {
        let p = self.p;
        let (n, h, w) = (p.n as usize, p.h as usize, p.w as usize);
        let (cin, cout, k) = (p.cin as usize, p.cout as usize, p.k as usize);
        let np = n * h * w;
        let mut ybuf = ctx.take(self.y);
        let y = &mut ybuf[..np * cout];
        y.iter_mut().for_each(|v| *v = T::zero());
        let wt = ctx.param(&self.weight);
        let rows = cin + p.edge as usize;
        // gather the input slice into a contiguous, tap-shifted [np, cin] matrix
        let x = if cin > 0 { ctx.get(self.x) } else { &[][..] };
        let mut xs = vec![T::zero(); np * cin];
        let half = (k / 2) as isize;
        for t in 0..k * k {
            let (dy, dx) = ((t / k) as isize - half, (t % k) as isize - half);
            let wt_t = &wt[t * rows * cout..(t + 1) * rows * cout];
            for b in 0..n {
                for yy in 0..h {
                    for xx in 0..w {
                        let (iy, ix) = (yy as isize + dy, xx as isize + dx);
                        let o = (b * h + yy) * w + xx;
                        let inside = iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w;
                        let dst = &mut xs[o * cin..(o + 1) * cin];
                        if inside {
                            let src =
                                ((b * h + iy as usize) * w + ix as usize) * p.cin_stride as usize + p.cin_off as usize;
                            dst.copy_from_slice(&x[src..src + cin]);
                        } else {
                            dst.iter_mut().for_each(|v| *v = T::zero());
                            if p.edge == 1 {
                                let e = &wt_t[cin * cout..(cin + 1) * cout];
                                for (yv, ev) in y[o * cout..(o + 1) * cout].iter_mut().zip(e) {
                                    *yv = *yv + *ev;
                                }
                            }
                        }
                    }
                }
            }
            if cin > 0 {
                matmul_acc(np, cout, cin, &xs, &wt_t[..cin * cout], y);
            }
        }
        if p.epilogue == 1 {
            let b = ctx.param(self.bias.as_ref().expect("epilogue bias"));
            let s: Vec<T> =
                ctx.param(self.logs.as_ref().expect("epilogue logs")).iter().map(|&l| (l * T::f(3.0)).exp()).collect();
            for (i, v) in y.iter_mut().enumerate() {
                *v = (*v + b[i % cout]) * s[i % cout];
            }
        }
        if p.relu == 1 {
            y.iter_mut().for_each(|v| *v = v.max(T::zero()));
        }
        ctx.put(self.y, ybuf);
    }
}

/// `c[m, n] += a[m, k] · b[k, n]`, all row-major and contiguous (GEMM crate, multi-threaded
/// natively).
pub fn matmul_acc<T: Real>(m: usize, n: usize, k: usize, a: &[T], b: &[T], c: &mut [T]) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    // SAFETY: bounds asserted above; strides describe contiguous row-major matrices.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            true,
            a.as_ptr(),
            1,
            k as isize,
            b.as_ptr(),
            1,
            n as isize,
            T::one(),
            T::one(),
            false,
            false,
            false,
            platform::gemm_parallelism(m * n * k),
        )
    }
}

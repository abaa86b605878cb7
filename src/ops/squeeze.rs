//! Squeeze (2x2 space-to-depth) and its inverse, with the official channel order
//! `c·4 + dy·2 + dx`. The wide side may be a channel slice `[c_off, c_off + c)` of a tensor with
//! `c_total` channels, so the split's kept half is squeezed (and unsqueezed) without a copy.
//!
//! Shader: `shaders/squeeze.wgsl` (`forward`: wide -> narrow, `inverse`: narrow -> wide).
use bytemuck::{Pod, Zeroable};

use super::{groups, uniform, CpuCtx, Real};
use crate::ir::{Access, Bind, BufId, GpuCall, GpuCaps};

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct SqueezeParams {
    pub n: u32,
    /// Narrow (squeezed) height and width; the wide side is 2h x 2w.
    pub h: u32,
    pub w: u32,
    /// Channels taken from the wide side; the narrow side has 4c.
    pub c: u32,
    /// Channels of the wide tensor and the slice offset into them.
    pub c_total: u32,
    pub c_off: u32,
    pub _pad: [u32; 2],
}

impl SqueezeParams {
    pub fn elements(&self) -> usize {
        (self.n * self.h * self.w * self.c * 4) as usize
    }
    /// (narrow index, wide index) of narrow element `i`.
    fn map(&self, i: usize) -> (usize, usize) {
        let p = self;
        let c4 = (p.c * 4) as usize;
        let cc = i % c4;
        let r = i / c4;
        let x = r % p.w as usize;
        let r = r / p.w as usize;
        let y = r % p.h as usize;
        let n = r / p.h as usize;
        let (c, dy, dx) = (cc / 4, (cc / 2) % 2, cc % 2);
        let (wy, wx) = (2 * y + dy, 2 * x + dx);
        let wide = ((n * 2 * p.h as usize + wy) * 2 * p.w as usize + wx) * p.c_total as usize + p.c_off as usize + c;
        (i, wide)
    }
}

/// `reverse = false`: `wide` [n, 2h, 2w, c_total] (slice) -> `narrow` [n, h, w, 4c];
/// `reverse = true`: `narrow` -> the slice of `wide`.
#[derive(Clone, Debug)]
pub struct Squeeze {
    pub wide: BufId,
    pub narrow: BufId,
    pub reverse: bool,
    pub p: SqueezeParams,
}

impl Squeeze {
    pub fn gpu(&self, _caps: GpuCaps) -> GpuCall {
        let (entry, defines, binds): (_, &'static [&'static str], _) = if self.reverse {
            (
                "inverse",
                &["INVERSE"],
                vec![Bind::Buf(self.narrow, Access::Read), Bind::Buf(self.wide, Access::ReadWrite)],
            )
        } else {
            (
                "forward",
                &["FORWARD"],
                vec![Bind::Buf(self.wide, Access::Read), Bind::Buf(self.narrow, Access::ReadWrite)],
            )
        };
        GpuCall {
            shader: "squeeze",
            entry,
            defines,
            uniform: uniform(&self.p),
            binds,
            workgroups: groups(self.p.elements(), 64),
        }
    }
    pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) {
        let (src, dst) = if self.reverse { (self.narrow, self.wide) } else { (self.wide, self.narrow) };
        let mut out = ctx.take(dst);
        let inp = ctx.get(src);
        for i in 0..self.p.elements() {
            let (nw, wd) = self.p.map(i);
            if self.reverse {
                out[wd] = inp[nw];
            } else {
                out[nw] = inp[wd];
            }
        }
        ctx.put(dst, out);
    }
}

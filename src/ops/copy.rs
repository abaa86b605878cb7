//! Buffer copy `y[i] = x[i]` (the stored-activation training mode keeps each flow step's input).
//!
//! Shader: `shaders/copy.wgsl` (`forward`).
use bytemuck::{Pod, Zeroable};

use super::{groups, uniform, CpuCtx, Real};
use crate::ir::{Access, Bind, BufId, GpuCall, GpuCaps};

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct CopyParams {
    pub len: u32,
    pub _pad: [u32; 3],
}

#[derive(Clone, Debug)]
pub struct Copy {
    pub x: BufId,
    pub y: BufId,
    pub p: CopyParams,
}

impl Copy {
    pub fn new(x: BufId, y: BufId, len: usize) -> Self {
        Copy { x, y, p: CopyParams { len: len as u32, _pad: [0; 3] } }
    }
    pub fn gpu(&self, _caps: GpuCaps) -> GpuCall {
        GpuCall {
            shader: "copy",
            entry: "forward",
            defines: &[],
            uniform: uniform(&self.p),
            binds: vec![Bind::Buf(self.x, Access::Read), Bind::Buf(self.y, Access::ReadWrite)],
            workgroups: groups(self.p.len as usize, 64),
        }
    }
    pub fn cpu<T: Real>(&self, ctx: &mut CpuCtx<T>) {
        let n = self.p.len as usize;
        let mut y = ctx.take(self.y);
        y[..n].copy_from_slice(&ctx.get(self.x)[..n]);
        ctx.put(self.y, y);
    }
}

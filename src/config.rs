//! Model configuration, serialised as JSON into the weights file's metadata.
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Version of the config/weights format; bumped on incompatible changes.
pub const CONFIG_VERSION: u32 = 1;

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Coupling {
    /// `z2 = (z2 + shift) * sigmoid(h + 2)` (official `flow_coupling = 1`).
    Affine,
    /// `z2 = z2 + f(z1)` (official `flow_coupling = 0`), volume preserving.
    Additive,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Permutation {
    /// Invertible 1x1 convolution with a free matrix W.
    Invconv,
    /// Invertible 1x1 convolution, LU parametrised `W = P L (U + diag(sign_s exp(log_s)))`.
    InvconvLu,
    /// A fixed random channel permutation.
    Shuffle,
    /// Channel order reversed (RealNVP).
    Reverse,
    /// Orthogonal 1x1 convolution, a product of C Householder reflections (`layers::householder`).
    Householder,
}

/// Bounds of every [`GlowConfig`] field, checked by [`GlowConfig::validate`].
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Levels L (also bounds `2^L`, which divides the image sides).
    pub levels: usize,
    /// Flow steps per level K.
    pub depth: usize,
    /// Hidden channels of the coupling networks.
    pub hidden: usize,
    /// Image height and width.
    pub side: usize,
    /// Classes of a class-conditional model.
    pub classes: usize,
    /// Stored parameters in all (2^28 = 268M, 1 GiB as f32).
    pub params: u64,
}

/// The bounds in force. Generous for real models (the paper's largest is 256x256, L=6, K=32,
/// 512 hidden channels) and small enough that no derived size overflows, even in wasm32.
pub const LIMITS: Limits =
    Limits { levels: 12, depth: 1024, hidden: 8192, side: 8192, classes: 100_000, params: 1 << 28 };

/// Everything needed to rebuild a Glow model's graph.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct GlowConfig {
    pub image_height: usize,
    pub image_width: usize,
    /// 1 (greyscale) or 3 (RGB).
    pub image_channels: usize,
    /// Number of levels L (multi-scale blocks).
    pub levels: usize,
    /// Flow steps per level K.
    pub depth: usize,
    /// Hidden channels of the coupling network.
    pub hidden: usize,
    pub coupling: Coupling,
    pub permutation: Permutation,
    /// Learn the top prior (a zero-initialised conv over a zero input with edge bias).
    pub learn_top: bool,
    /// 0 = unconditional; otherwise the top prior is conditioned on a one-hot label.
    pub n_classes: usize,
    /// Bits per colour channel kept from the u8 image (1..=8).
    pub n_bits: u32,
}

/// Shape of one level's tensors (after its squeeze).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LevelShape {
    pub h: usize,
    pub w: usize,
    /// Channels flowing through the level's steps.
    pub c: usize,
}

impl LevelShape {
    /// Channels of the conditioning half `z1` (kept / fed to the coupling net).
    pub fn c1(&self) -> usize {
        self.c / 2
    }
    /// Channels of the transformed half `z2` (split off / coupled).
    pub fn c2(&self) -> usize {
        self.c - self.c1()
    }
    pub fn pixels(&self) -> usize {
        self.h * self.w
    }
}

impl GlowConfig {
    /// A small config handy for tests and demos.
    pub fn tiny(h: usize, w: usize, c: usize) -> Self {
        GlowConfig {
            image_height: h,
            image_width: w,
            image_channels: c,
            levels: 2,
            depth: 2,
            hidden: 8,
            coupling: Coupling::Affine,
            permutation: Permutation::Invconv,
            learn_top: true,
            n_classes: 0,
            n_bits: 8,
        }
    }

    /// Checks every field against its bounds ([`LIMITS`]) and every size derived from them with
    /// checked arithmetic, before anything is allocated from the config (a weights file's
    /// metadata is untrusted input).
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        let l = &LIMITS;
        if self.image_channels != 1 && self.image_channels != 3 {
            return bad(format!("image_channels must be 1 or 3, got {}", self.image_channels));
        }
        for (name, v, max) in [
            ("levels", self.levels, l.levels),
            ("depth", self.depth, l.depth),
            ("hidden", self.hidden, l.hidden),
            ("image_height", self.image_height, l.side),
            ("image_width", self.image_width, l.side),
        ] {
            if v == 0 || v > max {
                return bad(format!("{name} must be in 1..={max}, got {v}"));
            }
        }
        if self.n_classes > l.classes {
            return bad(format!("n_classes must be at most {}, got {}", l.classes, self.n_classes));
        }
        if !(1..=8).contains(&self.n_bits) {
            return bad(format!("n_bits must be in 1..=8, got {}", self.n_bits));
        }
        // levels <= 12 here, so the shift cannot overflow
        let f = 1usize << self.levels;
        if self.image_height % f != 0 || self.image_width % f != 0 {
            return bad(format!("image {}x{} is not divisible by 2^levels = {f}", self.image_height, self.image_width));
        }
        crate::layers::check(self)?;
        match self.param_count() {
            Some(n) if n <= l.params => Ok(()),
            Some(n) => bad(format!("the model would have {n} parameters, more than the limit {}", l.params)),
            None => bad("the model's parameter count overflows".into()),
        }
    }

    /// Number of stored parameters (the sizes of [`crate::params::specs`]), with checked
    /// arithmetic: `None` on overflow (or `levels` beyond [`LIMITS`]).
    pub fn param_count(&self) -> Option<u64> {
        crate::params::count(self)
    }

    /// Bytes (or floats) in a batch of `n` images, `None` if it overflows `usize`.
    pub fn batch_dims(&self, n: usize) -> Option<usize> {
        n.checked_mul(self.dims())
    }

    /// The largest batch whose graphs keep every size in 32 bits (the ops' and shaders' element
    /// counts): the widest activation of an image is a level-0 coupling layer, `pixels ·
    /// (hidden + 1)` floats, or a level's `pixels · 2C`. Memory is checked separately (the GPU's
    /// limits, [`crate::memory`] on the CPU).
    pub fn max_batch(&self) -> usize {
        let s = self.level_shapes()[0];
        let widest = (s.pixels() as u64) * (self.hidden as u64 + 1).max(2 * s.c as u64);
        (u32::MAX as u64 / widest.max(1)) as usize
    }

    /// A batch of `n` images is at least 1 and at most [`GlowConfig::max_batch`].
    pub fn check_batch(&self, n: usize) -> Result<()> {
        let max = self.max_batch();
        if n == 0 || n > max {
            return Err(Error::Input(format!(
                "a batch must hold 1 to {max} images for this {}x{}x{} model (hidden {}), got {n}",
                self.image_height, self.image_width, self.image_channels, self.hidden
            )));
        }
        Ok(())
    }

    /// Shapes of every level, in encode order.
    pub fn level_shapes(&self) -> Vec<LevelShape> {
        let mut out = Vec::with_capacity(self.levels);
        let (mut h, mut w, mut c) = (self.image_height / 2, self.image_width / 2, self.image_channels * 4);
        for l in 0..self.levels {
            out.push(LevelShape { h, w, c });
            if l + 1 < self.levels {
                let c1 = c / 2;
                h /= 2;
                w /= 2;
                c = c1 * 4;
            }
        }
        out
    }

    /// Dimensions D = H·W·C of an image.
    pub fn dims(&self) -> usize {
        self.image_height * self.image_width * self.image_channels
    }

    pub fn n_bins(&self) -> f64 {
        (1u64 << self.n_bits) as f64
    }

    /// Per-level latent sizes (per image), in encode order: one per split, then the top.
    pub fn latent_sizes(&self) -> Vec<usize> {
        let shapes = self.level_shapes();
        let mut out = Vec::new();
        for (l, s) in shapes.iter().enumerate() {
            if l + 1 < shapes.len() {
                out.push(s.pixels() * s.c2());
            } else {
                out.push(s.pixels() * s.c);
            }
        }
        out
    }
}

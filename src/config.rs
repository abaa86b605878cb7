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
}

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

    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        if self.image_channels != 1 && self.image_channels != 3 {
            return bad(format!("image_channels must be 1 or 3, got {}", self.image_channels));
        }
        if self.levels == 0 || self.depth == 0 || self.hidden == 0 {
            return bad("levels, depth and hidden must be at least 1".into());
        }
        if !(1..=8).contains(&self.n_bits) {
            return bad(format!("n_bits must be in 1..=8, got {}", self.n_bits));
        }
        let f = 1usize << self.levels;
        if self.image_height % f != 0 || self.image_width % f != 0 || self.image_height == 0 {
            return bad(format!("image {}x{} is not divisible by 2^levels = {f}", self.image_height, self.image_width));
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

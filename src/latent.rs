//! Latents: per-level standardised tensors (the demo's `eps`), and their flat per-image form
//! for interpolation and attribute arithmetic.
use crate::config::GlowConfig;
use crate::error::{Error, Result};

#[derive(Clone, Debug, PartialEq)]
pub struct Latents {
    pub n: usize,
    /// One tensor per level (splits in encode order, then the top), each [n, size_l] with size_l
    /// the level's h·w·channels in NHWC order.
    pub levels: Vec<Vec<f64>>,
}

impl Latents {
    pub fn new(cfg: &GlowConfig, n: usize, levels: Vec<Vec<f64>>) -> Result<Self> {
        let l = Latents { n, levels };
        l.check(cfg)?;
        Ok(l)
    }

    pub fn check(&self, cfg: &GlowConfig) -> Result<()> {
        let sizes = cfg.latent_sizes();
        if self.levels.len() != sizes.len() {
            return Err(Error::Input(format!("{} latent levels, the model has {}", self.levels.len(), sizes.len())));
        }
        for (i, (v, s)) in self.levels.iter().zip(&sizes).enumerate() {
            if v.len() != self.n * s {
                return Err(Error::Input(format!("latent level {i} has {} values, expected {}", v.len(), self.n * s)));
            }
            if let Some(j) = v.iter().position(|x| !x.is_finite()) {
                return Err(Error::NonFinite(format!("latent level {i} holds {} at index {j}", v[j])));
            }
        }
        Ok(())
    }

    /// Image `i`'s latent as one vector (levels concatenated in encode order).
    pub fn flat(&self, i: usize) -> Vec<f64> {
        self.levels
            .iter()
            .flat_map(|v| {
                let s = v.len() / self.n;
                v[i * s..(i + 1) * s].iter().copied()
            })
            .collect()
    }

    /// Builds latents from flat per-image vectors.
    pub fn from_flat(cfg: &GlowConfig, flats: &[Vec<f64>]) -> Result<Self> {
        let sizes = cfg.latent_sizes();
        let total: usize = sizes.iter().sum();
        let n = flats.len();
        let mut levels: Vec<Vec<f64>> = sizes.iter().map(|s| Vec::with_capacity(n * s)).collect();
        for f in flats {
            if f.len() != total {
                return Err(Error::Input(format!("flat latent has {} values, expected {total}", f.len())));
            }
            let mut o = 0;
            for (l, s) in sizes.iter().enumerate() {
                levels[l].extend_from_slice(&f[o..o + s]);
                o += s;
            }
        }
        Ok(Latents { n, levels })
    }
}

/// `(1 − t)·a + t·b`: exactly `a` at t = 0 and exactly `b` at t = 1 for any inputs.
pub fn lerp(a: &[f64], b: &[f64], t: f64) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| (1.0 - t) * x + t * y).collect()
}

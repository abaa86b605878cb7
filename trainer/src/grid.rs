//! PNG grids of images.
use std::path::Path;

use anyhow::{bail, Result};
use glowgpu::GlowConfig;

/// Saves `n` NHWC images as a grid of ceil(sqrt(n)) columns with 2-pixel gaps.
pub fn save_grid(path: &Path, images: &[u8], n: usize, cfg: &GlowConfig) -> Result<()> {
    let (h, w, c) = (cfg.image_height, cfg.image_width, cfg.image_channels);
    if n == 0 || cfg.batch_dims(n) != Some(images.len()) {
        bail!("a grid of {n} images of {h}x{w}x{c} needs {:?} bytes, got {}", cfg.batch_dims(n), images.len());
    }
    let cols = (n as f64).sqrt().ceil() as usize;
    let rows = n.div_ceil(cols);
    let gap = 2;
    let (gw, gh) = (cols * (w + gap) + gap, rows * (h + gap) + gap);
    let mut out = image::RgbImage::from_pixel(gw as u32, gh as u32, image::Rgb([255, 255, 255]));
    for k in 0..n {
        let (r, q) = (k / cols, k % cols);
        for y in 0..h {
            for x in 0..w {
                let o = ((k * h + y) * w + x) * c;
                let px = if c == 1 { [images[o]; 3] } else { [images[o], images[o + 1], images[o + 2]] };
                out.put_pixel((gap + q * (w + gap) + x) as u32, (gap + r * (h + gap) + y) as u32, image::Rgb(px));
            }
        }
    }
    crate::fsutil::save_png(path, &out)
}

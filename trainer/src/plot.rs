//! A small PNG plot of the bits/dim curves from the CSV log (no plotting dependency).
use std::path::Path;

use anyhow::Result;

/// Train bpd (light) and test bpd (dark, points) against the step.
pub fn plot_log(csv: &Path, out: &Path) -> Result<()> {
    let text = std::fs::read_to_string(csv)?;
    let mut train = Vec::new();
    let mut test = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() < 5 {
            continue;
        }
        let step: f64 = f[0].parse().unwrap_or(0.0);
        if let Ok(v) = f[2].parse::<f64>() {
            train.push((step, v));
        }
        if let Ok(v) = f[4].parse::<f64>() {
            test.push((step, v));
        }
    }
    let (w, h) = (640u32, 360u32);
    let mut img = image::RgbImage::from_pixel(w, h, image::Rgb([255, 255, 255]));
    let all: Vec<(f64, f64)> = train.iter().chain(&test).copied().collect();
    if all.is_empty() {
        return Ok(img.save(out)?);
    }
    let xmax = all.iter().map(|p| p.0).fold(1.0, f64::max);
    let mut ys: Vec<f64> = all.iter().map(|p| p.1).filter(|v| v.is_finite()).collect();
    ys.sort_by(f64::total_cmp);
    let (ymin, ymax) = (ys[0], ys[(ys.len() * 98 / 100).min(ys.len() - 1)].max(ys[0] + 1e-3));
    let (m, mw, mh) = (20.0, (w - 40) as f64, (h - 40) as f64);
    let px = |x: f64, y: f64| -> (i64, i64) {
        ((m + x / xmax * mw) as i64, (m + (1.0 - (y - ymin) / (ymax - ymin)) * mh) as i64)
    };
    let mut put = |x: i64, y: i64, c: [u8; 3]| {
        if x >= 0 && y >= 0 && (x as u32) < w && (y as u32) < h {
            img.put_pixel(x as u32, y as u32, image::Rgb(c));
        }
    };
    for i in 0..=(w - 40) {
        put(20 + i as i64, (h - 20) as i64, [0, 0, 0]);
    }
    for i in 0..=(h - 40) {
        put(20, 20 + i as i64, [0, 0, 0]);
    }
    for &(x, y) in &train {
        let (a, b) = px(x, y.min(ymax));
        put(a, b, [120, 160, 230]);
    }
    for &(x, y) in &test {
        let (a, b) = px(x, y.min(ymax));
        for dx in -2..=2 {
            for dy in -2..=2 {
                put(a + dx, b + dy, [200, 40, 40]);
            }
        }
    }
    Ok(img.save(out)?)
}

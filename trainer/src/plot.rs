//! A small PNG plot of the bits/dim curves from the CSV log (no plotting dependency): train bpd
//! (blue dots), test bpd with the EMA weights (red squares), axes with numeric ticks, axis titles
//! and a legend.
use std::path::Path;

use anyhow::Result;
use image::{Rgb, RgbImage};

/// 3x5 bitmaps of the characters labels use (digits, capitals, a few signs).
fn glyph(c: char) -> [u8; 5] {
    match c {
        'A' => [2, 5, 7, 5, 5],
        'B' => [6, 5, 6, 5, 6],
        'C' => [3, 4, 4, 4, 3],
        'D' => [6, 5, 5, 5, 6],
        'E' => [7, 4, 6, 4, 7],
        'F' => [7, 4, 6, 4, 4],
        'G' => [3, 4, 5, 5, 3],
        'H' => [5, 5, 7, 5, 5],
        'I' => [7, 2, 2, 2, 7],
        'J' => [1, 1, 1, 5, 2],
        'K' => [5, 5, 6, 5, 5],
        'L' => [4, 4, 4, 4, 7],
        'M' => [5, 7, 7, 5, 5],
        'N' => [6, 5, 5, 5, 5],
        'O' => [2, 5, 5, 5, 2],
        'P' => [6, 5, 6, 4, 4],
        'Q' => [2, 5, 5, 6, 3],
        'R' => [6, 5, 6, 5, 5],
        'S' => [3, 4, 2, 1, 6],
        'T' => [7, 2, 2, 2, 2],
        'U' => [5, 5, 5, 5, 7],
        'V' => [5, 5, 5, 5, 2],
        'W' => [5, 5, 7, 7, 5],
        'X' => [5, 5, 2, 5, 5],
        'Y' => [5, 5, 2, 2, 2],
        'Z' => [7, 1, 2, 4, 7],
        '/' => [1, 1, 2, 4, 4],
        '(' => [1, 2, 2, 2, 1],
        ')' => [4, 2, 2, 2, 4],
        ',' => [0, 0, 0, 2, 4],
        '-' => [0, 0, 7, 0, 0],
        '0' => [7, 5, 5, 5, 7],
        '1' => [2, 6, 2, 2, 7],
        '2' => [7, 1, 7, 4, 7],
        '3' => [7, 1, 7, 1, 7],
        '4' => [5, 5, 7, 1, 1],
        '5' => [7, 4, 7, 1, 7],
        '6' => [7, 4, 7, 5, 7],
        '7' => [7, 1, 1, 1, 1],
        '8' => [7, 5, 7, 5, 7],
        '9' => [7, 5, 7, 1, 7],
        '.' => [0, 0, 0, 0, 2],
        'k' => [4, 5, 6, 5, 5],
        _ => [0; 5],
    }
}

/// Draws `text` with its top-left corner at (x, y), each font pixel 2x2.
fn text(img: &mut RgbImage, x: i64, y: i64, text: &str) {
    for (i, c) in text.chars().enumerate() {
        for (row, bits) in glyph(c).iter().enumerate() {
            for col in 0..3 {
                if bits & (4 >> col) != 0 {
                    for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                        put(img, x + (i as i64) * 8 + col * 2 + dx, y + row as i64 * 2 + dy, [0, 0, 0]);
                    }
                }
            }
        }
    }
}

/// A filled square of half-width `r` centred at (x, y).
fn square(img: &mut RgbImage, x: i64, y: i64, r: i64, c: [u8; 3]) {
    for dx in -r..=r {
        for dy in -r..=r {
            put(img, x + dx, y + dy, c);
        }
    }
}

fn put(img: &mut RgbImage, x: i64, y: i64, c: [u8; 3]) {
    if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
        img.put_pixel(x as u32, y as u32, Rgb(c));
    }
}

fn step_label(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{}k", (v / 1000.0).round())
    } else {
        format!("{}", v.round())
    }
}

/// The smallest of 1, 2 and 5 times a power of ten that is at least `raw` (> 0).
fn nice_step(raw: f64) -> f64 {
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * mag).find(|&v| v >= raw * (1.0 - 1e-9)).unwrap_or(10.0 * mag)
}

/// The step axis's tick spacing: a round number of steps, at least 1.
fn nice_tick(raw: f64) -> f64 {
    nice_step(raw.max(1.0))
}

/// Round bits/dim ticks inside [lo, hi] (multiples of 1, 2 or 5 times a power of ten; at least 3
/// of them, at most 8) and the decimals their labels need.
fn y_ticks(lo: f64, hi: f64) -> (Vec<f64>, usize) {
    let ticks_of = |tick: f64| -> Vec<f64> {
        ((lo / tick - 1e-9).ceil() as i64..=(hi / tick + 1e-9).floor() as i64).map(|k| k as f64 * tick).collect()
    };
    let mut tick = nice_step((hi - lo) / 4.0);
    while ticks_of(tick).len() < 3 {
        // the next smaller round spacing: 5 -> 2 -> 1 -> 0.5 times the power of ten
        let mag = 10f64.powf(tick.log10().floor());
        tick = match (tick / mag).round() as i64 {
            1 => 0.5 * mag,
            2 => mag,
            _ => 2.0 * mag,
        };
    }
    let decimals = (-tick.log10().floor()).max(0.0) as usize;
    (ticks_of(tick), decimals)
}

/// Train bpd and test bpd against the step.
pub fn plot_log(csv: &Path, out: &Path) -> Result<()> {
    let text_in = std::fs::read_to_string(csv)?;
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for line in text_in.lines().skip(1) {
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
    let (w, h) = (720i64, 400i64);
    let (left, right, top, bottom) = (60i64, 20i64, 30i64, 56i64);
    let mut img = RgbImage::from_pixel(w as u32, h as u32, Rgb([255, 255, 255]));
    let finite: Vec<(f64, f64)> = train.iter().chain(&test).copied().filter(|p| p.1.is_finite()).collect();
    if finite.is_empty() {
        return crate::fsutil::save_png(out, &img);
    }
    let last = finite.iter().map(|p| p.0).fold(1.0, f64::max);
    let xtick = nice_tick(last / 4.0);
    let xmax = xtick * (last / xtick).ceil();
    let mut ys: Vec<f64> = train.iter().map(|p| p.1).filter(|v| v.is_finite()).collect();
    ys.sort_by(f64::total_cmp);
    // the top 2% of the train batches (the first steps) would flatten the rest; every test figure
    // stays in range (a log whose early segments kept only those has them above every batch)
    let train_top = ys.get((ys.len() * 98 / 100).min(ys.len().saturating_sub(1))).copied();
    let test_top = test.iter().map(|p| p.1).filter(|v| v.is_finite()).fold(f64::NEG_INFINITY, f64::max);
    let ymin = finite.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let ymax = train_top.unwrap_or(f64::NEG_INFINITY).max(test_top).max(ymin + 1e-3);
    let (pw, ph) = ((w - left - right) as f64, (h - top - bottom) as f64);
    let px = |x: f64, y: f64| -> (i64, i64) {
        (left + (x / xmax * pw) as i64, top + ((1.0 - (y.min(ymax) - ymin) / (ymax - ymin)) * ph) as i64)
    };
    for i in 0..=(w - left - right) {
        put(&mut img, left + i, h - bottom, [0, 0, 0]);
    }
    for i in 0..=(h - top - bottom) {
        put(&mut img, left, top + i, [0, 0, 0]);
    }
    let (yticks, decimals) = y_ticks(ymin, ymax);
    for yv in yticks {
        let (_, yy) = px(0.0, yv);
        for dx in 0..6 {
            put(&mut img, left - dx, yy, [0, 0, 0]);
        }
        text(&mut img, 4, yy - 5, &format!("{yv:.decimals$}"));
    }
    for t in 0..=(xmax / xtick).round() as usize {
        let xv = xtick * t as f64;
        let (xx, _) = px(xv, ymin);
        for dy in 0..6 {
            put(&mut img, xx, h - bottom + dy, [0, 0, 0]);
        }
        text(&mut img, xx - 12, h - bottom + 10, &step_label(xv));
    }
    // axis titles and the legend
    text(&mut img, left + (w - left - right) / 2 - 16, h - 18, "STEP");
    text(&mut img, 4, 6, "BITS/DIM");
    let (lx, ly) = (w - right - 190, top + 4);
    square(&mut img, lx, ly + 4, 1, [120, 160, 230]);
    text(&mut img, lx + 10, ly, "TRAIN BATCH");
    square(&mut img, lx, ly + 20, 2, [200, 40, 40]);
    text(&mut img, lx + 10, ly + 16, "TEST, EMA WEIGHTS");
    for &(x, y) in &train {
        let (a, b) = px(x, y);
        put(&mut img, a, b, [120, 160, 230]);
    }
    for &(x, y) in &test {
        let (a, b) = px(x, y);
        square(&mut img, a, b, 2, [200, 40, 40]);
    }
    crate::fsutil::save_png(out, &img)
}

#[cfg(test)]
mod tests {
    #[test]
    fn plots_a_log() {
        let dir = std::env::temp_dir().join(format!("glow-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let csv = dir.join("log.csv");
        let mut s = String::from("step,batches,train_bpd,grad_norm,test_bpd,elapsed_s\n");
        for i in 1..=100 {
            let test = if i % 50 == 0 { format!("{:.3}", 3.0 - i as f64 / 100.0) } else { String::new() };
            s += &format!("{i},{i},{:.3},1.0,{test},0\n", 4.0 - i as f64 / 50.0);
        }
        std::fs::write(&csv, s).unwrap();
        let out = dir.join("bpd.png");
        super::plot_log(&csv, &out).unwrap();
        let img = image::open(&out).unwrap().to_rgb8();
        assert_eq!((img.width(), img.height()), (720, 400));
        let red = img.pixels().filter(|p| p.0 == [200, 40, 40]).count();
        // two test points and the legend's marker, 5x5 pixels each
        assert_eq!(red, 3 * 25, "two test points drawn");
        assert!(img.pixels().filter(|p| p.0 == [120, 160, 230]).count() > 50, "train curve drawn");
    }

    #[test]
    fn step_ticks_are_round() {
        assert_eq!(super::nice_tick(26_294.0 / 4.0), 10_000.0);
        assert_eq!(super::nice_tick(4_000.0 / 4.0), 1_000.0);
        assert_eq!(super::nice_tick(100.0 / 4.0), 50.0);
        assert_eq!(super::nice_tick(0.1), 1.0);
        // bits/dim ticks are round numbers inside the range, whatever its ends
        let (t, d) = super::y_ticks(1.2917, 1.6803);
        assert_eq!((t.len(), d), (4, 1));
        for (v, want) in t.iter().zip([1.3, 1.4, 1.5, 1.6]) {
            assert!((v - want).abs() < 1e-12, "{t:?}");
        }
        let (t, d) = super::y_ticks(1.4121, 1.4302);
        assert_eq!(d, 3);
        assert!(t.len() >= 3 && t.iter().all(|v| (1.4121..=1.4302).contains(v)), "{t:?}");
        // a range whose quarter rounds up to 0.5 would get one tick (1.5): it steps down to 0.2
        let (t, d) = super::y_ticks(1.05, 1.89);
        assert_eq!(d, 1);
        for (v, want) in t.iter().zip([1.2, 1.4, 1.6, 1.8]) {
            assert!((v - want).abs() < 1e-12, "{t:?}");
        }
        assert_eq!(t.len(), 4, "{t:?}");
        for (lo, hi) in [(0.0, 1e-3), (1.0, 1.2501), (2.0, 9.0), (1.41, 1.4121)] {
            let n = super::y_ticks(lo, hi).0.len();
            assert!((3..=8).contains(&n), "{lo}..{hi}: {n} ticks");
        }
    }

    #[test]
    fn keeps_test_figures_above_the_batches_in_range() {
        // early segments whose log kept only test figures (2.9, 2.8), then batches between 2 and 2.5
        let dir = std::env::temp_dir().join(format!("glow-plot-hist-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let csv = dir.join("log.csv");
        let mut s = String::from("step,batches,train_bpd,grad_norm,test_bpd,elapsed_s\n");
        s += "100,100,,,2.900,\n200,200,,,2.800,\n";
        for i in 201..=400 {
            s += &format!("{i},{i},{:.3},1.0,,0\n", 2.0 + (i % 7) as f64 / 14.0);
        }
        std::fs::write(&csv, s).unwrap();
        let out = dir.join("bpd.png");
        super::plot_log(&csv, &out).unwrap();
        let img = image::open(&out).unwrap().to_rgb8();
        // the rows of the red squares left of the legend: two figures at two heights
        let rows: std::collections::BTreeSet<u32> =
            img.enumerate_pixels().filter(|(x, _, p)| *x < 400 && p.0 == [200, 40, 40]).map(|(_, y, _)| y).collect();
        assert_eq!(rows.len(), 10, "two test squares of 5 rows each, at different heights: {rows:?}");
        assert!(*rows.first().unwrap() >= 28, "the highest figure is drawn at the top of the plot, not above it");
    }
}

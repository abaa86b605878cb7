//! Image data sets: a folder of PNG/JPEG files (recursive), or the files a CSV lists with a split
//! column (as `../shared/data`); greyscale or RGB; centre-crop + resize (or zero-pad small images,
//! e.g. MNIST 28x28 to 32x32); decoded on background threads into shuffled batches.
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use image::imageops::FilterType;

use crate::table::Table;

#[derive(Clone, Debug)]
pub struct DataSpec {
    /// Folder of images, or the root the CSV's `file` column is relative to.
    pub root: PathBuf,
    /// Optional CSV with `file` and `split` columns (and label columns).
    pub csv: Option<PathBuf>,
    /// Split to take from the CSV (`train`, `val`, `test`).
    pub split: String,
    /// Output side length (square images).
    pub size: usize,
    /// 1 (greyscale) or 3 (RGB).
    pub channels: usize,
    /// Zero-pad images smaller than `size` (centred) instead of failing.
    pub pad: bool,
    /// CSV column holding an integer class label (class-conditional models).
    pub label_column: Option<String>,
}

/// A list of image files (and labels) with their preprocessing.
pub struct Dataset {
    pub spec: DataSpec,
    pub files: Vec<PathBuf>,
    pub labels: Option<Vec<u32>>,
}

fn is_image(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).as_deref(),
        Some("png" | "jpg" | "jpeg")
    )
}

/// Image files under `dir`, sorted, following symlinks; a folder reached a second time (a
/// symlink loop, or two links to one folder) is not read again.
fn walk(dir: &Path, out: &mut Vec<PathBuf>, seen: &mut std::collections::HashSet<PathBuf>) -> Result<()> {
    let canon = std::fs::canonicalize(dir).with_context(|| format!("cannot read data folder {}", dir.display()))?;
    if !seen.insert(canon) {
        return Ok(());
    }
    let rd = std::fs::read_dir(dir).with_context(|| format!("cannot read data folder {}", dir.display()))?;
    let mut entries: Vec<_> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out, seen)?;
        } else if is_image(&p) {
            out.push(p);
        }
    }
    Ok(())
}

impl Dataset {
    pub fn open(spec: DataSpec) -> Result<Self> {
        if spec.channels != 1 && spec.channels != 3 {
            bail!("channels must be 1 or 3, got {}", spec.channels);
        }
        let (files, labels) = match &spec.csv {
            None => {
                let mut files = Vec::new();
                walk(&spec.root, &mut files, &mut Default::default())?;
                if spec.label_column.is_some() {
                    bail!("a label column needs --split-csv");
                }
                (files, None)
            }
            Some(csv) => read_csv(csv, &spec)?,
        };
        if files.is_empty() {
            bail!(
                "no PNG/JPEG images found in {}{}",
                spec.root.display(),
                spec.csv
                    .as_ref()
                    .map(|c| format!(" for split `{}` of {}", spec.split, c.display()))
                    .unwrap_or_default()
            );
        }
        Ok(Dataset { spec, files, labels })
    }

    #[allow(clippy::len_without_is_empty)] // never empty: `open` refuses an empty set
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Bytes per image (size·size·channels).
    pub fn dims(&self) -> usize {
        self.spec.size * self.spec.size * self.spec.channels
    }

    /// Decodes image `i` into HWC bytes, optionally mirrored left-right.
    pub fn load(&self, i: usize, flip: bool) -> Result<Vec<u8>> {
        load_image(&self.files[i], &self.spec, flip)
    }
}

fn read_csv(csv: &Path, spec: &DataSpec) -> Result<(Vec<PathBuf>, Option<Vec<u32>>)> {
    let t = Table::read(csv)?;
    let fc = t.col("file").with_context(|| format!("{} has no `file` column", csv.display()))?;
    let sc = t.col("split").with_context(|| format!("{} has no `split` column", csv.display()))?;
    let lc = match &spec.label_column {
        Some(l) => Some(t.col(l).with_context(|| format!("{} has no `{l}` column", csv.display()))?),
        None => None,
    };
    let max = glowgpu::config::LIMITS.classes;
    let mut files = Vec::new();
    let mut labels = Vec::new();
    for (n, f) in &t.rows {
        if f[sc].trim() != spec.split {
            continue;
        }
        files.push(spec.root.join(f[fc].trim()));
        if let Some(lc) = lc {
            let y = f[lc].trim();
            let y: u32 =
                y.parse().with_context(|| format!("{} line {n}: label `{y}` is not a class index", csv.display()))?;
            if y as usize >= max {
                bail!(
                    "{} line {n}: label {y} is out of range: a model has at most {max} classes (0..{max})",
                    csv.display()
                );
            }
            labels.push(y);
        }
    }
    Ok((files, lc.map(|_| labels)))
}

impl Dataset {
    /// Decodes every image once (on `threads` threads) and lists those that cannot be used
    /// (unreadable, corrupt, too small). More than `allowed` of them is an error naming them;
    /// otherwise they are dropped from the set (the same ones on every run: resume stays exact)
    /// and returned, so one bad file never stops a run at its batch.
    pub fn scan(&mut self, threads: usize, allowed: usize) -> Result<Vec<(PathBuf, String)>> {
        let n = self.files.len();
        let threads = threads.clamp(1, 64);
        let chunk = n.div_ceil(threads).max(1);
        let this = &*self;
        let mut bad: Vec<(usize, String)> = std::thread::scope(|s| {
            let jobs: Vec<_> = (0..n)
                .step_by(chunk)
                .map(|start| {
                    s.spawn(move || {
                        (start..(start + chunk).min(n))
                            .filter_map(|i| this.load(i, false).err().map(|e| (i, format!("{e:#}"))))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            jobs.into_iter().flat_map(|j| j.join().unwrap_or_default()).collect()
        });
        bad.sort_by_key(|b| b.0);
        if bad.len() > allowed {
            let list: Vec<&str> = bad.iter().take(10).map(|b| b.1.as_str()).collect();
            bail!(
                "{} of {n} images cannot be used{}: {}{}; fix or remove them, or pass --skip-bad-images {} to go on \
                 without them",
                bad.len(),
                if allowed > 0 { format!(" (--skip-bad-images allows {allowed})") } else { String::new() },
                list.join("; "),
                if bad.len() > 10 { format!("; and {} more", bad.len() - 10) } else { String::new() },
                bad.len()
            );
        }
        let drop: std::collections::HashSet<usize> = bad.iter().map(|b| b.0).collect();
        let dropped = bad.iter().map(|(i, e)| (self.files[*i].clone(), e.clone())).collect();
        drop_indices(&mut self.files, &drop);
        if let Some(l) = self.labels.as_mut() {
            drop_indices(l, &drop);
        }
        if self.files.is_empty() {
            bail!("no usable images left in {}", self.spec.root.display());
        }
        Ok(dropped)
    }
}

fn drop_indices<T>(v: &mut Vec<T>, drop: &std::collections::HashSet<usize>) {
    let mut i = 0;
    v.retain(|_| {
        i += 1;
        !drop.contains(&(i - 1))
    });
}

/// Decode, convert to the model's channels, centre-crop to a square and resize (or pad).
pub fn load_image(path: &Path, spec: &DataSpec, flip: bool) -> Result<Vec<u8>> {
    let img = image::open(path).with_context(|| format!("cannot read image {}", path.display()))?;
    let (w, h) = (img.width() as usize, img.height() as usize);
    let s = spec.size;
    let side = w.min(h);
    let img = if side < s {
        if !spec.pad {
            bail!(
                "image {} is {w}x{h}, smaller than --image-size {s} (use --pad to zero-pad small images)",
                path.display()
            );
        }
        if w > s || h > s {
            bail!("image {} is {w}x{h}: can pad to {s}x{s} only when both sides are at most {s}", path.display());
        }
        let mut canvas = image::RgbImage::new(s as u32, s as u32);
        image::imageops::overlay(&mut canvas, &img.to_rgb8(), ((s - w) / 2) as i64, ((s - h) / 2) as i64);
        image::DynamicImage::ImageRgb8(canvas)
    } else {
        let cropped = img.crop_imm(((w - side) / 2) as u32, ((h - side) / 2) as u32, side as u32, side as u32);
        if side == s {
            cropped
        } else {
            cropped.resize_exact(s as u32, s as u32, FilterType::Lanczos3)
        }
    };
    let img = if flip { img.fliph() } else { img };
    Ok(if spec.channels == 1 { img.to_luma8().into_raw() } else { img.to_rgb8().into_raw() })
}

/// A batch of images (NHWC bytes) and labels.
pub struct Batch {
    pub images: Vec<u8>,
    /// Class labels (class-conditional models).
    pub labels: Option<Vec<u32>>,
    pub n: usize,
}

/// Deterministic epoch order: a Fisher-Yates shuffle seeded by (seed, epoch).
pub fn epoch_order(len: usize, seed: u64, epoch: u64) -> Vec<usize> {
    let mut rng = glowgpu::rng::HostRng::new(seed ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    rng.permutation(len)
}

/// Decodes batches on background threads, in a deterministic order: batch `b` of the stream
/// (counted from `start_batch`, so a resumed run sees exactly the batches it would have seen)
/// holds images `order(epoch)[k·n..(k+1)·n]`; flips come from the same seed. (The trainer takes
/// its rank's shard with `loader_shard`; a single process's shard is the whole batch.)
#[cfg(test)]
pub fn loader(
    data: Arc<Dataset>,
    n: usize,
    seed: u64,
    flips: bool,
    start_batch: u64,
    threads: usize,
) -> Receiver<Result<Batch>> {
    loader_shard(data, n, 0..n, seed, flips, start_batch, threads)
}

/// `loader` for one rank of a data-parallel job: of every global batch of `n` images only the
/// images at positions `shard` (e.g. rank r of R: `r·n/R..(r+1)·n/R`), so the ranks split each
/// epoch's order between them; a flip is a function of the image's global position, so any
/// split of the batch sees the same images.
pub fn loader_shard(
    data: Arc<Dataset>,
    n: usize,
    shard: std::ops::Range<usize>,
    seed: u64,
    flips: bool,
    start_batch: u64,
    threads: usize,
) -> Receiver<Result<Batch>> {
    let per_epoch = (data.len() / n).max(1) as u64;
    let (tx, rx) = sync_channel::<Result<Batch>>(threads.max(1) * 2);
    let threads = threads.max(1) as u64;
    // worker t makes batches start + t, start + t + threads, ...; a reorder stage keeps the order
    let (wtx, wrx) = sync_channel::<(u64, Result<Batch>)>(threads as usize * 2);
    for t in 0..threads {
        let (data, wtx, shard) = (data.clone(), wtx.clone(), shard.clone());
        std::thread::spawn(move || {
            let mut b = start_batch + t;
            loop {
                let (epoch, k) = (b / per_epoch, (b % per_epoch) as usize);
                let order = epoch_order(data.len(), seed, epoch);
                let res = (|| {
                    let mut images = Vec::with_capacity(shard.len() * data.dims());
                    let mut labels = data.labels.as_ref().map(|_| Vec::with_capacity(shard.len()));
                    for j in shard.clone() {
                        let i = order[(k * n + j) % data.len()];
                        let flip = flips && glowgpu::rng::uniform(seed, 7, (b * n as u64 + j as u64) as u32) < 0.5;
                        images.extend(data.load(i, flip)?);
                        if let (Some(l), Some(all)) = (labels.as_mut(), data.labels.as_ref()) {
                            l.push(all[i]);
                        }
                    }
                    Ok(Batch { images, labels, n: shard.len() })
                })();
                if wtx.send((b, res)).is_err() {
                    return;
                }
                b += threads;
            }
        });
    }
    std::thread::spawn(move || {
        let mut next = start_batch;
        let mut pending = std::collections::BTreeMap::new();
        while let Ok((b, r)) = wrx.recv() {
            pending.insert(b, r);
            while let Some(r) = pending.remove(&next) {
                if tx.send(r).is_err() {
                    return;
                }
                next += 1;
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("glow-data-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn spec(root: PathBuf, size: usize, pad: bool) -> DataSpec {
        DataSpec { root, csv: None, split: "train".into(), size, channels: 3, pad, label_column: None }
    }

    #[test]
    fn empty_folder_is_an_error_naming_it() {
        let d = tmp("empty");
        let e = Dataset::open(spec(d.clone(), 8, false)).err().unwrap().to_string();
        assert!(e.contains("no PNG/JPEG images found") && e.contains(&d.display().to_string()), "{e}");
    }

    #[test]
    fn unreadable_and_too_small_images_name_the_file() {
        let d = tmp("bad");
        std::fs::write(d.join("a_bad.png"), b"not a png").unwrap();
        image::RgbImage::from_pixel(6, 5, image::Rgb([10, 20, 30])).save(d.join("b_small.png")).unwrap();
        image::RgbImage::from_pixel(20, 12, image::Rgb([200, 100, 0])).save(d.join("c_big.png")).unwrap();
        let ds = Dataset::open(spec(d.clone(), 8, false)).unwrap();
        assert_eq!(ds.len(), 3);
        let e = format!("{:#}", ds.load(0, false).unwrap_err());
        assert!(e.contains("a_bad.png"), "{e}");
        let e = format!("{:#}", ds.load(1, false).unwrap_err());
        assert!(e.contains("b_small.png") && e.contains("smaller than --image-size 8"), "{e}");
        // centre-crop 12x12 then resize to 8x8
        let big = ds.load(2, false).unwrap();
        assert_eq!(big.len(), 8 * 8 * 3);
        assert!(big.chunks(3).all(|p| p == [200, 100, 0]));
        // padding: the 6x5 image in the middle of an 8x8 black canvas
        let padded = Dataset::open(spec(d, 8, true)).unwrap().load(1, true).unwrap();
        assert_eq!(padded.len(), 8 * 8 * 3);
        assert_eq!(&padded[..3], &[0, 0, 0]);
        assert_eq!(&padded[(3 * 8 + 3) * 3..(3 * 8 + 3) * 3 + 3], &[10, 20, 30]);
    }

    #[test]
    fn symlink_loops_are_read_once() {
        let d = tmp("loops");
        for i in 0..3u8 {
            image::RgbImage::from_pixel(4, 4, image::Rgb([i, i, i])).save(d.join(format!("{i}.png"))).unwrap();
        }
        std::os::unix::fs::symlink(&d, d.join("self1")).unwrap();
        std::os::unix::fs::symlink(&d, d.join("self2")).unwrap();
        let ds = Dataset::open(spec(d.clone(), 4, false)).unwrap();
        let names: Vec<_> = ds.files.iter().map(|f| f.strip_prefix(&d).unwrap().display().to_string()).collect();
        assert_eq!(names, ["0.png", "1.png", "2.png"]);
    }

    #[test]
    fn csv_with_bom_crlf_and_out_of_range_labels() {
        let d = tmp("csv");
        let csv = d.join("labels.csv");
        std::fs::write(&csv, "\u{feff}file,split,label\r\na.png,train,3\r\nb.png,test,1\r\nc.png,train,0\r\n").unwrap();
        let mut s = spec(d.clone(), 4, false);
        (s.csv, s.label_column) = (Some(csv.clone()), Some("label".into()));
        let ds = Dataset::open(s.clone()).unwrap();
        assert_eq!(ds.files, [d.join("a.png"), d.join("c.png")]);
        assert_eq!(ds.labels, Some(vec![3, 0]));
        std::fs::write(&csv, "file,split,label\na.png,train,4294967295\n").unwrap();
        let e = format!("{:#}", Dataset::open(s).err().unwrap());
        assert_eq!(
            e,
            format!(
                "{} line 2: label 4294967295 is out of range: a model has at most 100000 classes (0..100000)",
                csv.display()
            )
        );
    }

    #[test]
    fn scan_lists_bad_images_and_skips_up_to_the_limit() {
        let d = tmp("scan");
        for i in 0..4u8 {
            image::RgbImage::from_pixel(4, 4, image::Rgb([i, i, i])).save(d.join(format!("{i}.png"))).unwrap();
        }
        std::fs::write(d.join("1.png"), b"not a png").unwrap();
        std::fs::write(d.join("3.png"), b"").unwrap();
        let mut ds = Dataset::open(spec(d.clone(), 4, false)).unwrap();
        let e = format!("{:#}", ds.scan(2, 1).unwrap_err());
        assert!(e.starts_with("2 of 4 images cannot be used (--skip-bad-images allows 1): cannot read image "), "{e}");
        assert!(e.contains("1.png") && e.contains("3.png") && e.ends_with("--skip-bad-images 2 to go on without them"));
        assert_eq!(ds.len(), 4, "a failed scan drops nothing");
        let dropped = ds.scan(2, 2).unwrap();
        assert_eq!(dropped.iter().map(|b| b.0.clone()).collect::<Vec<_>>(), [d.join("1.png"), d.join("3.png")]);
        assert_eq!(ds.files, [d.join("0.png"), d.join("2.png")]);
        assert_eq!(ds.scan(1, 0).unwrap().len(), 0);
    }

    #[test]
    fn loader_order_is_deterministic_and_resumable() {
        let d = tmp("order");
        for i in 0..10u8 {
            image::RgbImage::from_pixel(4, 4, image::Rgb([i, i, i])).save(d.join(format!("{i}.png"))).unwrap();
        }
        let ds = Arc::new(Dataset::open(spec(d, 4, false)).unwrap());
        let firsts = |start: u64, count: usize| -> Vec<u8> {
            let rx = loader(ds.clone(), 3, 42, true, start, 2);
            (0..count).flat_map(|_| rx.recv().unwrap().unwrap().images.into_iter().step_by(48)).collect()
        };
        let all = firsts(0, 6);
        assert_eq!(firsts(0, 6), all, "same seed, same batches");
        assert_eq!(firsts(4, 2), all[4 * 3..].to_vec(), "starting at batch 4 continues the same stream");
    }

    #[test]
    fn rank_shards_concatenate_to_the_global_batch() {
        let d = tmp("shard");
        for i in 0..10u8 {
            image::RgbImage::from_fn(4, 4, |x, _| image::Rgb([i, x as u8 * 60, 0]))
                .save(d.join(format!("{i}.png")))
                .unwrap();
        }
        let ds = Arc::new(Dataset::open(spec(d, 4, false)).unwrap());
        let whole = loader(ds.clone(), 4, 9, true, 2, 2);
        let (r0, r1) = (loader_shard(ds.clone(), 4, 0..2, 9, true, 2, 1), loader_shard(ds, 4, 2..4, 9, true, 2, 3));
        for _ in 0..5 {
            let (a, b) = (r0.recv().unwrap().unwrap(), r1.recv().unwrap().unwrap());
            assert_eq!((a.n, b.n), (2, 2));
            assert_eq!([a.images, b.images].concat(), whole.recv().unwrap().unwrap().images, "same images, same flips");
        }
    }
}

//! The shipped default face model (`www/models/default.safetensors`, its attribute directions
//! `default.attributes.safetensors`) against what its model card (`www/models/README.md`) states,
//! on the held-out test split of `../shared/data/celeba64`:
//! - test bits/dim on a fixed subset with fixed noise seeds reproduces the card's figure (±0.002);
//! - `decode(encode(x))` is exact at the model's `n_bits` on test faces, on the GPU and CPU backends;
//! - every shipped direction separates held-out faces: encoded test faces with the attribute project
//!   further along it than faces without (Welch's t above 3);
//! - the MNIST model shipped beside it reproduces its card too.
use std::path::{Path, PathBuf};

use glowgpu::attributes::Directions;
use glowgpu::platform::block_on;
use glowgpu::{load_weights, Backend, CpuBackend, Glow, GlowConfig, GpuBackend, Params};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn celeba() -> PathBuf {
    let dir = root().join("../shared/data/celeba64");
    assert!(
        dir.join("attributes.csv").is_file(),
        "the shipped-model tests need the CelebA test split at {} (see ../shared/data/README.md)",
        dir.display()
    );
    dir
}

fn shipped() -> (GlowConfig, Params) {
    let path = root().join("www/models/default.safetensors");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    load_weights(&bytes).unwrap_or_else(|e| panic!("{} does not load: {e}", path.display()))
}

/// The test split in `attributes.csv` order: file paths and the 40 attribute columns.
struct TestSplit {
    names: Vec<String>,
    files: Vec<PathBuf>,
    attrs: Vec<Vec<u8>>,
}

fn test_split() -> TestSplit {
    let dir = celeba();
    let text = std::fs::read_to_string(dir.join("attributes.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(&header[..3], ["file", "split", "identity"]);
    let names = header[3..].iter().map(|s| s.to_string()).collect();
    let (mut files, mut attrs) = (Vec::new(), Vec::new());
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        if f[1] == "test" {
            files.push(dir.join(f[0]));
            attrs.push(f[3..].iter().map(|v| v.parse::<u8>().unwrap()).collect());
        }
    }
    assert_eq!(files.len(), 1990, "the CelebA test split changed");
    TestSplit { names, files, attrs }
}

/// HWC RGB bytes of 64x64 faces, in order.
fn load_faces(files: &[PathBuf], cfg: &GlowConfig) -> Vec<u8> {
    let mut out = Vec::with_capacity(files.len() * cfg.dims());
    for f in files {
        let img = image::open(f).unwrap_or_else(|e| panic!("cannot read {}: {e}", f.display())).to_rgb8();
        assert_eq!((img.width() as usize, img.height() as usize), (cfg.image_width, cfg.image_height));
        out.extend_from_slice(img.as_raw());
    }
    out
}

fn gpu() -> GpuBackend {
    // no std::env::set_var here: tests run in parallel threads; scripts/test.sh exports
    // XDG_RUNTIME_DIR (without it Mesa only prints a warning)
    block_on(GpuBackend::new()).unwrap_or_else(|e| {
        panic!("GPU tests need a WebGPU/Vulkan adapter (lavapipe: apt-get install mesa-vulkan-drivers): {e}")
    })
}

/// The card's fixed-subset figure: the line `Fixed-subset check: ... **X.XXXX** bits/dim`.
fn card_subset_bpd() -> f64 {
    let card = std::fs::read_to_string(root().join("www/models/README.md")).unwrap();
    let line = card
        .lines()
        .find(|l| l.starts_with("Fixed-subset check:"))
        .expect("the model card has no `Fixed-subset check:` line");
    let num = line.split("**").nth(1).expect("the figure is in bold");
    num.trim().parse().unwrap_or_else(|e| panic!("cannot read the card's figure `{num}`: {e}"))
}

/// Mean bits/dim the way `trainer eval --limit 256 --batch 32 --seed 0` computes it: batch `b`
/// draws its dequantisation noise from seed `b`.
fn subset_bpd<B: Backend>(m: &mut Glow<B>, faces: &[u8], batch: usize) -> f64 {
    let d = m.config().dims();
    let n = faces.len() / d;
    let mut all = Vec::new();
    for b in 0..n / batch {
        let chunk = &faces[b * batch * d..(b + 1) * batch * d];
        all.extend(block_on(m.bits_per_dim(chunk, batch, None, b as u64)).unwrap());
    }
    all.iter().sum::<f64>() / all.len() as f64
}

#[test]
fn shipped_face_model_reproduces_the_cards_test_bits_per_dim() {
    let (cfg, params) = shipped();
    assert_eq!((cfg.image_height, cfg.image_width, cfg.image_channels), (64, 64, 3), "the default model is 64x64 RGB");
    let split = test_split();
    let faces = load_faces(&split.files[..256], &cfg);
    let want = card_subset_bpd();
    let mut cpu = Glow::from_params(cfg.clone(), params.clone(), CpuBackend::<f32>::new()).unwrap();
    let got = subset_bpd(&mut cpu, &faces, 32);
    eprintln!("fixed subset: {got:.4} bits/dim (card {want:.4})");
    // the card prints 4 decimals of the same computation (trainer eval on this backend)
    assert!((got - want).abs() <= 0.002, "test bits/dim {got:.4} on the fixed subset, the model card says {want:.4}");
    // the GPU backend agrees on the first batch
    let d = cfg.dims();
    let mut g = Glow::from_params(cfg, params, gpu()).unwrap();
    let a = block_on(g.bits_per_dim(&faces[..32 * d], 32, None, 0)).unwrap();
    let b = block_on(cpu.bits_per_dim(&faces[..32 * d], 32, None, 0)).unwrap();
    let worst = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
    assert!(worst <= 1e-3, "GPU and CPU bits/dim differ by {worst:.2e} on a test face");
}

#[test]
fn shipped_face_model_reconstructs_test_faces_exactly() {
    let (cfg, params) = shipped();
    let split = test_split();
    let n = 16;
    // every 100th test face: different people, poses, lighting
    let files: Vec<PathBuf> = split.files.iter().step_by(100).take(n).cloned().collect();
    let faces = load_faces(&files, &cfg);
    let step = 1u8 << (8 - cfg.n_bits);
    let want: Vec<u8> = faces.iter().map(|b| b / step * step).collect();
    let mut g = Glow::from_params(cfg.clone(), params.clone(), gpu()).unwrap();
    let mut c = Glow::from_params(cfg, params, CpuBackend::<f32>::new()).unwrap();
    fn round_trip<B: Backend>(m: &mut Glow<B>, faces: &[u8], n: usize) -> Vec<u8> {
        let enc = block_on(m.encode(faces, n, None)).unwrap();
        block_on(m.decode(&enc.latents, None)).unwrap()
    }
    for (name, back) in [("GPU", round_trip(&mut g, &faces, n)), ("CPU", round_trip(&mut c, &faces, n))] {
        let wrong = back.iter().zip(&want).filter(|(a, b)| a != b).count();
        assert_eq!(wrong, 0, "{name}: {wrong} of {} values differ after decode(encode(x))", want.len());
    }
}

#[test]
fn shipped_directions_separate_held_out_faces() {
    let (cfg, params) = shipped();
    let latent_len = cfg.dims();
    let path = root().join("www/models/default.attributes.safetensors");
    let dirs = Directions::load(&std::fs::read(&path).unwrap(), latent_len).unwrap();
    let split = test_split();
    assert_eq!(dirs.names.len(), split.names.len(), "one direction per CelebA attribute");
    let mut m = Glow::from_params(cfg.clone(), params, CpuBackend::<f32>::new()).unwrap();
    // encode every test face (1,990) once
    let batch = 50;
    let mut z: Vec<Vec<f64>> = Vec::with_capacity(split.files.len());
    for chunk in split.files.chunks(batch) {
        let faces = load_faces(chunk, &cfg);
        let enc = block_on(m.encode(&faces, chunk.len(), None)).unwrap();
        z.extend((0..chunk.len()).map(|i| enc.latents.flat(i)));
    }
    let mut failures = Vec::new();
    for (name, d) in dirs.names.iter().zip(&dirs.dirs) {
        let col = split.names.iter().position(|n| n == name).unwrap_or_else(|| panic!("unknown attribute {name}"));
        let norm = d.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!(norm > 0.0, "direction {name} is zero");
        let (mut pos, mut neg) = (Vec::new(), Vec::new());
        for (zi, a) in z.iter().zip(&split.attrs) {
            let proj = zi.iter().zip(d).map(|(x, y)| x * y).sum::<f64>() / norm;
            if a[col] == 1 {
                pos.push(proj)
            } else {
                neg.push(proj)
            }
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let var = |v: &[f64]| {
            let m = mean(v);
            v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() as f64 - 1.0)
        };
        let gap = mean(&pos) - mean(&neg);
        let t = gap / (var(&pos) / pos.len() as f64 + var(&neg) / neg.len() as f64).sqrt();
        eprintln!("{name:>20}: {:>4} positives, gap {gap:+.3}, t {t:+.1}", pos.len());
        // the right way, and by more than chance: Welch's t above 3
        if pos.is_empty() || gap <= 0.0 || t <= 3.0 {
            failures.push(format!("{name} (gap {gap:+.3}, t {t:+.1})"));
        }
    }
    assert!(failures.is_empty(), "directions that do not move held-out faces the right way: {failures:?}");
}

/// The MNIST model shipped beside the faces (`www/models/mnist.safetensors`): its card's test
/// bits/dim over all 10,000 test digits (`trainer eval --batch 50`: noise seed b for batch b), and
/// exact reconstruction of test digits.
#[test]
fn shipped_mnist_model_reproduces_its_card() {
    let bytes = std::fs::read(root().join("www/models/mnist.safetensors")).unwrap();
    let (cfg, params) = load_weights(&bytes).unwrap();
    assert_eq!((cfg.image_height, cfg.image_width, cfg.image_channels, cfg.n_bits), (32, 32, 1, 8));
    let dir = root().join("../shared/data/mnist");
    let text = std::fs::read_to_string(dir.join("labels.csv"))
        .unwrap_or_else(|e| panic!("the MNIST test needs ../shared/data/mnist: {e}"));
    let files: Vec<PathBuf> = text
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(1) == Some("test"))
        .map(|l| dir.join(l.split(',').next().unwrap()))
        .collect();
    assert_eq!(files.len(), 10_000);
    // 28x28 digits zero-padded to 32x32, as the trainer's --pad
    let mut digits = Vec::with_capacity(files.len() * 1024);
    for f in &files {
        let img = image::open(f).unwrap().to_luma8();
        let mut padded = [0u8; 1024];
        for y in 0..28 {
            for x in 0..28 {
                padded[(y + 2) * 32 + x + 2] = img.get_pixel(x as u32, y as u32)[0];
            }
        }
        digits.extend_from_slice(&padded);
    }
    let mut m = Glow::from_params(cfg, params, CpuBackend::<f32>::new()).unwrap();
    let got = subset_bpd(&mut m, &digits, 50);
    eprintln!("MNIST test bits/dim {got:.4} (card 1.703)");
    assert!((got - 1.703).abs() <= 0.02, "MNIST test bits/dim {got:.4}, the model card says 1.703");
    let n = 16;
    let enc = block_on(m.encode(&digits[..n * 1024], n, None)).unwrap();
    let back = block_on(m.decode(&enc.latents, None)).unwrap();
    assert_eq!(back, digits[..n * 1024], "decode(encode(x)) of test digits");
    let attrs = std::fs::read(root().join("www/models/mnist.attributes.safetensors")).unwrap();
    assert_eq!(Directions::load(&attrs, 1024).unwrap().names.len(), 10, "one direction per digit");
}

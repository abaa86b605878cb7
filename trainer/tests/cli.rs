//! The trainer binary end to end on a tiny generated data set (CPU backend): a run interrupted
//! and resumed ends exactly where an uninterrupted run ends; eval/sample/export work on its output.
use std::path::{Path, PathBuf};
use std::process::Command;

fn dataset(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..24u32 {
        let img =
            image::RgbImage::from_fn(10, 10, |x, y| image::Rgb([(x * 20 + i) as u8, (y * 20) as u8, (i * 9) as u8]));
        img.save(dir.join(format!("{i:02}.png"))).unwrap();
    }
}

fn trainer(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_trainer")).args(args).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "trainer {args:?} failed:\n{text}");
    text
}

fn train_args<'a>(data: &'a str, out: &'a str, steps: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--data",
        data,
        "--image-size",
        "8",
        "--levels",
        "2",
        "--depth",
        "2",
        "--width",
        "8",
        "--batch",
        "4",
        "--steps",
        steps,
        "--warmup",
        "2",
        "--checkpoint-every",
        "3",
        "--eval-every",
        "0",
        "--init-images",
        "8",
        "--backend",
        "cpu",
        "--flip",
        "--out",
        out,
    ]
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("glow-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn resume_is_exact_and_outputs_load() {
    let root = tmp("resume");
    let data = root.join("data");
    dataset(&data);
    let (a, b) = (root.join("a"), root.join("b"));
    let (ds, as_, bs) = (data.to_str().unwrap(), a.to_str().unwrap(), b.to_str().unwrap());
    trainer(&train_args(ds, as_, "6"));
    trainer(&train_args(ds, bs, "3"));
    let mut resume = train_args(ds, bs, "6");
    resume.push("--resume");
    assert!(trainer(&resume).contains("resuming at step 3"));
    let cols = |p: &Path| -> Vec<String> {
        std::fs::read_to_string(p.join("log.csv"))
            .unwrap()
            .lines()
            .map(|l| l.split(',').take(4).collect::<Vec<_>>().join(","))
            .collect()
    };
    assert_eq!(cols(&a), cols(&b), "resumed run diverged from the uninterrupted one");
    let wa = glowgpu::load_weights(&std::fs::read(a.join("model.safetensors")).unwrap()).unwrap();
    let wb = glowgpu::load_weights(&std::fs::read(b.join("model.safetensors")).unwrap()).unwrap();
    assert_eq!(wa, wb, "final EMA weights differ");
    // the other commands on the result
    let w = a.join("model.safetensors");
    let ws = w.to_str().unwrap();
    let ev = trainer(&["eval", "--weights", ws, "--data", ds, "--batch", "4", "--backend", "cpu"]);
    assert!(ev.contains("bits/dim") && ev.contains("95% CI over 24 images"), "{ev}");
    let grid = root.join("grid.png");
    trainer(&["sample", "--weights", ws, "--out", grid.to_str().unwrap(), "--n", "4", "--backend", "cpu"]);
    assert_eq!(image::open(&grid).unwrap().width(), 2 * (8 + 2) + 2);
    let half = root.join("half.safetensors");
    trainer(&["export", "--weights", ws, "--out", half.to_str().unwrap(), "--f16"]);
    assert!(std::fs::metadata(&half).unwrap().len() < std::fs::metadata(&w).unwrap().len() * 6 / 10);
    glowgpu::load_weights(&std::fs::read(&half).unwrap()).unwrap();
    // export straight from the run's checkpoint: its EMA weights are the run's model.safetensors
    let ck = a.join("checkpoint.safetensors");
    let from_ck = root.join("from_ck.safetensors");
    trainer(&["export", "--weights", ck.to_str().unwrap(), "--out", from_ck.to_str().unwrap()]);
    assert_eq!(glowgpu::load_weights(&std::fs::read(&from_ck).unwrap()).unwrap(), wa, "checkpoint EMA export");
    trainer(&["export", "--weights", ck.to_str().unwrap(), "--out", from_ck.to_str().unwrap(), "--raw"]);
    assert_ne!(glowgpu::load_weights(&std::fs::read(&from_ck).unwrap()).unwrap(), wa, "--raw exports the EMA");
    // grown from the checkpoint: the same bits/dim, and training warm-starts from it
    let grown = root.join("grown.safetensors");
    let gs = grown.to_str().unwrap();
    trainer(&["grow", "--weights", ck.to_str().unwrap(), "--depth", "4", "--width", "12", "--out", gs]);
    let (gc, _) = glowgpu::load_weights(&std::fs::read(&grown).unwrap()).unwrap();
    assert_eq!((gc.depth, gc.hidden), (4, 12));
    let ev_grown = trainer(&["eval", "--weights", gs, "--data", ds, "--batch", "4", "--backend", "cpu"]);
    let line = |t: &str| t.lines().find(|l| l.starts_with("bits/dim")).map(str::to_string);
    assert!(line(&ev).is_some(), "{ev}");
    assert_eq!(line(&ev_grown), line(&ev), "the grown model's bits/dim");
    let mut warm =
        train_args(ds, root.join("g").to_str().unwrap(), "2").iter().map(|s| s.to_string()).collect::<Vec<_>>();
    warm.extend(["--init-weights".to_string(), gs.to_string()]);
    let warm: Vec<&str> = warm.iter().map(String::as_str).collect();
    assert!(trainer(&warm).contains("warm start from"));
    let odd = Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(["grow", "--weights", ws, "--depth", "3", "--out", gs])
        .output()
        .unwrap();
    assert!(!odd.status.success() && String::from_utf8_lossy(&odd.stderr).contains("must be even"));
    let out = Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(["export", "--weights", ws, "--out", from_ck.to_str().unwrap(), "--raw"])
        .output()
        .unwrap();
    assert!(
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--raw takes a training checkpoint")
    );
}

/// `scripts/ck-ema-as-raw.py` (a warm start's starting point with the optimizer's state kept): the
/// rewritten checkpoint's raw weights and EMA are both the original EMA rounded to f16, and the
/// run resumes from it at the checkpoint's step.
#[test]
fn ck_ema_as_raw_keeps_the_step_and_starts_at_the_f16_ema() {
    let root = tmp("ema-as-raw");
    let data = root.join("data");
    dataset(&data);
    let (a, b) = (root.join("a"), root.join("b"));
    let (ds, as_) = (data.to_str().unwrap(), a.to_str().unwrap());
    trainer(&train_args(ds, as_, "3"));
    std::fs::create_dir_all(&b).unwrap();
    std::fs::copy(a.join("log.csv"), b.join("log.csv")).unwrap();
    let (ck, ck_b) = (a.join("checkpoint.safetensors"), b.join("checkpoint.safetensors"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/ck-ema-as-raw.py");
    let out = Command::new("python3").arg(&script).arg(&ck).arg(&ck_b).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let export = |src: &Path, name: &str, flags: &[&str]| {
        let dst = root.join(name);
        let mut args = vec!["export", "--weights", src.to_str().unwrap(), "--out", dst.to_str().unwrap()];
        args.extend_from_slice(flags);
        trainer(&args);
        glowgpu::load_weights(&std::fs::read(&dst).unwrap()).unwrap()
    };
    let ema_f16 = export(&ck, "ema16.safetensors", &["--f16"]);
    let raw = export(&ck, "raw.safetensors", &["--raw"]);
    assert_ne!(raw, ema_f16, "the original checkpoint's raw weights are not its EMA");
    assert_eq!(export(&ck_b, "b_raw.safetensors", &["--raw"]), ema_f16, "raw weights = f16(EMA)");
    assert_eq!(export(&ck_b, "b_ema.safetensors", &[]), ema_f16, "EMA = f16(EMA)");
    let mut resume = train_args(ds, b.to_str().unwrap(), "5");
    resume.push("--resume");
    assert!(trainer(&resume).contains("resuming at step 3"));
    let bad =
        Command::new("python3").arg(&script).arg(root.join("ema16.safetensors")).arg(root.join("x")).output().unwrap();
    assert!(
        !bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("not a glowgpu training checkpoint")
    );
}

/// `scripts/opt-carry.py`: Adamax's accumulators saved beside the shipped f16 EMA weights (as
/// bf16) and loaded back into a run folder give a checkpoint at the original step whose raw weights
/// and EMA are the shipped weights, `opt.m` zero and `opt.v` the original rounded to bf16; the run
/// resumes from it. A carry for other weights, weights that are not the checkpoint's f16 EMA and
/// an occupied run folder are refused.
#[test]
fn opt_carry_restores_the_step_and_the_accumulators() {
    let root = tmp("opt-carry");
    let data = root.join("data");
    dataset(&data);
    let a = root.join("a");
    let ds = data.to_str().unwrap();
    trainer(&train_args(ds, a.to_str().unwrap(), "3"));
    let ck = a.join("checkpoint.safetensors");
    let (w16, raw16) = (root.join("w16.safetensors"), root.join("raw16.safetensors"));
    trainer(&["export", "--weights", ck.to_str().unwrap(), "--f16", "--out", w16.to_str().unwrap()]);
    trainer(&["export", "--weights", ck.to_str().unwrap(), "--f16", "--raw", "--out", raw16.to_str().unwrap()]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/opt-carry.py");
    let py = |args: &[&Path]| {
        let out = Command::new("python3").arg(&script).args(args).output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let carry = root.join("carry.safetensors");
    let (ok, err) = py(&[Path::new("save"), &ck, &w16, &carry]);
    assert!(ok, "{err}");
    let b = root.join("b");
    let (ok, err) = py(&[Path::new("load"), &w16, &carry, &b]);
    assert!(ok, "{err}");

    let (orig, back) = (std::fs::read(&ck).unwrap(), std::fs::read(b.join("checkpoint.safetensors")).unwrap());
    let (orig, back) =
        (safetensors::SafeTensors::deserialize(&orig).unwrap(), safetensors::SafeTensors::deserialize(&back).unwrap());
    let f32s = |st: &safetensors::SafeTensors, k: &str| -> Vec<f32> {
        let v = st.tensor(k).unwrap();
        assert_eq!(v.dtype(), safetensors::Dtype::F32, "{k}");
        v.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
    };
    let (_, shipped) = glowgpu::load_weights(&std::fs::read(&w16).unwrap()).unwrap();
    let mut accumulators = 0;
    for (k, t) in &shipped.map {
        assert_eq!(f32s(&back, k), t.data, "raw {k} = the shipped weights");
        assert_eq!(f32s(&back, &format!("ema.{k}")), t.data, "EMA {k} = the shipped weights");
        assert!(f32s(&back, &format!("opt.m.{k}")).iter().all(|&m| m == 0.0), "opt.m.{k} = 0");
        let (v0, v1) = (f32s(&orig, &format!("opt.v.{k}")), f32s(&back, &format!("opt.v.{k}")));
        for (x, y) in v0.iter().zip(&v1) {
            assert!((x - y).abs() <= x.abs() / 256.0, "opt.v.{k}: {y} is not {x} rounded to bf16");
        }
        accumulators += v0.iter().filter(|&&x| x > 0.0).count();
    }
    assert!(accumulators > 0, "the accumulators were all zero: nothing was carried");
    let mut resume = train_args(ds, b.to_str().unwrap(), "5");
    resume.push("--resume");
    assert!(trainer(&resume).contains("resuming at step 3 (3 batches seen)"));

    let (ok, err) = py(&[Path::new("load"), &w16, &carry, &b]);
    assert!(!ok && err.contains("refusing to overwrite"), "{err}");
    let (ok, err) = py(&[Path::new("load"), &raw16, &carry, &root.join("c")]);
    assert!(!ok && err.contains("saved for other weights"), "{err}");
    let (ok, err) = py(&[Path::new("save"), &ck, &raw16, &root.join("x")]);
    assert!(!ok && err.contains("is not the checkpoint's EMA rounded to f16"), "{err}");
    let (ok, err) = py(&[Path::new("save"), &w16, &w16, &root.join("x")]);
    assert!(!ok && err.contains("not a glowgpu training checkpoint"), "{err}");
}

/// A warm start without `--seed` takes its run seed from the weights file's bytes (FNV-1a 64),
/// so new weights give a new data order and noise stream, not seed 0's again; the checkpoint
/// keeps it, a resume without `--seed` reuses it, `--seed` overrides it.
#[test]
fn a_warm_start_seeds_its_run_from_the_weights() {
    let root = tmp("warm-seed");
    let data = root.join("data");
    dataset(&data);
    let ds = data.to_str().unwrap();
    let a = root.join("a");
    trainer(&train_args(ds, a.to_str().unwrap(), "3"));
    let w = a.join("model.safetensors");
    let fnv = |b: &[u8]| b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &x| (h ^ x as u64).wrapping_mul(0x100_0000_01b3));
    let want = fnv(&std::fs::read(&w).unwrap());
    assert_ne!(want, 0);
    let ck_seed = |run: &Path| -> u64 {
        let bytes = std::fs::read(run.join("checkpoint.safetensors")).unwrap();
        let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
        meta.metadata().as_ref().unwrap()["seed"].parse().unwrap()
    };
    let b = root.join("b");
    let mut warm = train_args(ds, b.to_str().unwrap(), "3");
    warm.extend(["--init-weights", w.to_str().unwrap()]);
    let said = trainer(&warm);
    assert!(said.contains(&format!("run seed {want} (the warm-start weights' hash")), "{said}");
    assert_eq!(ck_seed(&b), want);
    let mut resume = train_args(ds, b.to_str().unwrap(), "5");
    resume.extend(["--init-weights", w.to_str().unwrap(), "--resume"]);
    assert!(trainer(&resume).contains("resuming at step 3"));
    assert_eq!(ck_seed(&b), want, "the resumed run keeps the seed");
    resume.extend(["--seed", "7"]);
    let out = Command::new(env!("CARGO_BIN_EXE_trainer")).args(&resume).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains(&format!("--seed: 7 given, the checkpoint has {want}")), "{err}");
    let c = root.join("c");
    let mut seeded = train_args(ds, c.to_str().unwrap(), "3");
    seeded.extend(["--init-weights", w.to_str().unwrap(), "--seed", "7"]);
    assert!(!trainer(&seeded).contains("run seed"));
    assert_eq!(ck_seed(&c), 7);
    assert_eq!(ck_seed(&a), 0, "from scratch the seed stays 0");
}

#[test]
fn bad_data_gives_a_clear_error() {
    let root = tmp("bad");
    std::fs::create_dir_all(root.join("empty")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(train_args(root.join("empty").to_str().unwrap(), root.join("o").to_str().unwrap(), "2"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no PNG/JPEG images found"), "{err}");
}

#[test]
fn attribute_directions_are_mean_latent_differences() {
    let root = tmp("attr");
    let data = root.join("data");
    dataset(&data);
    // a CSV: images 0..11 train, `Bright` = 1 for odd ones
    let mut csv = String::from("file,split,identity,Bright,Odd\n");
    for i in 0..24u32 {
        let split = if i < 12 { "train" } else { "test" };
        csv += &format!("{i:02}.png,{split},{},{},{}\n", i / 2, (i >= 6) as u8, i % 2);
    }
    let csv_path = root.join("attrs.csv");
    std::fs::write(&csv_path, csv).unwrap();
    let out = root.join("run");
    let (ds, os) = (data.to_str().unwrap(), out.to_str().unwrap());
    trainer(&train_args(ds, os, "2"));
    let w = out.join("model.safetensors");
    let dirs = root.join("dirs.safetensors");
    let cs = csv_path.to_str().unwrap();
    let args = ["attributes", "--weights", w.to_str().unwrap(), "--data", ds, "--split-csv", cs, "--batch", "5"];
    let text = trainer(&[&args[..], &["--out", dirs.to_str().unwrap(), "--backend", "cpu"]].concat());
    assert!(text.contains("2 directions"), "{text}");
    let bytes = std::fs::read(&dirs).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let got: Vec<f64> = st
        .tensor("attr.Odd")
        .unwrap()
        .data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
        .collect();
    // reference: encode the 12 train images with the library, average by hand
    let (cfg, params) = glowgpu::load_weights(&std::fs::read(&w).unwrap()).unwrap();
    let mut m = glowgpu::Glow::from_params(cfg.clone(), params, glowgpu::CpuBackend::<f64>::new()).unwrap();
    let mut imgs = Vec::new();
    for i in 0..12u32 {
        let img = image::open(data.join(format!("{i:02}.png"))).unwrap().to_rgb8();
        let img = image::imageops::resize(
            &image::imageops::crop_imm(&img, 0, 0, 10, 10).to_image(),
            8,
            8,
            image::imageops::FilterType::Lanczos3,
        );
        imgs.extend(img.into_raw());
    }
    let lat = glowgpu::platform::block_on(m.encode(&imgs, 12, None)).unwrap().latents;
    let d = cfg.dims();
    let mut want = vec![0.0; d];
    for i in 0..12 {
        let z = lat.flat(i);
        let s = if i % 2 == 1 { 1.0 / 6.0 } else { -1.0 / 6.0 };
        want.iter_mut().zip(&z).for_each(|(w, x)| *w += s * x);
    }
    assert_eq!(got.len(), d);
    let num: f64 = got.iter().zip(&want).map(|(a, b)| (a - b).powi(2)).sum();
    let den: f64 = want.iter().map(|b| b * b).sum();
    assert!((num / den).sqrt() < 1e-4, "direction differs from the mean latent difference: {}", (num / den).sqrt());
}

/// A trainer built without the `distributed` feature refuses to run as one of several `mpirun`
/// processes (each would train alone into the same run folder).
#[cfg(not(feature = "distributed"))]
#[test]
fn plain_build_refuses_to_run_under_mpirun() {
    let root = tmp("mpi-guard");
    let data = root.join("data");
    dataset(&data);
    let out = root.join("out");
    let args = train_args(data.to_str().unwrap(), out.to_str().unwrap(), "1");
    let o = Command::new(env!("CARGO_BIN_EXE_trainer")).args(&args).env("OMPI_COMM_WORLD_SIZE", "2").output().unwrap();
    let text = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && text.contains("--features distributed"), "{text}");
    assert!(!out.join("log.csv").exists());
}

//! Bad flags, bad data and bad runs through the trainer binary (CPU backend): each a clear
//! error and a non-zero exit before anything is lost or half-written; checkpoints only of
//! weights that work, and a true message about them; one trainer per run folder.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use glowgpu::{GlowConfig, Params};

fn dataset(dir: &Path, n: u32) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        let img =
            image::RgbImage::from_fn(10, 10, |x, y| image::Rgb([(x * 20 + i) as u8, (y * 20) as u8, (i * 9) as u8]));
        img.save(dir.join(format!("{i:02}.png"))).unwrap();
    }
}

fn run(args: &[&str], env: &[(&str, &str)]) -> (Output, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_trainer")).args(args).envs(env.iter().copied()).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out, text)
}

fn ok(args: &[&str], env: &[(&str, &str)]) -> String {
    let (out, text) = run(args, env);
    assert!(out.status.success(), "trainer {args:?} failed:\n{text}");
    text
}

/// Runs a command that must fail; returns its stderr.
fn fails(args: &[&str], env: &[(&str, &str)]) -> String {
    let (out, text) = run(args, env);
    assert!(!out.status.success(), "trainer {args:?} succeeded:\n{text}");
    assert!(!text.contains("panicked"), "{text}");
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// `trainer train` of a tiny model; `set` replaces or adds flags (`("--batch", "0")`, a value
/// of "" for a switch).
fn train_args(data: &str, out: &str, steps: &str, set: &[(&str, &str)]) -> Vec<String> {
    let base = "--image-size 8 --levels 2 --depth 2 --width 8 --batch 4 --warmup 2 --checkpoint-every 3 \
                --eval-every 0 --init-images 8 --backend cpu";
    let mut flags: Vec<(String, String)> =
        base.split(' ').collect::<Vec<_>>().chunks(2).map(|p| (p[0].to_string(), p[1].to_string())).collect();
    flags.extend([("--data", data), ("--out", out), ("--steps", steps)].map(|(k, v)| (k.into(), v.into())));
    for (k, v) in set {
        match flags.iter_mut().find(|f| f.0 == *k) {
            Some(f) => f.1 = v.to_string(),
            None => flags.push((k.to_string(), v.to_string())),
        }
    }
    let mut v = vec!["train".to_string()];
    for (k, val) in flags {
        if val.is_empty() {
            v.push(k);
        } else {
            v.push(format!("{k}={val}"));
        }
    }
    v
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("glow-bad-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn bad_flags_are_refused_before_anything_is_written() {
    let root = tmp("flags");
    let data = root.join("data");
    dataset(&data, 8);
    let out = root.join("out");
    for (flag, value, want) in [
        ("--batch", "0", "--batch must be at least 1"),
        ("--checkpoint-every", "0", "--checkpoint-every must be at least 1"),
        ("--image-size", "100000", "image_height must be in 1..=8192, got 100000"),
        ("--ema-epochs", "nan", "--ema-epochs must be a finite number above 0, got NaN"),
        ("--max-grad-norm", "-1", "--max-grad-norm must be a finite number >= 0 (0 = off), got -1"),
        ("--lr", "inf", "--lr must be a finite number above 0, got inf"),
        ("--width", "100000", "hidden must be in 1..=8192, got 100000"),
    ] {
        let args = train_args(data.to_str().unwrap(), out.to_str().unwrap(), "2", &[(flag, value)]);
        let err = fails(&strs(&args), &[]);
        assert!(err.contains(want), "{flag} {value}: {err}");
        assert!(!out.exists(), "{flag} {value} created the run folder");
    }
}

#[test]
fn labels_of_2_pow_32_classes_are_refused() {
    let root = tmp("labels");
    let data = root.join("data");
    dataset(&data, 8);
    let csv = root.join("labels.csv");
    let mut text = String::from("\u{feff}file,split,label\r\n");
    for i in 0..8 {
        let split = if i < 6 { "train" } else { "test" };
        text += &format!("{i:02}.png,{split},{}\r\n", if i == 5 { 4294967295u32 } else { i % 2 });
    }
    std::fs::write(&csv, &text).unwrap();
    let out = root.join("out");
    let cs = csv.to_str().unwrap();
    let args = train_args(
        data.to_str().unwrap(),
        out.to_str().unwrap(),
        "2",
        &[("--split-csv", cs), ("--label-column", "label")],
    );
    let err = fails(&strs(&args), &[]);
    assert!(err.contains("line 7: label 4294967295 is out of range: a model has at most 100000 classes"), "{err}");
    // the same CSV (UTF-8 BOM, \r\n) with sane labels trains a 2-class model
    std::fs::write(&csv, text.replace("4294967295", "1")).unwrap();
    let text = ok(&strs(&args), &[]);
    assert!(text.contains("class-conditional: 2 classes"), "{text}");
}

#[test]
fn resume_with_other_model_flags_is_refused() {
    let root = tmp("resume");
    let data = root.join("data");
    dataset(&data, 8);
    let out = root.join("out");
    let (ds, os) = (data.to_str().unwrap(), out.to_str().unwrap());
    ok(&strs(&train_args(ds, os, "3", &[])), &[]);
    let log = std::fs::read(out.join("log.csv")).unwrap();
    let ck = std::fs::read(out.join("checkpoint.safetensors")).unwrap();
    let args = train_args(ds, os, "6", &[("--resume", ""), ("--width", "16"), ("--depth", "3")]);
    let err = fails(&strs(&args), &[]);
    assert!(
        err.contains("--resume: the flags differ from the run in")
            && err.contains("--depth: 3 given, the checkpoint has 2")
            && err.contains("--width: 16 given, the checkpoint has 8"),
        "{err}"
    );
    assert_eq!(std::fs::read(out.join("log.csv")).unwrap(), log);
    assert_eq!(std::fs::read(out.join("checkpoint.safetensors")).unwrap(), ck);
}

#[test]
fn unreadable_images_are_listed_up_front_or_skipped_within_the_limit() {
    let root = tmp("unreadable");
    let data = root.join("data");
    dataset(&data, 12);
    std::fs::write(data.join("07.png"), b"truncated").unwrap();
    let out = root.join("out");
    let args = train_args(data.to_str().unwrap(), out.to_str().unwrap(), "2", &[]);
    let err = fails(&strs(&args), &[]);
    assert!(err.contains("1 of 12 images cannot be used: cannot read image") && err.contains("07.png"), "{err}");
    assert!(err.contains("--skip-bad-images 1"), "{err}");
    assert!(!out.join("log.csv").exists());
    let args = train_args(data.to_str().unwrap(), out.to_str().unwrap(), "2", &[("--skip-bad-images", "1")]);
    let text = ok(&strs(&args), &[]);
    assert!(text.contains("warning: 1 train image(s) left out (--skip-bad-images 1)") && text.contains("07.png"));
}

#[test]
fn a_diverging_run_keeps_only_working_checkpoints_and_says_so() {
    let root = tmp("diverge");
    let data = root.join("data");
    dataset(&data, 16);
    let (ds, out) = (data.to_str().unwrap(), root.join("a"));
    // lr 10: the first updates ruin the model; no checkpoint at step 5 can be reached
    let args =
        train_args(ds, out.to_str().unwrap(), "40", &[("--lr", "10"), ("--warmup", "0"), ("--checkpoint-every", "5")]);
    let err = fails(&strs(&args), &[]);
    assert!(err.contains("10 consecutive non-finite steps: stopping; no checkpoint was written"), "{err}");
    assert!(!out.join("checkpoint.safetensors").exists());
    // lr rising to 10 over 200 steps, --checkpoint-every 1: a few steps train, then an update
    // ruins the model (its own loss still finite); the checkpoint kept is the one before it
    let out = root.join("b");
    let args = train_args(
        ds,
        out.to_str().unwrap(),
        "40",
        &[("--lr", "10"), ("--warmup", "200"), ("--checkpoint-every", "1")],
    );
    let err = fails(&strs(&args), &[]);
    let ck = out.join("checkpoint.safetensors");
    let step: u64 = err
        .split("the last checkpoint ")
        .nth(1)
        .and_then(|s| s.split("(step ").nth(1))
        .and_then(|s| s.split(')').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no checkpoint step in: {err}"));
    let bytes = std::fs::read(&ck).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    assert_eq!(meta.metadata().as_ref().unwrap()["t"], step.to_string(), "the message names another step");
    assert!(step >= 2, "{err}");
    let exported = root.join("ck.safetensors");
    ok(&["export", "--weights", ck.to_str().unwrap(), "--out", exported.to_str().unwrap(), "--raw"], &[]);
    let ev =
        ok(&["eval", "--weights", exported.to_str().unwrap(), "--data", ds, "--batch", "4", "--backend", "cpu"], &[]);
    assert!(ev.contains("bits/dim") && ev.contains("95% CI over 16 images"), "step {step}: {ev}");
}

#[test]
fn a_second_trainer_on_the_same_folder_fails() {
    let root = tmp("lock");
    let data = root.join("data");
    dataset(&data, 8);
    let out = root.join("out");
    let args = train_args(data.to_str().unwrap(), out.to_str().unwrap(), "100000", &[]);
    let mut first = Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    while !out.join("log.csv").exists() {
        assert!(t0.elapsed().as_secs() < 120, "the first trainer never started");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let err = fails(&strs(&args), &[]);
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(err.contains(&format!("run folder {} is in use by another trainer (pid {})", out.display(), first.id())));
    // the lock goes with its process
    let resume = train_args(data.to_str().unwrap(), out.to_str().unwrap(), "1", &[("--resume", "")]);
    ok(&strs(&resume), &[]);
}

/// Weights of a tiny 8x8 RGB model with one tensor set to `value`.
fn weights_with(root: &Path, name: &str, tensor: &str, value: f32) -> PathBuf {
    let cfg = GlowConfig::tiny(8, 8, 3);
    let mut p = Params::init(&cfg, 1).unwrap();
    p.actnorm_initialized = true;
    p.map.get_mut(tensor).unwrap().data.iter_mut().for_each(|v| *v = value);
    let path = root.join(name);
    std::fs::create_dir_all(root).unwrap();
    std::fs::write(&path, glowgpu::save_weights(&cfg, &p).unwrap()).unwrap();
    path
}

#[test]
fn eval_and_sample_refuse_non_finite_results() {
    let root = tmp("nonfinite");
    let data = root.join("data");
    dataset(&data, 8);
    let ds = data.to_str().unwrap();
    let w = weights_with(&root, "overflow.safetensors", "l0.s0.actnorm.logs", 100.0);
    let err = fails(&["eval", "--weights", w.to_str().unwrap(), "--data", ds, "--batch", "4", "--backend", "cpu"], &[]);
    assert!(err.contains("non-finite value: encode: image 0 has logdet"), "{err}");
    let w = weights_with(&root, "nan.safetensors", "top.prior.bias", 1e4);
    let grid = root.join("grid.png");
    let err =
        fails(&["sample", "--weights", w.to_str().unwrap(), "--out", grid.to_str().unwrap(), "--backend", "cpu"], &[]);
    assert!(err.contains("non-finite value: sample: image 0 decodes to"), "{err}");
    assert!(!grid.exists(), "a grid was written");
}

#[test]
fn cpu_jobs_larger_than_memory_name_the_memory_and_the_batch_that_fits() {
    let root = tmp("memory");
    let data = root.join("data");
    dataset(&data, 24);
    let ds = data.to_str().unwrap();
    let w = weights_with(&root, "w.safetensors", "l0.s0.actnorm.bias", 0.0);
    let ws = w.to_str().unwrap();
    // 200,000 bytes besides the 128 MiB the estimate gives the process itself
    let mem = [("GLOWGPU_CPU_MEMORY", "134417728")];
    let err = fails(&["eval", "--weights", ws, "--data", ds, "--batch", "24", "--backend", "cpu"], &mem);
    assert!(err.contains("not enough memory: this CPU job needs") && err.contains("128.2 MiB is available"), "{err}");
    let fit: usize = err
        .split("a batch of at most ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no batch that fits in: {err}"));
    assert!(err.contains("(batch now 24)") && fit > 0 && fit < 24, "{err}");
    // the batch it names does fit
    ok(&["eval", "--weights", ws, "--data", ds, "--batch", &fit.to_string(), "--backend", "cpu"], &mem);
    let grid = root.join("grid.png");
    let gs = grid.to_str().unwrap();
    let err = fails(&["sample", "--weights", ws, "--out", gs, "--n", "20000", "--backend", "cpu"], &mem);
    assert!(err.contains("not enough memory") && err.contains("(batch now 20000)"), "{err}");
    // training: the step's graph at --batch 24 does not fit where init and eval do
    let out = root.join("run");
    let args = train_args(ds, out.to_str().unwrap(), "2", &[("--batch", "24"), ("--width", "512")]);
    let err = fails(&strs(&args), &[("GLOWGPU_CPU_MEMORY", "167217728")]);
    assert!(err.contains("not enough memory") && err.contains("fits (batch now 24)"), "{err}");
    assert!(err.contains("batch now 24); no checkpoint was written ("), "{err}");
    // a model too large for memory is refused before its parameters exist: 4 levels of 2 steps of
    // 4096 hidden channels are 153 M parameters, 28 bytes each with their optimizer state
    let args =
        train_args(ds, out.to_str().unwrap(), "2", &[("--image-size", "16"), ("--levels", "4"), ("--width", "4096")]);
    let err = fails(&strs(&args), &[("GLOWGPU_CPU_MEMORY", "4000000000")]);
    assert!(
        err.contains("parameters and their optimizer state need ") && err.contains("3.7 GiB is available"),
        "{err}"
    );
    // images too large for memory are refused before one is decoded: 8192x8192x3 is 192 MiB
    let args = train_args(ds, out.to_str().unwrap(), "2", &[("--image-size", "8192"), ("--batch", "16")]);
    let err = fails(&strs(&args), &[("GLOWGPU_CPU_MEMORY", "4000000000")]);
    assert!(
        err.contains(
            "decoded images alone would need 39.0 GiB (192.0 MiB per image, 8192x8192x3: --batch 16 with 2 \
                      loader threads, --init-images 8), 3.7 GiB is available"
        ),
        "{err}"
    );
}

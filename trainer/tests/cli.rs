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

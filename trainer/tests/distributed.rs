//! Data-parallel training under `mpirun -np 2` (feature `distributed`; needs OpenMPI's `mpirun`,
//! installed by scripts/setup.sh), on the CPU backend and on the default GPU adapter (lavapipe
//! here): two ranks at batch B take the same step as one process at batch 2B on the same images,
//! the ranks' weights stay bit-identical, resume works across rank counts, and a rank that is
//! killed or hangs ends the job with a non-zero exit and an intact checkpoint.
#![cfg(feature = "distributed")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn dataset(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..24u32 {
        let img = image::RgbImage::from_fn(10, 10, |x, y| {
            image::Rgb([(x * 20 + i * 3) as u8, (y * 20 + x * i) as u8, (i * 9 + y * 7) as u8])
        });
        img.save(dir.join(format!("{i:02}.png"))).unwrap();
    }
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("glow-dist-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// `trainer train` on a tiny model; `extra` appended (e.g. --steps).
fn train_args(data: &Path, out: &Path, backend: &str, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "train",
        "--data",
        data.to_str().unwrap(),
        "--image-size",
        "8",
        "--levels",
        "2",
        "--depth",
        "2",
        "--width",
        "8",
        "--batch",
        "8",
        "--warmup",
        "2",
        "--eval-every",
        "0",
        "--init-images",
        "8",
        "--flip",
        "--loader-threads",
        "1",
        "--backend",
        backend,
        "--out",
        out.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn mpirun(np: usize) -> Command {
    let mut c = Command::new("mpirun");
    c.args(["--allow-run-as-root", "--oversubscribe", "-np", &np.to_string()]);
    // no cross-memory attach in containers: plain shared-memory copies
    c.args(["--mca", "btl_vader_single_copy_mechanism", "none"]);
    c.arg(env!("CARGO_BIN_EXE_trainer"));
    c
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn run_ok(mut c: Command) -> String {
    let o = c.output().expect("cannot start (is OpenMPI installed? scripts/setup.sh installs it)");
    let t = text(&o);
    assert!(o.status.success(), "{c:?} failed:\n{t}");
    t
}

fn single(args: &[String]) -> String {
    let mut c = Command::new(env!("CARGO_BIN_EXE_trainer"));
    c.args(args);
    run_ok(c)
}

fn ranks(np: usize, args: &[String]) -> String {
    let mut c = mpirun(np);
    c.args(args);
    run_ok(c)
}

/// The checkpoint's tensors (f32) by name.
fn tensors(path: &Path) -> BTreeMap<String, Vec<f32>> {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    st.tensors()
        .into_iter()
        .map(|(n, v)| (n, v.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()))
        .collect()
}

fn log_rows(dir: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(dir.join("log.csv"))
        .unwrap_or_default()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(String::from).collect())
        .collect()
}

/// One step with 2 ranks x 4 images == one process with 8 images: same images, same flips, same
/// dequantisation noise (by global image index), so the only differences are f32 rounding.
fn two_ranks_step_like_one_double_batch(backend: &str) {
    let root = tmp(&format!("equal-{backend}"));
    let data = root.join("data");
    dataset(&data);
    let (one, two) = (root.join("one"), root.join("two"));
    single(&train_args(&data, &one, backend, &["--steps", "1"]));
    let out = ranks(2, &train_args(&data, &two, backend, &["--steps", "1"]));
    assert!(out.contains("weights bit-identical on all 2 ranks"), "{out}");
    let (a, b) = (tensors(&one.join("checkpoint.safetensors")), tensors(&two.join("checkpoint.safetensors")));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    // the loss of step 1 (before the update) and the gradient norm
    let (la, lb) = (&log_rows(&one)[0], &log_rows(&two)[0]);
    let f = |s: &String| s.parse::<f64>().unwrap();
    assert!((f(&la[2]) - f(&lb[2])).abs() <= 1e-5 * f(&la[2]).abs(), "train bpd {} vs {}", la[2], lb[2]);
    assert!((f(&la[3]) - f(&lb[3])).abs() <= 1e-4 * f(&la[3]).abs(), "grad norm {} vs {}", la[3], lb[3]);
    let mut worst = (0.0f64, String::new());
    for (name, va) in &a {
        let vb = &b[name];
        if let Some(p) = name.strip_prefix("opt.m.") {
            // first moment after step 1 = (1 − β1)·gradient: the averaged gradient of 2 x 4 images
            // vs the gradient of 8. Both are f32 sums of the same per-pixel terms in another order
            // (per rank, then across ranks): rounding of at most ~1e-6 of the tensor's scale
            // (sums of ≤ 8·64 terms, 2^-24 each, plus the difference of the two f32 forward
            // passes); 1e-5 of the scale leaves room without hiding a wrong normalisation, which
            // is off by a factor.
            let scale = va.iter().fold(0f32, |m, x| m.max(x.abs())) as f64;
            for (x, y) in va.iter().zip(vb) {
                let d = (*x as f64 - *y as f64).abs() / scale.max(1e-30);
                if d > worst.0 {
                    worst = (d, format!("gradient of {p}"));
                }
            }
        } else if !name.starts_with("opt.") && !name.starts_with("ema.") {
            // parameters after the step θ − α·m/(v + ε) (Adamax, step 1: v = |g|): an element
            // whose gradient is large against ε moves by ±α whatever the rounding of g, so
            // the parameters agree to f32 rounding of θ and α; an element with |g| near ε would
            // move by α·g/(|g| + ε) and inherit the gradient's relative rounding. The bound: the
            // update computed from each run's own moments must explain the difference.
            let (ma, mb) = (&a[&format!("opt.m.{name}")], &b[&format!("opt.m.{name}")]);
            let (sa, sb) = (&a[&format!("opt.v.{name}")], &b[&format!("opt.v.{name}")]);
            for i in 0..va.len() {
                let ua = ma[i] as f64 / (sa[i] as f64 + 1e-8);
                let ub = mb[i] as f64 / (sb[i] as f64 + 1e-8);
                // α of step 1 = lr·(1/warmup)·sqrt(1 − β2)/(1 − β1) ≤ 1e-3/2·1/0.1
                let bound = 5e-3 * (ua - ub).abs() + 4.0 * f32::EPSILON as f64 * (va[i].abs() as f64 + 1e-3);
                let d = (va[i] as f64 - vb[i] as f64).abs();
                assert!(d <= bound, "parameter {name}[{i}]: {} vs {} (bound {bound:e})", va[i], vb[i]);
            }
        }
    }
    assert!(worst.0 <= 1e-5, "largest gradient difference {:e} of the tensor's scale in {}", worst.0, worst.1);
    eprintln!("{backend}: largest gradient difference {:e} of the tensor's scale ({})", worst.0, worst.1);
}

#[test]
fn two_ranks_step_like_one_double_batch_cpu() {
    two_ranks_step_like_one_double_batch("cpu");
}

#[test]
fn two_ranks_step_like_one_double_batch_gpu() {
    two_ranks_step_like_one_double_batch("gpu");
}

/// N steps on 2 ranks keep bit-identical weights (checked by the trainer at every checkpoint:
/// it fails otherwise); resume works from 2 ranks to 1 and from 1 to 2.
fn identical_weights_and_resume_across_rank_counts(backend: &str) {
    let root = tmp(&format!("resume-{backend}"));
    let data = root.join("data");
    dataset(&data);
    let out = root.join("run");
    let args = |steps: &str, resume: bool| {
        let mut e = vec!["--steps", steps, "--checkpoint-every", "2"];
        if resume {
            e.push("--resume");
        }
        train_args(&data, &out, backend, &e)
    };
    let t = ranks(2, &args("4", false));
    assert!(t.contains("step 4: weights bit-identical on all 2 ranks"), "{t}");
    let t = single(&args("5", true));
    assert!(t.contains("resuming at step 4"), "{t}");
    let t = ranks(2, &args("7", true));
    assert!(t.contains("resuming at step 5 (5 batches seen) on 2 rank(s)"), "{t}");
    assert!(t.contains("step 7: weights bit-identical on all 2 ranks"), "{t}");
    let steps: Vec<String> = log_rows(&out).iter().map(|r| r[0].clone()).collect();
    assert_eq!(steps, ["1", "2", "3", "4", "5", "6", "7"]);
    assert!(out.join("model.safetensors").exists());
}

#[test]
fn identical_weights_and_resume_across_rank_counts_cpu() {
    identical_weights_and_resume_across_rank_counts("cpu");
}

#[test]
fn identical_weights_and_resume_across_rank_counts_gpu() {
    identical_weights_and_resume_across_rank_counts("gpu");
}

/// The pid of rank `r` among the children of `mpirun`.
fn rank_pid(mpirun: u32, r: usize) -> Option<u32> {
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // "pid (comm) state ppid ..."
        let after = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
        let ppid: u32 = after.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        if ppid != mpirun {
            continue;
        }
        let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        let want = format!("OMPI_COMM_WORLD_RANK={r}");
        if env.split(|b| *b == 0).any(|v| v == want.as_bytes()) {
            return Some(pid);
        }
    }
    None
}

/// Starts a long 2-rank run, waits for its checkpoint at step 2, then sends `signal` to rank 1;
/// the job must end on its own with a non-zero exit, and the checkpoint must load and resume.
fn failing_rank_stops_the_job(signal: &str, expect: &str) {
    let root = tmp(&format!("fail-{signal}"));
    let data = root.join("data");
    dataset(&data);
    let out = root.join("run");
    let mut c = mpirun(2);
    c.args(train_args(&data, &out, "cpu", &["--steps", "100000", "--checkpoint-every", "2", "--hang-timeout", "10"]));
    let log = root.join("mpirun.log");
    let f = std::fs::File::create(&log).unwrap();
    let mut child = c.stdout(f.try_clone().unwrap()).stderr(f).stdin(Stdio::null()).spawn().unwrap();
    let ck = out.join("checkpoint.safetensors");
    let start = Instant::now();
    while !(ck.exists() && log_rows(&out).len() >= 3) {
        assert!(child.try_wait().unwrap().is_none(), "job ended early:\n{}", std::fs::read_to_string(&log).unwrap());
        assert!(start.elapsed() < Duration::from_secs(300), "no checkpoint after 300 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    let pid = rank_pid(child.id(), 1).expect("rank 1's process");
    let killed = Command::new("kill").args([signal, &pid.to_string()]).status().unwrap();
    assert!(killed.success());
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t0.elapsed() > Duration::from_secs(120) {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            let _ = child.kill();
            panic!("job still running 120 s after {signal} to rank 1");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!status.success(), "job exited 0 after rank 1 got {signal}:\n{text}");
    assert!(text.contains(expect), "no `{expect}` in:\n{text}");
    // no stray rank left behind
    let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).stderr(Stdio::null()).status();
    // the checkpoint is whole: it loads and training resumes from it
    assert!(tensors(&ck).keys().any(|k| k.starts_with("opt.m.")));
    let t = single(&train_args(&data, &out, "cpu", &["--steps", "0", "--resume"]));
    assert!(t.contains("resuming at step"), "{t}");
}

#[test]
fn killed_rank_stops_the_job_and_the_checkpoint_loads() {
    failing_rank_stops_the_job("-KILL", "rank 1");
}

#[test]
fn hanging_rank_stops_the_job_and_the_checkpoint_loads() {
    failing_rank_stops_the_job("-STOP", "a rank died or hangs");
}

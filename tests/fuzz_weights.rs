//! Fuzz test of the weights loader and the model built from what it accepts: random and directed
//! mutations of the shipped MNIST weights (`www/models/mnist.safetensors`; a quarter of the random
//! ones of the face model, `default.safetensors`, whose tensors are f16): byte flips (header
//! and anywhere), truncations, a lying header length, lying tensor headers (shape, offsets,
//! dtype), lying metadata keys and, most of all, lying config metadata (every field set to
//! hostile values: 0, 2^32, 10^12, u64::MAX, -1, 1.5, strings...). Each batch of trials runs in a
//! child process (this binary, re-executed) under a 4 GiB address-space limit (`RLIMIT_AS`) and a
//! timeout; the test fails on any panic, abort, signal, timeout or memory blow-up, naming the
//! trial and saving its file. A trial must end in `Ok` or a clean `Err`: load the file; if it
//! loads, build the model on the f32 CPU backend and (for images up to 64x64x3) encode an image
//! and sample one. About 60 s in all; `GLOWGPU_FUZZ_SECONDS` and `GLOWGPU_FUZZ_SEED` change the
//! budget and the mutations.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use glowgpu::platform::block_on;
use glowgpu::{load_weights, CpuBackend, Glow};

const CHILD: &str = "GLOWGPU_FUZZ_CHILD";
const MEMORY_CAP: u64 = 4 << 30;
const PER_CHILD: usize = 40;

fn main() {
    if let Ok(list) = std::env::var(CHILD) {
        child(Path::new(&list));
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        println!("fuzz_weights: test");
        return;
    }
    parent();
}

/// Runs each file listed in `list`, printing `start i` before and `end i <outcome>` after it.
fn child(list: &Path) {
    let files = std::fs::read_to_string(list).unwrap();
    let out = std::io::stdout();
    for (i, f) in files.lines().enumerate() {
        writeln!(out.lock(), "start {i}").unwrap();
        let outcome = trial(&std::fs::read(f).unwrap());
        writeln!(out.lock(), "end {i} {outcome}").unwrap();
    }
}

fn trial(bytes: &[u8]) -> String {
    let (cfg, params) = match load_weights(bytes) {
        Ok(v) => v,
        Err(e) => return format!("load-err {e}"),
    };
    let d = cfg.dims();
    let mut m = match Glow::from_params(cfg, params, CpuBackend::<f32>::new()) {
        Ok(m) => m,
        Err(e) => return format!("build-err {e}"),
    };
    if d > 64 * 64 * 3 {
        return "loaded (large, not run)".into();
    }
    let img: Vec<u8> = (0..d).map(|i| (i * 37 % 256) as u8).collect();
    let enc = match block_on(m.encode(&img, 1, None)) {
        Ok(_) => "ok".to_string(),
        Err(e) => format!("err {e}"),
    };
    let s = match block_on(m.sample(1, 0.7, 3, None)) {
        Ok(_) => "ok".to_string(),
        Err(e) => format!("err {e}"),
    };
    format!("loaded encode {enc}; sample {s}")
}

/// xorshift64*: deterministic mutations from a seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The file split into its header JSON and data.
fn split(bytes: &[u8]) -> (serde_json::Map<String, serde_json::Value>, &[u8]) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    (header.as_object().unwrap().clone(), &bytes[8 + n..])
}

fn join(header: &serde_json::Map<String, serde_json::Value>, data: &[u8]) -> Vec<u8> {
    let h = serde_json::to_vec(header).unwrap();
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend(h);
    out.extend(data);
    out
}

const HOSTILE: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "7",
    "12",
    "13",
    "40",
    "63",
    "64",
    "65",
    "1024",
    "1025",
    "8193",
    "100000",
    "2147483648",
    "4294967295",
    "4294967296",
    "9007199254740993",
    "1000000000000",
    "18446744073709551615",
    "18446744073709551616",
    "-1",
    "1.5",
    "1e300",
    "\"8\"",
    "null",
    "true",
    "[]",
    "{}",
];

const FIELDS: &[&str] = &[
    "image_height",
    "image_width",
    "image_channels",
    "levels",
    "depth",
    "hidden",
    "coupling",
    "permutation",
    "learn_top",
    "n_classes",
    "n_bits",
];

/// The file with config field `f` set to the raw JSON `v` (removed when `v` is empty).
fn set_config(orig: &[u8], f: &str, v: &str) -> Vec<u8> {
    let (mut header, data) = split(orig);
    let meta = header["__metadata__"].as_object_mut().unwrap();
    let mut cfg: serde_json::Value = serde_json::from_str(meta["config"].as_str().unwrap()).unwrap();
    if v.is_empty() {
        cfg.as_object_mut().unwrap().remove(f);
    } else {
        cfg[f] = serde_json::from_str(v).unwrap_or(serde_json::Value::String(v.into()));
    }
    meta.insert("config".into(), serde_json::Value::String(cfg.to_string()));
    join(&header, data)
}

/// The directed trials: every config field set to every hostile value, or removed.
fn directed(orig: &[u8]) -> Vec<(Vec<u8>, String)> {
    let mut out = Vec::new();
    for f in FIELDS {
        for v in HOSTILE.iter().chain(&[""]) {
            out.push((set_config(orig, f, v), format!("config {f}={v}")));
        }
    }
    out
}

/// One mutated file and a description of the mutation.
fn mutate(orig: &[u8], rng: &mut Rng) -> (Vec<u8>, String) {
    let (mut header, data) = split(orig);
    let hlen = orig.len() - data.len();
    match rng.below(10) {
        // the config: one to three fields set to hostile values, or removed
        0..=3 => {
            let meta = header["__metadata__"].as_object_mut().unwrap();
            let mut cfg: serde_json::Value = serde_json::from_str(meta["config"].as_str().unwrap()).unwrap();
            let mut what = Vec::new();
            for _ in 0..1 + rng.below(3) {
                let f = FIELDS[rng.below(FIELDS.len())];
                if rng.below(12) == 0 {
                    cfg.as_object_mut().unwrap().remove(f);
                    what.push(format!("-{f}"));
                } else {
                    let v = HOSTILE[rng.below(HOSTILE.len())];
                    cfg[f] = serde_json::from_str(v).unwrap_or(serde_json::Value::String(v.into()));
                    what.push(format!("{f}={v}"));
                }
            }
            let text = cfg.to_string();
            meta.insert("config".into(), serde_json::Value::String(text));
            (join(&header, data), format!("config {}", what.join(" ")))
        }
        // other metadata keys
        4 => {
            let meta = header["__metadata__"].as_object_mut().unwrap();
            let key = ["format", "config_version", "actnorm_initialized", "config"][rng.below(4)];
            let v = ["", "2", "0", "true", "glowgpu-checkpoint", "{", "{\"levels\":64}"][rng.below(7)];
            meta.insert(key.into(), serde_json::Value::String(v.into()));
            (join(&header, data), format!("metadata {key}={v:?}"))
        }
        // a tensor header lies: shape, offsets or dtype
        5 => {
            let names: Vec<String> = header.keys().filter(|k| *k != "__metadata__").cloned().collect();
            let name = &names[rng.below(names.len())];
            let t = header[name].as_object_mut().unwrap();
            let big = [0u64, 1, 3, 1 << 31, 1 << 32, u64::MAX / 2, u64::MAX][rng.below(7)];
            let what = match rng.below(3) {
                0 => {
                    t.insert("shape".into(), serde_json::json!([big, 3]));
                    "shape"
                }
                1 => {
                    t.insert("data_offsets".into(), serde_json::json!([big, big.wrapping_add(4)]));
                    "offsets"
                }
                _ => {
                    t.insert("dtype".into(), serde_json::json!(["F64", "I64", "BF16", "U8", "F16"][rng.below(5)]));
                    "dtype"
                }
            };
            (join(&header, data), format!("tensor {name} {what} {big}"))
        }
        // byte flips in the header, or anywhere
        6 | 7 => {
            let mut b = orig.to_vec();
            let span = if rng.below(2) == 0 { hlen } else { b.len() };
            let k = 1 + rng.below(4);
            for _ in 0..k {
                let i = rng.below(span);
                b[i] ^= 1 << rng.below(8);
            }
            (b, format!("{k} bit flips in the first {span} bytes"))
        }
        // truncation
        8 => {
            let n = if rng.below(2) == 0 { rng.below(hlen + 16) } else { rng.below(orig.len()) };
            (orig[..n].to_vec(), format!("truncated to {n} bytes"))
        }
        // the header length lies
        _ => {
            let mut b = orig.to_vec();
            let n = [0u64, 1, hlen as u64, hlen as u64 - 9, u64::MAX, 1 << 40, orig.len() as u64][rng.below(7)];
            b[..8].copy_from_slice(&n.to_le_bytes());
            (b, format!("header length {n}"))
        }
    }
}

fn parent() {
    #[cfg(not(target_os = "linux"))]
    {
        println!("fuzz_weights: skipped (needs Linux for the child's memory limit)");
    }
    #[cfg(target_os = "linux")]
    run_fuzz();
}

#[cfg(target_os = "linux")]
fn run_fuzz() {
    use std::os::unix::process::CommandExt;

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let orig = std::fs::read(root.join("www/models/mnist.safetensors")).unwrap();
    let face = std::fs::read(root.join("www/models/default.safetensors")).unwrap();
    let seconds: u64 = std::env::var("GLOWGPU_FUZZ_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(55);
    let seed: u64 = std::env::var("GLOWGPU_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(12);
    let dir = std::env::temp_dir().join(format!("glowgpu-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let start = Instant::now();
    let (mut trials, mut loaded, mut ran) = (0usize, 0usize, 0usize);
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    let mut batch_no = 0;
    let mut directed = directed(&orig).into_iter();
    let n_directed = directed.len();
    while start.elapsed() < Duration::from_secs(seconds) || directed.len() > 0 {
        let mut files: Vec<(PathBuf, String)> = Vec::new();
        for k in 0..PER_CHILD {
            // after the directed trials, every fourth batch mutates the face model (f16 tensors)
            let (bytes, what) = directed.next().unwrap_or_else(|| {
                if batch_no % 4 == 3 {
                    let (b, w) = mutate(&face, &mut rng);
                    (b, format!("face model: {w}"))
                } else {
                    mutate(&orig, &mut rng)
                }
            });
            let p = dir.join(format!("b{batch_no}_{k}.safetensors"));
            std::fs::write(&p, bytes).unwrap();
            files.push((p, what));
        }
        let list = dir.join(format!("b{batch_no}.txt"));
        let text: Vec<String> = files.iter().map(|f| f.0.display().to_string()).collect();
        std::fs::write(&list, text.join("\n")).unwrap();
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.env(CHILD, &list).env("RAYON_NUM_THREADS", "2").stdout(Stdio::piped()).stderr(Stdio::piped());
        // SAFETY: setrlimit is async-signal-safe; it only lowers this child's own limit.
        unsafe {
            cmd.pre_exec(|| {
                let r = libc::rlimit { rlim_cur: MEMORY_CAP, rlim_max: MEMORY_CAP };
                if libc::setrlimit(libc::RLIMIT_AS, &r) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap();
        let (status, stdout, stderr) = wait_with_timeout(child, Duration::from_secs(60));
        let mut done = vec![None; files.len()];
        let mut last_started = None;
        for line in stdout.lines() {
            if let Some(i) = line.strip_prefix("start ") {
                last_started = i.parse::<usize>().ok();
            } else if let Some(rest) = line.strip_prefix("end ") {
                let (i, outcome) = rest.split_once(' ').unwrap();
                done[i.parse::<usize>().unwrap()] = Some(outcome.to_string());
            }
        }
        let failed = status.map(|s| !s.success()).unwrap_or(true) || done.iter().any(|d| d.is_none());
        if failed {
            let i = last_started.unwrap_or(0);
            let keep = std::env::temp_dir().join("glowgpu-fuzz-failure.safetensors");
            std::fs::copy(&files[i].0, &keep).unwrap();
            panic!(
                "fuzz trial {} ({}) ended the child: status {:?} (None = timed out after 60 s)\nstderr:\n{}\n\
                 the file is saved as {}",
                trials + i,
                files[i].1,
                status,
                stderr.chars().rev().take(3000).collect::<String>().chars().rev().collect::<String>(),
                keep.display()
            );
        }
        for d in done.into_iter().flatten() {
            trials += 1;
            if d.starts_with("loaded") {
                loaded += 1;
                ran += d.contains("encode") as usize;
            }
            let kind: String = d.split(':').next().unwrap_or("").chars().take(60).collect();
            *kinds.entry(kind).or_default() += 1;
        }
        for f in &files {
            let _ = std::fs::remove_file(&f.0);
        }
        let _ = std::fs::remove_file(&list);
        batch_no += 1;
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "fuzz_weights: {trials} trials ({n_directed} directed) in {:.0} s (seed {seed}): {loaded} loaded, {ran} \
         encoded and sampled; no panic, abort, timeout or memory blow-up",
        start.elapsed().as_secs_f64()
    );
    for (k, n) in kinds.iter().rev().take(40) {
        println!("  {n:5}  {k}");
    }
    assert!(trials >= 200, "only {trials} trials ran in {seconds} s");
    assert!(ran > 0, "no mutated file loaded and ran: the mutations are too coarse to test the model");
}

/// Waits for `child` at most `limit` (then kills it: `None`), returning its output.
#[cfg(target_os = "linux")]
fn wait_with_timeout(
    mut child: std::process::Child,
    limit: Duration,
) -> (Option<std::process::ExitStatus>, String, String) {
    use std::io::Read;
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let so = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let se = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status, so.join().unwrap(), se.join().unwrap())
}

"""glowgpu's CPU backend against PyTorch eager (and onnxruntime for sampling), interleaved.

  benches/torch/setup.sh                       # once: the venv with torch, onnxruntime
  cargo build --release --example cpu_bench
  benches/torch/.venv/bin/python benches/torch/compare.py --threads 2 --rounds 5

Each round runs every contender once as a fresh process (warm-up step, then `--reps` timed steps,
median), alternating the order (A B C, C B A, ...), so drift in the machine's load hits all of
them alike; the table gives the median over rounds and the ratio glowgpu / other. Both sides get
the same thread count (`RAYON_NUM_THREADS`, `torch.set_num_threads`, onnxruntime's
`intra_op_num_threads`). Measure on an idle machine: PyTorch's OpenMP collapses when another
process holds a core.
"""
import argparse
import os
import platform
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def run(cmd, env):
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr}")
    line = [l for l in out.stdout.splitlines() if l.startswith("result ")][-1]
    return float(line.split()[3])


def contenders(config, what, batch, reps, threads, mode):
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    py = [sys.executable, os.path.join(HERE, "glow_torch.py"), "--config", config, "--batch", str(batch)]
    py += ["--reps", str(reps), "--threads", str(threads)]
    bench = os.path.join(ROOT, "target", "release", "examples", "cpu_bench")
    g = [bench, "--config", config, "--what", what, "--batch", str(batch), "--reps", str(reps)]
    if mode and what == "train":
        g += ["--mode", mode]
    out = [("glowgpu", g, env), ("pytorch", py + ["--what", what], env)]
    if what == "sample":
        out.append(("onnxruntime", py + ["--what", "ort"], env))
    return out


def median(v):
    v = sorted(v)
    return v[len(v) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--configs", default="face,w512")
    ap.add_argument("--cases", default="train:16,sample:1,sample:16")
    ap.add_argument("--mode", default=None, help="glowgpu training mode (reversible | nets | stored)")
    a = ap.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus; threads {a.threads}; "
          f"load average before: {os.getloadavg()[0]:.2f}")
    rows = []
    for config in a.configs.split(","):
        for case in a.cases.split(","):
            what, batch = case.split(":")
            cs = contenders(config, what, int(batch), a.reps, a.threads, a.mode)
            times = {name: [] for name, _, _ in cs}
            for r in range(a.rounds):
                order = cs if r % 2 == 0 else cs[::-1]
                for name, cmd, env in order:
                    times[name].append(run(cmd, env))
            med = {k: median(v) for k, v in times.items()}
            rows.append((config, what, batch, med, times))
            line = ", ".join(f"{k} {v:.1f} ms" for k, v in med.items())
            print(f"{config} {what} b{batch}: {line}", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print()
    print("| config | case | glowgpu ms | PyTorch ms | glowgpu / PyTorch | onnxruntime ms | glowgpu / onnxruntime |")
    print("|---|---|---|---|---|---|---|")
    for config, what, batch, med, _ in rows:
        g, t = med["glowgpu"], med["pytorch"]
        o = med.get("onnxruntime")
        ort = f"{o:.1f} | {g / o:.2f}" if o else "– | –"
        print(f"| {config} | {what} b{batch} | {g:.1f} | {t:.1f} | {g / t:.2f} | {ort} |")


if __name__ == "__main__":
    main()

"""Glow in PyTorch with the official openai/glow semantics, for the side-by-side CPU benchmark.

The same model as glowgpu's (`examples/cpu_bench.rs`): NCHW here, NHWC there; the arithmetic is
the official code's:
- preprocessing `x = floor(x / 2^(8 - n_bits)) / n_bins - 0.5 + U(0, 1/n_bins)`;
- squeeze 2x2 as `squeeze2d`; per level K steps of actnorm (logscale factor 3, data-dependent
  init) -> invertible 1x1 conv (random rotation init) -> affine coupling
  (`z2 = (z2 + shift) * sigmoid(h + 2)`, shift / scale interleaved in the net's output);
- coupling net conv3x3 (edge-bias padding) -> actnorm -> ReLU -> conv1x1 -> actnorm -> ReLU ->
  zero conv3x3 (edge bias, `(conv + b) * exp(3 logs)`);
- split prior from a zero conv over z1 (mean / logs interleaved), learned top prior (zero conv over
  zeros with edge bias), temperature on every level when sampling;
- objective `-log(n_bins) D + sum logdet + sum log p`, loss in bits/dim; Adamax (beta1 0.9,
  beta2 0.999, linear warmup), global-norm clipping and a Polyak (EMA) copy updated every step, as the trainer.

  python glow_torch.py --config face --what train --reps 5 --threads 2
  python glow_torch.py --config w512 --what sample --batch 1
  python glow_torch.py --config face --what onnx --batch 16 --out face_b16.onnx
  python glow_torch.py --config face --what ort --batch 16          # onnxruntime CPU sampling

Prints `result <what> <batch> <median ms> <min ms>` like `cpu_bench`.
"""
import argparse
import math
import time

import numpy as np
import torch
import torch.nn.functional as F

CONFIGS = {"face": (64, 4, 128), "w512": (32, 3, 512), "w128": (32, 3, 128)}
LOGSCALE = 3.0


def squeeze2d(x):
    b, c, h, w = x.shape
    # official squeeze2d on NHWC: [b, h/2, 2, w/2, 2, c] -> [b, h/2, w/2, c, 2, 2]
    x = x.reshape(b, c, h // 2, 2, w // 2, 2)
    x = x.permute(0, 1, 3, 5, 2, 4)
    return x.reshape(b, c * 4, h // 2, w // 2)


def unsqueeze2d(x):
    b, c, h, w = x.shape
    x = x.reshape(b, c // 4, 2, 2, h, w)
    x = x.permute(0, 1, 4, 2, 5, 3)
    return x.reshape(b, c // 4, h * 2, w * 2)


class ActNorm(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.b = torch.nn.Parameter(torch.zeros(1, c, 1, 1))
        self.logs = torch.nn.Parameter(torch.zeros(1, c, 1, 1))
        self.init = False

    def forward(self, x):
        if not self.init:
            with torch.no_grad():
                m = x.mean(dim=(0, 2, 3), keepdim=True)
                v = ((x - m) ** 2).mean(dim=(0, 2, 3), keepdim=True)
                self.b.copy_(-m)
                self.logs.copy_(torch.log(1.0 / (v.sqrt() + 1e-6)) / LOGSCALE)
            self.init = True
        return (x + self.b) * torch.exp(self.logs * LOGSCALE)

    def reverse(self, y):
        return y * torch.exp(-self.logs * LOGSCALE) - self.b

    def logdet(self, hw):
        return hw * LOGSCALE * self.logs.sum()


def edge_pad(x, edge):
    """Official `add_edge_padding`: zero padding plus a channel that is 1 on padded pixels."""
    x = F.pad(x, (1, 1, 1, 1))
    return torch.cat([x, edge.expand(x.shape[0], -1, -1, -1)], dim=1)


def edge_conv(x, w, edge):
    """`conv2d(edge_pad(x), w)` without materialising the padded, concatenated input: the image
    channels as a zero-padded conv, plus the edge channel's contribution, which is the same for
    every image (a [1, cout, h, w] map broadcast over the batch). Identical arithmetic, and the
    faster form in PyTorch (the concat copies the whole activation)."""
    return F.conv2d(x, w[:, :-1], padding=1) + F.conv2d(edge, w[:, -1:])


def edge_map(h, w):
    e = torch.ones(1, 1, h + 2, w + 2)
    e[:, :, 1:-1, 1:-1] = 0
    return e


class ZeroConv(torch.nn.Module):
    """`conv2d_zeros`: 3x3 edge-bias conv + bias, times exp(3 logs); zero init."""

    def __init__(self, cin, cout, k=3):
        super().__init__()
        self.k = k
        rows = cin + 1 if k == 3 else cin
        self.w = torch.nn.Parameter(torch.zeros(cout, rows, k, k))
        self.b = torch.nn.Parameter(torch.zeros(1, cout, 1, 1))
        self.logs = torch.nn.Parameter(torch.zeros(1, cout, 1, 1))

    def forward(self, x, edge):
        if self.k == 3 and x.shape[1] > 0:
            y = edge_conv(x, self.w, edge)
        elif self.k == 3:
            y = F.conv2d(edge_pad(x, edge), self.w)  # the top prior: a conv over zeros
        else:
            y = F.conv2d(x, self.w)
        return (y + self.b) * torch.exp(self.logs * LOGSCALE)


class Net(torch.nn.Module):
    def __init__(self, cin, hid, cout):
        super().__init__()
        self.w1 = torch.nn.Parameter(torch.randn(hid, cin + 1, 3, 3) * 0.05)
        self.an1 = ActNorm(hid)
        self.w2 = torch.nn.Parameter(torch.randn(hid, hid, 1, 1) * 0.05)
        self.an2 = ActNorm(hid)
        self.zc = ZeroConv(hid, cout)

    def forward(self, x, edge):
        h = F.relu(self.an1(edge_conv(x, self.w1, edge)))
        h = F.relu(self.an2(F.conv2d(h, self.w2)))
        return self.zc(h, edge)


class Step(torch.nn.Module):
    def __init__(self, c, hid):
        super().__init__()
        self.an = ActNorm(c)
        q, _ = torch.linalg.qr(torch.randn(c, c, dtype=torch.float64))
        self.w = torch.nn.Parameter(q.float().reshape(c, c, 1, 1))
        self.c1 = c // 2
        self.net = Net(self.c1, hid, 2 * (c - self.c1))

    def forward(self, x, edge):
        hw = x.shape[2] * x.shape[3]
        x = self.an(x)
        ld = self.an.logdet(hw)
        x = F.conv2d(x, self.w)
        ld = ld + hw * torch.linalg.slogdet(self.w[:, :, 0, 0].double())[1].float()
        z1, z2 = x[:, : self.c1], x[:, self.c1 :]
        h = self.net(z1, edge)
        shift, a = h[:, 0::2], h[:, 1::2] + 2.0
        scale = torch.sigmoid(a)
        z2 = (z2 + shift) * scale
        ldi = F.logsigmoid(a).flatten(1).sum(1)
        return torch.cat([z1, z2], 1), ld + ldi

    def reverse(self, x, edge, w_inv):
        z1, z2 = x[:, : self.c1], x[:, self.c1 :]
        h = self.net(z1, edge)
        shift, a = h[:, 0::2], h[:, 1::2] + 2.0
        z2 = z2 / torch.sigmoid(a) - shift
        x = F.conv2d(torch.cat([z1, z2], 1), w_inv)
        return self.an.reverse(x)


def gauss_logp(x, mean, logs):
    return (-0.5 * (math.log(2 * math.pi) + 2.0 * logs + (x - mean) ** 2 * torch.exp(-2.0 * logs))).flatten(1).sum(1)


class Glow(torch.nn.Module):
    def __init__(self, size, levels, depth, hid, n_bits=5):
        super().__init__()
        self.n_bits, self.n_bins = n_bits, 2**n_bits
        self.dims = size * size * 3
        self.levels = torch.nn.ModuleList()
        self.priors = torch.nn.ModuleList()
        self.edges = []
        c, s = 3, size
        for l in range(levels):
            c, s = c * 4, s // 2
            self.levels.append(torch.nn.ModuleList([Step(c, hid) for _ in range(depth)]))
            self.edges.append(edge_map(s, s))
            if l + 1 < levels:
                self.priors.append(ZeroConv(c // 2, 2 * (c - c // 2)))
                c = c // 2
        self.top = ZeroConv(0, 2 * c)
        self.top_shape = (c, s)

    def preprocess(self, img):
        x = torch.floor(img / 2 ** (8 - self.n_bits)) / self.n_bins - 0.5
        return x + torch.rand_like(x) / self.n_bins

    def forward(self, img):
        """Loss in bits/dim (mean over the batch) of u8 images [n, 3, H, W] given as floats."""
        x = self.preprocess(img)
        n = x.shape[0]
        obj = torch.full((n,), -math.log(self.n_bins) * self.dims)
        for l, steps in enumerate(self.levels):
            x = squeeze2d(x)
            for st in steps:
                x, ld = st(x, self.edges[l])
                obj = obj + ld
            if l + 1 < len(self.levels):
                c1 = x.shape[1] // 2
                z1, z2 = x[:, :c1], x[:, c1:]
                h = self.priors[l](z1, self.edges[l])
                obj = obj + gauss_logp(z2, h[:, 0::2], h[:, 1::2])
                x = z1
        c, s = self.top_shape
        h = self.top(torch.zeros(1, 0, s, s), self.edges[-1])
        obj = obj + gauss_logp(x, h[:, :c], h[:, c:])
        return (-obj / (math.log(2.0) * self.dims)).mean()

    @torch.no_grad()
    def inverses(self):
        """The inverse 1x1 conv weights of every step (glowgpu derives them once per update)."""
        return [
            [torch.linalg.inv(st.w[:, :, 0, 0].double()).float().reshape(st.w.shape) for st in steps]
            for steps in self.levels
        ]

    @torch.no_grad()
    def sample(self, eps, temperature=0.7, w_inv=None):
        """Decode latents `eps` (one N(0,1) tensor per level, split levels first) at temperature T."""
        w_inv = w_inv or self.inverses()
        c, s = self.top_shape
        h = self.top(torch.zeros(1, 0, s, s), self.edges[-1])
        x = h[:, :c] + torch.exp(h[:, c:]) * eps[-1] * temperature
        for l in reversed(range(len(self.levels))):
            if l + 1 < len(self.levels):
                h = self.priors[l](x, self.edges[l])
                z2 = h[:, 0::2] + torch.exp(h[:, 1::2]) * eps[l] * temperature
                x = torch.cat([x, z2], 1)
            for k in reversed(range(len(self.levels[l]))):
                x = self.levels[l][k].reverse(x, self.edges[l], w_inv[l][k])
            x = unsqueeze2d(x)
        return torch.clamp(torch.floor((x + 0.5) * self.n_bins), 0, self.n_bins - 1) * 2 ** (8 - self.n_bits)

    def eps_shapes(self, n):
        shapes, c, s = [], 3, self.dims
        s = int(math.isqrt(self.dims // 3))
        for l in range(len(self.levels)):
            c, s = c * 4, s // 2
            if l + 1 < len(self.levels):
                shapes.append((n, c - c // 2, s, s))
                c = c // 2
        shapes.append((n, c, s, s))
        return shapes


class Sampler(torch.nn.Module):
    """The decode graph with its latents as inputs (for the ONNX export)."""

    def __init__(self, glow):
        super().__init__()
        self.glow = glow
        self.w_inv = glow.inverses()

    def forward(self, *eps):
        return self.glow.sample(list(eps), w_inv=self.w_inv)


def build(config, n_init=16, seed=0):
    torch.manual_seed(seed)
    size, levels, hid = CONFIGS[config]
    m = Glow(size, levels, 8, hid)
    img = torch.randint(0, 256, (n_init, 3, size, size)).float()
    with torch.no_grad():
        m(img)  # data-dependent actnorm init
    return m, size


def median(v):
    return sorted(v)[len(v) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="face", choices=list(CONFIGS))
    ap.add_argument("--what", default="train", choices=["train", "sample", "onnx", "ort"])
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    m, size = build(a.config)
    n = a.batch
    times = []
    if a.what == "train":
        params = list(m.parameters())
        opt = torch.optim.Adamax(params, lr=1e-3, betas=(0.9, 0.999))
        # linear warmup over 10 steps, as cpu_bench's OptConfig::official(1e-3, 1000, 1.0, 10)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: min(1.0, (t + 1) / 10))
        ema = [p.detach().clone() for p in params]
        img = torch.randint(0, 256, (n, 3, size, size)).float()
        for i in range(a.reps + 1):
            t = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            loss = m(img)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            with torch.no_grad():
                torch._foreach_lerp_(ema, [p.detach() for p in params], 1.0 - 0.999)
            assert math.isfinite(loss.item())
            if i > 0:
                times.append((time.perf_counter() - t) * 1e3)
    elif a.what == "sample":
        w_inv = m.inverses()
        for i in range(a.reps + 1):
            g = torch.Generator().manual_seed(i)
            t = time.perf_counter()
            eps = [torch.randn(s, generator=g) for s in m.eps_shapes(n)]
            img = m.sample(eps, w_inv=w_inv)
            assert img.shape == (n, 3, size, size)
            if i > 0:
                times.append((time.perf_counter() - t) * 1e3)
    elif a.what in ("onnx", "ort"):
        out = a.out or f"/tmp/glow_{a.config}_b{n}.onnx"
        eps = tuple(torch.randn(s) for s in m.eps_shapes(n))
        torch.onnx.export(Sampler(m), eps, out, input_names=[f"eps{i}" for i in range(len(eps))], dynamo=False)
        if a.what == "ort":
            import onnxruntime as ort

            so = ort.SessionOptions()
            so.intra_op_num_threads = a.threads
            so.inter_op_num_threads = 1
            sess = ort.InferenceSession(out, so, providers=["CPUExecutionProvider"])
            rng = np.random.default_rng(0)
            for i in range(a.reps + 1):
                t = time.perf_counter()
                feed = {f"eps{j}": rng.standard_normal(s, dtype=np.float32) for j, s in enumerate(m.eps_shapes(n))}
                sess.run(None, feed)
                if i > 0:
                    times.append((time.perf_counter() - t) * 1e3)
        else:
            print("wrote", out)
            return
    print("times ms:", [round(t, 1) for t in times])
    print(f"result {a.what} {n} {median(times):.2f} {min(times):.2f}")


if __name__ == "__main__":
    main()

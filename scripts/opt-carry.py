#!/usr/bin/env python3
"""Carries Adamax's state across sessions beside shipped weights, so that a session can resume
the last one's optimizer instead of warm-starting a fresh one (run folders do not outlive a
session; a warm start restarts the bias correction at step 1 and the infinity-norm accumulator at
zero, and spent its first ~2,000 steps without gain in sessions 11, 12 and 14).

  scripts/opt-carry.py save <checkpoint.safetensors> <weights.safetensors> <carry.safetensors>
      <weights> must be the checkpoint's EMA weights as f16 (what scripts/ship-model.sh ships);
      <carry> gets opt.v.* (Adamax's infinity norm) as bf16, the step t, the batches seen, the run
      seed and the config, tied to <weights> by its SHA-256. 2 bytes per parameter.
  scripts/opt-carry.py load <weights.safetensors> <carry.safetensors> <run-folder>
      writes <run-folder>/checkpoint.safetensors for `trainer train --resume --out <run-folder>`:
      raw weights and EMA = <weights> (session 14's branch B: this costs nothing), opt.v from the
      carry, opt.m = 0 (beta1 = 0.9: ten steps rebuild it), the step, batches and seed restored.
      Refuses a carry made for other weights and a folder that already holds a checkpoint.
Standard library only."""
import array
import hashlib
import json
import os
import struct
import sys


def die(msg):
    sys.exit(f'opt-carry: {msg}')


def read(path):
    try:
        with open(path, 'rb') as f:
            raw = f.read()
    except OSError as e:
        die(f'cannot read {path}: {e.strerror}')
    if len(raw) < 8:
        die(f'{path}: not a safetensors file')
    n = struct.unpack('<Q', raw[:8])[0]
    if n > len(raw) - 8:
        die(f'{path}: header length {n} past the end of the file')
    try:
        h = json.loads(raw[8:8 + n])
    except ValueError:
        die(f'{path}: corrupt safetensors header')
    body = raw[8 + n:]
    for k, v in h.items():
        if k == '__metadata__':
            continue
        a, b = v['data_offsets']
        if not 0 <= a <= b <= len(body):
            die(f'{path}: tensor {k} lies outside the file')
    return h, body, raw


def read_as(path, fmt, what):
    """read() of a file whose metadata names `fmt`, else a clear refusal naming `what` it is not."""
    h, body, raw = read(path)
    meta = h.get('__metadata__', {})
    if meta.get('format') != fmt:
        die(f'{path}: not {what}')
    return h, body, raw, meta


def tensor(h, body, k):
    a, b = h[k]['data_offsets']
    return body[a:b]


def write(path, tensors, meta):
    """tensors: [(name, dtype, shape, bytes)]; written atomically."""
    header, off = {'__metadata__': meta}, 0
    for name, dt, shape, b in tensors:
        header[name] = {'dtype': dt, 'shape': shape, 'data_offsets': [off, off + len(b)]}
        off += len(b)
    hb = json.dumps(header, separators=(',', ':')).encode()
    hb += b' ' * (-len(hb) % 8)
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(hb)))
        f.write(hb)
        for t in tensors:
            f.write(t[3])
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def to_bf16(f32_bytes):
    u = array.array('I')
    u.frombytes(f32_bytes)
    out = array.array('H', ((x + 0x7FFF + ((x >> 16) & 1)) >> 16 for x in u))
    return out.tobytes()


def from_bf16(bf16_bytes):
    u = array.array('H')
    u.frombytes(bf16_bytes)
    return array.array('I', (x << 16 for x in u)).tobytes()


def f16_to_f32(b):
    n = len(b) // 2
    return struct.pack(f'<{n}f', *struct.unpack(f'<{n}e', b))


def save(ck_path, w_path, out_path):
    h, body, _, meta = read_as(ck_path, 'glowgpu-checkpoint', 'a glowgpu training checkpoint')
    wh, wbody, wraw = read(w_path)
    params = sorted(k for k in h if k != '__metadata__' and not k.startswith(('ema.', 'opt.')))
    wnames = sorted(k for k in wh if k != '__metadata__')
    if params != wnames:
        die(f'{w_path} does not hold the checkpoint\'s tensors ({len(wnames)} against {len(params)})')
    if json.loads(wh.get('__metadata__', {}).get('config', 'null')) != json.loads(meta['config']):
        die(f'{w_path}: its config differs from the checkpoint\'s')
    out = []
    for k in params:
        e = 'ema.' + k
        if h[k]['dtype'] != 'F32' or e not in h or 'opt.v.' + k not in h:
            die(f'{ck_path}: {k} is not an f32 parameter with an EMA and an Adamax state')
        if wh[k]['dtype'] != 'F16' or wh[k]['shape'] != h[k]['shape']:
            die(f'{w_path}: {k} is not an f16 tensor of shape {h[k]["shape"]}')
        ema = tensor(h, body, e)
        n = len(ema) // 4
        if struct.pack(f'<{n}e', *struct.unpack(f'<{n}f', ema)) != tensor(wh, wbody, k):
            die(f'{w_path}: {k} is not the checkpoint\'s EMA rounded to f16 (weights of another run or step?)')
        out.append(('opt.v.' + k, 'BF16', h[k]['shape'], to_bf16(tensor(h, body, 'opt.v.' + k))))
    m = {
        'format': 'glowgpu-opt-carry',
        'weights_sha256': hashlib.sha256(wraw).hexdigest(),
        **{k: meta[k] for k in ('config', 'config_version', 't', 'batches', 'seed')},
    }
    write(out_path, out, m)
    print(f'{len(out)} Adamax accumulators (bf16) at step {meta["t"]} for {w_path} -> {out_path}')


def load(w_path, carry_path, run):
    ch, cbody, _, meta = read_as(carry_path, 'glowgpu-opt-carry', 'an optimizer carry (scripts/opt-carry.py save writes one)')
    wh, wbody, wraw = read(w_path)
    if hashlib.sha256(wraw).hexdigest() != meta.get('weights_sha256'):
        die(f'{carry_path} was saved for other weights than {w_path}')
    ck_path = os.path.join(run, 'checkpoint.safetensors')
    if os.path.exists(ck_path):
        die(f'{ck_path} exists: refusing to overwrite a run\'s checkpoint')
    out = []
    for k in sorted(k for k in wh if k != '__metadata__'):
        v = 'opt.v.' + k
        if v not in ch or ch[v]['shape'] != wh[k]['shape'] or ch[v]['dtype'] != 'BF16':
            die(f'{carry_path}: no bf16 accumulator for {k} of shape {wh[k]["shape"]}')
        w = f16_to_f32(tensor(wh, wbody, k))
        shape = wh[k]['shape']
        out += [(k, 'F32', shape, w), ('ema.' + k, 'F32', shape, w),
                ('opt.m.' + k, 'F32', shape, bytes(len(w))),
                (v, 'F32', shape, from_bf16(tensor(ch, cbody, v)))]
    m = {'format': 'glowgpu-checkpoint', 'actnorm_initialized': 'true',
         **{k: meta[k] for k in ('config', 'config_version', 't', 'batches', 'seed')}}
    os.makedirs(run, exist_ok=True)
    write(ck_path, out, m)
    print(f'{ck_path}: step {meta["t"]}, raw weights and EMA from {w_path}, Adamax accumulators from '
          f'{carry_path}; train on with `trainer train --resume --out {run}`')


if len(sys.argv) == 5 and sys.argv[1] == 'save':
    save(*sys.argv[2:])
elif len(sys.argv) == 5 and sys.argv[1] == 'load':
    load(*sys.argv[2:])
else:
    die(__doc__)

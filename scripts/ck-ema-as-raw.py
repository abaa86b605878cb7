#!/usr/bin/env python3
"""A training checkpoint whose raw weights (and EMA) are its EMA weights rounded to f16 -- what a
warm start from the shipped f16 weights starts from -- with the optimizer's state (opt.m, opt.v
and the step t in the metadata) kept, so that `trainer train --resume` on it separates what a
warm start loses by starting the raw weights at the EMA from what it loses by a fresh Adamax.
  scripts/ck-ema-as-raw.py <checkpoint.safetensors> <out.safetensors>
(session 14's branch B, www/models/README.md). Standard library only."""
import array
import json
import struct
import sys

src, dst = sys.argv[1], sys.argv[2]
with open(src, 'rb') as f:
    n = struct.unpack('<Q', f.read(8))[0]
    hb = f.read(n)
    data = bytearray(f.read())
h = json.loads(hb)
if h.get('__metadata__', {}).get('format') != 'glowgpu-checkpoint':
    sys.exit(f'{src}: not a glowgpu training checkpoint')


def get(k):
    a, b = h[k]['data_offsets']
    x = array.array('f')
    x.frombytes(bytes(data[a:b]))
    return x


def put(k, x):
    a, b = h[k]['data_offsets']
    data[a:b] = x.tobytes()


params = [k for k in h if k != '__metadata__' and not k.startswith(('ema.', 'opt.'))]
for k in params:
    if h[k]['dtype'] != 'F32' or 'ema.' + k not in h:
        sys.exit(f'{src}: {k} is not an f32 parameter with an EMA')
    e = get('ema.' + k)
    e = array.array('f', struct.unpack(f'<{len(e)}e', struct.pack(f'<{len(e)}e', *e)))
    put(k, e)
    put('ema.' + k, e)
with open(dst, 'wb') as out:
    out.write(struct.pack('<Q', n))
    out.write(hb)
    out.write(data)
print(f'{len(params)} parameters set to their f16-rounded EMA; optimizer state and step kept -> {dst}')

// The page's CPU path in its two wasm builds, each in its own worker, interleaved: the plain
// build (one thread) and the threaded build (www/pkg-threads/) with pools of 1 and 2 threads.
// Query: model, batches, rounds. ms per sample call, timed inside the worker (median).
const q = new URLSearchParams(location.search);
const model = q.get('model') || 'www/models/default.safetensors';
const batches = (q.get('batches') || '1,16').split(',').map(Number);
const rounds = Number(q.get('rounds') || 5);
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

function worker() {
  const w = new Worker(new URL('./threads-worker.mjs', import.meta.url), { type: 'module' });
  let next = 1;
  const pending = new Map();
  w.onmessage = ({ data }) => {
    const p = pending.get(data.id);
    pending.delete(data.id);
    if ('error' in data) p.reject(new Error(data.error));
    else p.resolve(data.value);
  };
  return (method, ...args) => new Promise((resolve, reject) => {
    const id = next++;
    pending.set(id, { resolve, reject });
    w.postMessage({ id, method, args });
  });
}

async function main() {
  const bytes = new Uint8Array(await (await fetch(`../../${model}`)).arrayBuffer());
  const variants = { 'plain build': ['pkg', 1], 'threaded build, 1 thread': ['pkg-threads', 1], 'threaded build, 2 threads': ['pkg-threads', 2] };
  const calls = {};
  for (const [k, [pkg, t]] of Object.entries(variants)) {
    calls[k] = worker();
    const got = await calls[k]('load', pkg, t, bytes);
    if (got !== t) throw new Error(`${k}: ${got} threads`);
  }
  const names = Object.keys(calls);
  const results = [];
  for (const n of batches) {
    const sums = {};
    for (const k of names) sums[k] = (await calls[k]('sample', n, 0.7, 1)).sum; // warm-up, and the images
    const times = Object.fromEntries(names.map((k) => [k, []]));
    for (let r = 0; r < rounds; r++) {
      for (const k of r % 2 ? [...names].reverse() : names) times[k].push((await calls[k]('sample', n, 0.7, 10 + r)).ms);
    }
    results.push({ batch: n, same: new Set(Object.values(sums)).size === 1, ms: Object.fromEntries(names.map((k) => [k, median(times[k])])) });
  }
  window.benchResult = { model, results, isolated: crossOriginIsolated, cores: navigator.hardwareConcurrency };
}
main().catch((e) => { window.benchResult = { error: e?.stack ?? String(e) }; });

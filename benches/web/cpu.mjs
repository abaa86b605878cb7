// The page's CPU path in one Chromium session, interleaved (A B C / C B A rounds), ms per
// sample call of n images: (A) the wasm built without SIMD128, one worker (the page before
// issue 13); (B) SIMD128, one worker; (C) SIMD128 with the batch split over the page's pool
// (www/pool.js, `workers` workers in all). Query: ?models=a.safetensors,b.safetensors
// &batches=1,16&rounds=3&workers=2. The no-SIMD package is built by benches/web/run.sh.
import initA, { GlowApp as PlainApp } from '../../target/pkg-nosimd/glowgpu.js';
import { initWasm } from '../../www/glow.js';
import { Pool } from '../../www/pool.js';

const q = new URLSearchParams(location.search);
const models = (q.get('models') || 'www/models/default.safetensors').split(',');
const batches = (q.get('batches') || '1,16').split(',').map(Number);
const rounds = Number(q.get('rounds') || 3);
const workers = Number(q.get('workers') || 2);
const T = 0.7;
let SimdApp = null; // www/pkg's class (www/glow.js's plain build on this page's thread)

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);

async function bench(url) {
  const bytes = new Uint8Array(await (await fetch(`../../${url}`)).arrayBuffer());
  const a = await PlainApp.load(bytes, true);
  const b = await SimdApp.load(bytes, true);
  const pool = await Pool.start(bytes, workers - 1);
  const len = b.latent_len();
  const runs = {
    'no SIMD, 1 worker': (n, s) => a.sample(n, T, s),
    'SIMD128, 1 worker': (n, s) => b.sample(n, T, s),
    [`SIMD128, ${workers} workers`]: (n, s) => (n > 1 ? pool.decode(n, len, (st, c) => b.sample_latents(st, c, T, s), (f, c) => b.decode_many(f, c)) : b.sample(n, T, s)),
  };
  const names = Object.keys(runs);
  const out = [];
  for (const n of batches) {
    // the three give the same images (exactness of the split and of SIMD is checked, not assumed)
    const imgs = await Promise.all(names.map((k) => runs[k](n, 7)));
    const exact = names.map((k, i) => same(imgs[i], imgs[1]));
    const times = Object.fromEntries(names.map((k) => [k, []]));
    for (let r = 0; r < rounds; r++) {
      for (const k of r % 2 ? [...names].reverse() : names) {
        const t0 = performance.now();
        await runs[k](n, 100 + r);
        times[k].push(performance.now() - t0);
      }
    }
    out.push({ model: url, config: JSON.parse(b.config_json()), batch: n, ms: Object.fromEntries(names.map((k) => [k, median(times[k])])),
      rounds, sameImagesAsSimd1: Object.fromEntries(names.map((k, i) => [k, exact[i]])) });
  }
  a.free();
  b.free();
  pool.close();
  return out;
}

async function main() {
  await initA();
  SimdApp = (await initWasm()).GlowApp;
  const results = [];
  for (const m of models) results.push(...(await bench(m)));
  window.benchResult = { results, cores: navigator.hardwareConcurrency, ua: navigator.userAgent };
}

main().catch((e) => { window.benchResult = { error: e?.stack ?? String(e) }; });

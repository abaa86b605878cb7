// The page's CPU path against ONNX Runtime Web's wasm backend (2 threads; the page is served
// cross-origin isolated by benches/web/ort-run.mjs) on the same architecture, the face model
// 64x64x3 L4 K8 w128 (ORT runs benches/torch's ONNX export, random weights: speed does not depend
// on them). One session, interleaved rounds, ms per sample call of n images. Query: batches,
// rounds, onnx (target/ort/<onnx>_b<n>.onnx: face, w512, w128), model (glowgpu's, same architecture).
// glowgpu runs three ways: the plain build on this page's thread, the same with the batch split
// over a helper worker (www/pool.js), and the threaded build (www/pkg-threads/: 2 WebAssembly
// threads, relaxed SIMD) in the page's own model worker (www/client.js, as the page runs it).
import * as ort from '../../target/ort-web/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs';
import { startEngine } from '../../www/client.js';
import { initWasm } from '../../www/glow.js';
import { Pool } from '../../www/pool.js';

const q = new URLSearchParams(location.search);
const batches = (q.get('batches') || '1,16').split(',').map(Number);
const rounds = Number(q.get('rounds') || 5);
const onnx = q.get('onnx') || 'face'; // target/ort/<onnx>_b<n>.onnx
const model = q.get('model') || 'www/models/default.safetensors'; // glowgpu's model of that architecture
const T = 0.7;
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

function randn(n) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
  return out;
}

async function main() {
  ort.env.wasm.numThreads = 2;
  ort.env.wasm.wasmPaths = new URL('../../target/ort-web/node_modules/onnxruntime-web/dist/', import.meta.url).href;
  const { GlowApp } = await initWasm(); // on this page's thread: the plain build
  const bytes = new Uint8Array(await (await fetch(`../../${model}`)).arrayBuffer());
  const app = await GlowApp.load(bytes, true);
  const pool = await Pool.start(bytes, 1);
  const threaded = await startEngine({ useWorker: true, onEvent() {} });
  const tinfo = await threaded.call('load', bytes, 'cpu', 1, 2);
  if (tinfo.threads !== 2) throw new Error(`the threaded build did not start: ${tinfo.threadsWhy}`);
  const len = app.latent_len();
  const results = [];
  for (const n of batches) {
    const sess = await ort.InferenceSession.create(`../../target/ort/${onnx}_b${n}.onnx`, { executionProviders: ['wasm'] });
    const meta = sess.inputMetadata ?? [];
    const shapes = sess.inputNames.map((name, i) => meta[i]?.shape ?? null);
    const feeds = () => Object.fromEntries(sess.inputNames.map((name, i) => {
      const shape = shapes[i];
      return [name, new ort.Tensor('float32', randn(shape.reduce((a, b) => a * b, 1)), shape)];
    }));
    const runs = {
      'ORT-web wasm, 2 threads': async () => sess.run(feeds()),
      'glowgpu SIMD128, 1 worker': (s) => app.sample(n, T, s),
      'glowgpu SIMD128, 2 workers': (s) => (n > 1 ? pool.decode(n, len, (st, c) => app.sample_latents(st, c, T, s), (f, c) => app.decode_many(f, c)) : app.sample(n, T, s)),
      'glowgpu SIMD128 + relaxed, 2 wasm threads': (s) => threaded.call('sample', n, T, s),
    };
    const names = Object.keys(runs);
    for (const k of names) await runs[k](1); // warm-up
    const times = Object.fromEntries(names.map((k) => [k, []]));
    for (let r = 0; r < rounds; r++) {
      for (const k of r % 2 ? [...names].reverse() : names) {
        const t0 = performance.now();
        await runs[k](10 + r);
        times[k].push(performance.now() - t0);
      }
    }
    results.push({ batch: n, shapes, ms: Object.fromEntries(names.map((k) => [k, median(times[k])])) });
    await sess.release();
  }
  window.benchResult = { config: JSON.parse(app.config_json()), results, isolated: crossOriginIsolated, cores: navigator.hardwareConcurrency, threads: ort.env.wasm.numThreads };
}
main().catch((e) => { window.benchResult = { error: e?.stack ?? String(e) }; });

// The model side of the page: one wasm `GlowApp` and every call on it, one at a time. It runs in
// a dedicated module worker (www/worker.js) or, when workers fail, on the main thread; the page
// talks to it only through `handle(method, args)` and the events it emits:
//   { type: 'progress', phase, text, done?, total? }   loading phases, pipelines built / total
//   { type: 'recovered', reason, info }                  the WebGPU device was lost and rebuilt
import { initWasm } from './glow.js';
import { Pool } from './pool.js';
import { Queue } from './util.js';

/** What the page needs to know about a loaded model. */
function describe(app, choice = {}, workers = 1, threadsWhy = null) {
  return {
    workers, // workers sharing a CPU batch (www/pool.js)
    threads: app.cpu_threads(), // the CPU backend's threads in this worker (www/glow.js)
    threadsWhy, // why the threaded build is not used (null when it is, or on one core)
    choice, // { why, cpuMs?, gpuMs? }: why this backend (the probe's times on a software adapter)
    simd: app.simd128(),
    params: app.param_count(),
    width: app.width(),
    height: app.height(),
    channels: app.channels(),
    nBits: app.n_bits(),
    latentLen: app.latent_len(),
    backend: app.backend(),
    isGpu: app.is_gpu(),
    gpuError: app.gpu_error() ?? null,
    config: JSON.parse(app.config_json()),
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Milliseconds of the second of two runs of `f` (the first warms caches, or compiles). */
async function timed(f) {
  await f();
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

/** The probe's budget for the GPU (its first run compiles shaders): past it the CPU wins. */
const probeBudget = (cpuMs) => Math.max(3000, 10 * cpuMs);

/** Messages of a failed call that mean the device is gone (recover, then retry once). */
const LOST = /device lost|WebGPU error|buffer mapping/i;

export class Engine {
  #emit;
  #queue = new Queue();
  #app = null;
  #bytes = null; // the model's file, to rebuild it after a lost device
  #mode = 'auto'; // 'auto' (probe on a software adapter), 'cpu' or 'gpu'
  #choice = {};
  #attributes = null; // the attribute directions' file, reloaded with the model
  #recoverOnCpu = false; // test hook: the next rebuild after a loss takes the CPU
  #pool = null; // CPU helper workers (www/pool.js), when the model runs on the CPU
  #workers = 1; // workers asked for on the CPU
  #wasm = null; // www/glow.js's { GlowApp, threads, why }: the threaded or the plain build

  constructor(emit) {
    this.#emit = emit;
  }

  /** Runs `method` with `args` after every earlier call has finished. */
  handle(method, args = []) {
    return this.#queue.run(() => this.#dispatch(method, args));
  }

  #progress(phase, text, done, total) {
    this.#emit({ type: 'progress', phase, text, done, total });
  }

  async #dispatch(method, args) {
    switch (method) {
      case 'ping':
        return 'pong';
      case 'load':
        return this.#load(...args);
      case 'loadAttributes': {
        const names = this.#need().load_attributes(args[0]);
        this.#attributes = args[0];
        return names;
      }
      case 'interpolate':
        return this.#need().interpolate(...args);
      case 'edit':
        return this.#need().edit(...args);
      case 'bitsPerDim':
        return this.#guarded((app) => app.bits_per_dim(...args));
      case 'prepareImage':
        return this.#need().prepare_image(...args);
      case 'pipelineCount':
        return this.#need().pipeline_count();
      case 'debugDestroyDevice':
        return this.#need().debug_destroy_device();
      case 'debugLoseDeviceToCpu':
        // a loss after which no new WebGPU device can be had: the rebuild takes the CPU
        this.#recoverOnCpu = true;
        return this.#need().debug_destroy_device();
      case 'sample': {
        const [n, t, seed] = args;
        if (this.#pool && n > 1) {
          const app = this.#need();
          return this.#pool.decode(n, app.latent_len(), (s, c) => app.sample_latents(s, c, t, seed), (f, c) => app.decode_many(f, c));
        }
        return this.#guarded((app) => app.sample(...args));
      }
      case 'encode':
        return this.#guarded((app) => app.encode(...args));
      case 'decode':
        return this.#guarded((app) => app.decode(...args));
      case 'reconstructCheck':
        // [mismatched, bytes, max_diff] of encoding and decoding one image (the library's check)
        return this.#guarded((app) => app.reconstruct_check(...args)).then((r) => Array.from(r));
      case 'decodeMany':
        return this.#decodeMany(...args);
      case 'morph': {
        // frames t = 0 … 1 of (1-t)a + tb, decoded in one batch
        const [a, b, frames] = args;
        const app = this.#need();
        const flats = new Float64Array(frames * a.length);
        for (let i = 0; i < frames; i++) flats.set(app.interpolate(a, b, i / (frames - 1)), i * a.length);
        return this.#decodeMany(flats, frames);
      }
      case 'workers':
        return this.#pool?.size ?? 1;
      default:
        throw new Error(`unknown engine call ${method}`);
    }
  }

  /** `n` flat latents end to end, decoded (split over the CPU helpers when there are some). */
  #decodeMany(flats, n) {
    if (!this.#pool || n < 2) return this.#guarded((app) => app.decode_many(flats, n));
    const app = this.#need();
    const len = app.latent_len();
    return this.#pool.decode(n, len, (s, c) => flats.slice(s * len, (s + c) * len), (f, c) => app.decode_many(f, c));
  }

  /** The CPU helpers for `app` (none on the GPU, or when one worker is asked for). */
  async #startPool(app, bytes) {
    this.#pool?.close();
    this.#pool = null;
    // the threaded build uses the cores itself; helpers would only compete with its pool
    if (app.is_gpu() || this.#wasm.threads > 1 || this.#workers < 2 || typeof Worker === 'undefined') return;
    this.#progress('workers', `Starting ${this.#workers - 1} more CPU workers…`);
    try {
      this.#pool = await Pool.start(bytes, this.#workers - 1);
    } catch (e) {
      console.warn(`CPU helper workers unavailable, one worker runs the model: ${e?.message ?? e}`);
    }
  }

  #need() {
    if (!this.#app) throw new Error('no model loaded');
    return this.#app;
  }

  /** Builds a model from `bytes` on the backend `mode` asks for ('auto': WebGPU, unless the
   * adapter is a software renderer and the CPU ran a face faster); the previous one stays if
   * this throws. */
  async #load(bytes, mode = 'auto', workers = 1, threads = workers) {
    this.#progress('wasm', 'Starting WebAssembly…');
    this.#wasm = await initWasm(threads);
    const cpu = mode === 'cpu';
    this.#progress('device', cpu ? 'Building the model on the CPU…' : 'Opening WebGPU and uploading the weights…');
    let next = await this.#wasm.GlowApp.load(bytes, cpu);
    let choice = { why: cpu ? 'asked for' : next.is_gpu() ? 'hardware' : 'no-webgpu' };
    if (mode === 'auto' && next.is_gpu() && next.is_software_adapter()) [next, choice] = await this.#probe(next, bytes);
    this.#workers = workers;
    await this.#startPool(next, bytes);
    this.#install(next);
    this.#bytes = bytes;
    this.#mode = mode;
    this.#choice = choice;
    this.#attributes = null;
    return describe(next, choice, this.#pool?.size ?? 1, this.#wasm.why);
  }

  /** A software WebGPU adapter: one face on the CPU and on it, timed; the faster one stays. */
  async #probe(gpu, bytes) {
    this.#progress('probe', 'The WebGPU adapter is a software renderer: timing one face on it and on the CPU…');
    const cpu = await this.#wasm.GlowApp.load(bytes, true);
    const cpuMs = await timed(() => cpu.sample(1, 0.7, 1));
    const budget = probeBudget(cpuMs);
    const gpuRun = timed(() => gpu.sample(1, 0.7, 1)).catch(() => Infinity);
    const gpuMs = await Promise.race([gpuRun, sleep(budget).then(() => Infinity)]);
    if (gpuMs < cpuMs) {
      cpu.free();
      return [gpu, { why: 'probe-gpu', cpuMs, gpuMs }];
    }
    gpuRun.then(() => gpu.free()); // a run past the budget still holds it
    return [cpu, { why: 'probe-cpu', cpuMs, gpuMs: Number.isFinite(gpuMs) ? gpuMs : null, budget }];
  }

  /** Makes `app` current: reports its pipeline builds and watches its device. */
  #install(app) {
    const old = this.#app;
    this.#app = app;
    old?.free();
    app.set_progress((done, total) => {
      this.#progress('pipelines', `Compiling shaders: pipeline ${done} / ${total}`, done, total);
      // the browser finishes compiling them in the background; the first run waits for that
      if (done === total) this.#progress('first-run', 'Pipelines built; running the first batch on the GPU…');
    });
    if (app.is_gpu()) {
      app.lost().then((reason) => {
        if (reason && this.#app === app) this.#queue.run(() => (this.#app === app ? this.#recover(reason) : null)).catch(() => {});
      });
    }
  }

  /** After a lost device: the same model on a new WebGPU device (or the CPU when that fails). */
  async #recover(reason) {
    this.#progress('recover', 'The WebGPU device was lost: rebuilding the model…');
    const next = await this.#wasm.GlowApp.load(this.#bytes, this.#mode === 'cpu' || this.#recoverOnCpu);
    this.#recoverOnCpu = false;
    await this.#startPool(next, this.#bytes);
    this.#install(next);
    if (this.#attributes) next.load_attributes(this.#attributes);
    const info = describe(next, next.is_gpu() ? this.#choice : { why: 'lost' }, this.#pool?.size ?? 1, this.#wasm.why);
    this.#emit({ type: 'recovered', reason, info });
  }

  /** Runs `fn(app)`; when it fails because the device is gone, recovers and tries once more. */
  async #guarded(fn) {
    const app = this.#need();
    try {
      return await fn(app);
    } catch (e) {
      const msg = e?.message ?? String(e);
      if (!app.is_gpu() || !LOST.test(msg) || !this.#bytes) throw e;
      if (this.#app === app) await this.#recover(msg);
      return fn(this.#app);
    }
  }
}

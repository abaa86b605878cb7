// The model side of the page: one wasm `GlowApp` and every call on it, one at a time. It runs in
// a dedicated module worker (www/worker.js) or, when workers fail, on the main thread; the page
// talks to it only through `handle(method, args)` and the events it emits:
//   { type: 'progress', phase, text, done?, total? }   loading phases, pipelines built / total
//   { type: 'recovered', reason, info }                  the WebGPU device was lost and rebuilt
import { GlowApp, initWasm } from './glow.js';
import { Queue } from './util.js';

/** What the page needs to know about a loaded model. */
function describe(app) {
  return {
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

/** Messages of a failed call that mean the device is gone (recover, then retry once). */
const LOST = /device lost|WebGPU error|buffer mapping/i;

export class Engine {
  #emit;
  #queue = new Queue();
  #app = null;
  #bytes = null; // the model's file, to rebuild it after a lost device
  #forceCpu = false;
  #attributes = null; // the attribute directions' file, reloaded with the model
  #recoverOnCpu = false; // test hook: the next rebuild after a loss takes the CPU

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
      case 'sample':
        return this.#guarded((app) => app.sample(...args));
      case 'encode':
        return this.#guarded((app) => app.encode(...args));
      case 'decode':
        return this.#guarded((app) => app.decode(...args));
      case 'decodeMany':
        return this.#guarded((app) => app.decode_many(...args));
      case 'morph': {
        // frames t = 0 … 1 of (1-t)a + tb, decoded in one batch
        const [a, b, frames] = args;
        const app = this.#need();
        const flats = new Float64Array(frames * a.length);
        for (let i = 0; i < frames; i++) flats.set(app.interpolate(a, b, i / (frames - 1)), i * a.length);
        return this.#guarded((g) => g.decode_many(flats, frames));
      }
      default:
        throw new Error(`unknown engine call ${method}`);
    }
  }

  #need() {
    if (!this.#app) throw new Error('no model loaded');
    return this.#app;
  }

  /** Builds a model from `bytes`; the previous one stays if this throws. */
  async #load(bytes, forceCpu) {
    this.#progress('wasm', 'Starting WebAssembly…');
    await initWasm();
    this.#progress('device', forceCpu ? 'Building the model on the CPU…' : 'Opening WebGPU and uploading the weights…');
    const next = await GlowApp.load(bytes, forceCpu);
    this.#install(next);
    this.#bytes = bytes;
    this.#forceCpu = forceCpu;
    this.#attributes = null;
    return describe(next);
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
    const next = await GlowApp.load(this.#bytes, this.#forceCpu || this.#recoverOnCpu);
    this.#recoverOnCpu = false;
    this.#install(next);
    if (this.#attributes) next.load_attributes(this.#attributes);
    const info = describe(next);
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

// The CPU path's batch split: `size` helper workers (www/helper.js), each with its own CPU copy
// of the model, decode their share of a batch while the engine decodes its own. WebAssembly
// here has no threads (they need a cross-origin-isolated page), so workers are how the CPU
// path uses more than one core. Sampling splits exactly: `sample_latents` gives any image
// range of a batch's noise (src/web.rs), so the images do not depend on the split.

/** How many parts `n` images go into, and each part's [start, count]. */
export function parts(n, k) {
  const per = Math.ceil(n / k);
  const out = [];
  for (let s = 0; s < n; s += per) out.push([s, Math.min(per, n - s)]);
  return out;
}

class Helper {
  #worker;
  #next = 1;
  #pending = new Map();
  constructor(worker) {
    this.#worker = worker;
    worker.onmessage = ({ data }) => {
      const p = this.#pending.get(data.id);
      this.#pending.delete(data.id);
      if ('error' in data) p?.reject(new Error(data.error));
      else p?.resolve(data.value);
    };
    worker.onerror = (e) => {
      e.preventDefault?.();
      for (const p of this.#pending.values()) p.reject(new Error(`a CPU helper worker failed: ${e.message}`));
      this.#pending.clear();
    };
  }
  call(method, args, transfer = []) {
    return new Promise((resolve, reject) => {
      const id = this.#next++;
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, method, args }, transfer);
    });
  }
  close() {
    this.#worker.terminate();
  }
}

export class Pool {
  #helpers;
  constructor(helpers) {
    this.#helpers = helpers;
  }

  /** `size` helpers with the model of `bytes` loaded; rejects when workers cannot start. */
  static async start(bytes, size) {
    const helpers = [];
    try {
      for (let i = 0; i < size; i++) helpers.push(new Helper(new Worker(new URL('./helper.js', import.meta.url), { type: 'module', name: `glow-cpu-${i + 1}` })));
      await Promise.all(helpers.map((h) => h.call('load', [bytes])));
    } catch (e) {
      for (const h of helpers) h.close();
      throw e;
    }
    return new Pool(helpers);
  }

  /** Workers taking part, the caller included. */
  get size() {
    return this.#helpers.length + 1;
  }

  close() {
    for (const h of this.#helpers) h.close();
    this.#helpers = [];
  }

  /** Decodes `n` latents; `latentsOf(start, count)` gives a part's flat latents and `own(flats,
   * count)` decodes the caller's part. The helpers get theirs first, so all run at once. */
  async decode(n, latentLen, latentsOf, own) {
    const ps = parts(n, this.size);
    const jobs = ps.slice(1).map(([s, c], i) => {
      const flats = latentsOf(s, c);
      return this.#helpers[i].call('decodeMany', [flats, c], [flats.buffer]);
    });
    const first = await own(latentsOf(...ps[0]), ps[0][1]);
    const rest = await Promise.all(jobs);
    const out = new Uint8Array(first.length + rest.reduce((k, r) => k + r.length, 0));
    let o = 0;
    for (const r of [first, ...rest]) {
      out.set(r, o);
      o += r.length;
    }
    return out;
  }
}

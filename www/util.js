// Small helpers shared by the page and the engine: fetch with progress, a job queue, and
// "latest call wins" for sliders.

/** Fetches `url` as bytes, reporting `onProgress(received, total)` (total 0 when unknown). */
export async function fetchBytes(url, onProgress) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`could not fetch ${url}: HTTP ${res.status}`);
  const total = Number(res.headers.get('Content-Length')) || 0;
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  const chunks = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    onProgress?.(received, total);
  }
  const out = new Uint8Array(received);
  let o = 0;
  for (const c of chunks) { out.set(c, o); o += c.length; }
  return out;
}

/** Runs async jobs strictly one after another (the model takes one call at a time). */
export class Queue {
  #tail = Promise.resolve();
  run(job) {
    const p = this.#tail.then(job);
    this.#tail = p.catch(() => {});
    return p;
  }
}

/**
 * Wraps `fn(arg)` so that calls made while one runs collapse into one run with the latest
 * argument (sliders stay responsive instead of queueing every step).
 */
export function latest(fn) {
  let running = false;
  let pending = null;
  return async (arg) => {
    pending = { arg };
    if (running) return;
    running = true;
    try {
      while (pending) {
        const { arg: a } = pending;
        pending = null;
        await fn(a);
      }
    } finally {
      running = false;
    }
  };
}

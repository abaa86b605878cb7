// The page's handle on the model: a dedicated module worker running www/engine.js, or the same
// engine on the main thread when the worker cannot start (`?worker=0` forces that).
// `call(method, ...args)` returns a promise; events go to `onEvent`.

const START_TIMEOUT_MS = 30_000;

class WorkerEngine {
  #worker;
  #next = 1;
  #pending = new Map();

  constructor(worker, onEvent) {
    this.#worker = worker;
    worker.onmessage = ({ data }) => {
      if (!data.id) return onEvent(data);
      const p = this.#pending.get(data.id);
      this.#pending.delete(data.id);
      if ('error' in data) p?.reject(new Error(data.error));
      else p?.resolve(data.value);
    };
    worker.onerror = (e) => {
      e.preventDefault?.();
      const err = new Error(`the model's worker failed: ${e.message || 'unknown error'}`);
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    };
  }

  call(method, ...args) {
    return new Promise((resolve, reject) => {
      const id = this.#next++;
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, method, args });
    });
  }
}

/** Starts the worker and waits for its first answer; rejects when it cannot load. */
function startWorker(onEvent) {
  return new Promise((resolve, reject) => {
    let worker;
    try {
      worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'glow-model' });
    } catch (e) {
      reject(e);
      return;
    }
    const timer = setTimeout(() => fail(new Error(`no answer within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    const fail = (e) => {
      clearTimeout(timer);
      worker.terminate();
      reject(e);
    };
    worker.onerror = (e) => {
      e.preventDefault();
      fail(new Error(e.message || 'the worker script did not load'));
    };
    worker.onmessage = ({ data }) => {
      if (data.id !== 0) return;
      clearTimeout(timer);
      resolve(new WorkerEngine(worker, onEvent));
    };
    worker.postMessage({ id: 0, method: 'ping', args: [] });
  });
}

/**
 * The engine: `{ where: 'worker' | 'main', why, call }`; `why` says why the worker is not
 * used (null when it is).
 */
export async function startEngine({ useWorker, onEvent }) {
  let why = 'asked for by ?worker=0';
  if (useWorker) {
    try {
      const w = await startWorker(onEvent);
      return { where: 'worker', why: null, call: (m, ...a) => w.call(m, ...a) };
    } catch (e) {
      why = e?.message ?? String(e);
      console.warn(`model worker unavailable, running on the main thread: ${why}`);
    }
  }
  const { Engine } = await import('./engine.js');
  const engine = new Engine(onEvent);
  return { where: 'main', why, call: (m, ...a) => engine.handle(m, a) };
}

// The wasm package, loaded once where the model runs (the worker, or the main thread as a
// fallback; see www/engine.js). Two builds (scripts/build-page.sh):
//   www/pkg-threads/  a pool of web workers sharing the module's memory: one image's
//                     convolutions use every core. Needs shared memory, which browsers give only
//                     to cross-origin-isolated pages (COOP/COEP headers: scripts/http-server.py,
//                     or sw.js once installed), and a worker (the main thread may not block).
//   www/pkg/          the plain build: one thread (www/pool.js splits batches over workers).
// `?threads=0` on the page forces the plain build.

let ready = null;

/** Why the threaded build cannot run here, or null when it can. */
function noThreads(threads) {
  if (threads < 2) return 'one thread asked for';
  if (typeof WorkerGlobalScope === 'undefined') return 'not in a worker';
  if (!globalThis.crossOriginIsolated) return 'the page is not cross-origin isolated (no COOP/COEP headers)';
  if (typeof SharedArrayBuffer !== 'function') return 'no SharedArrayBuffer';
  return null;
}

async function load(threads) {
  let why = noThreads(threads);
  if (!why) {
    try {
      const pkg = await import('./pkg-threads/glowgpu.js');
      await pkg.default();
      const got = await pkg.startThreads(threads);
      if (got !== threads) throw new Error(`${got} threads started of ${threads}`);
      return { GlowApp: pkg.GlowApp, threads, why: null };
    } catch (e) {
      why = `the threaded build failed to start: ${e?.message ?? e}`;
      console.warn(`${why}; using the plain build`);
    }
  }
  const pkg = await import('./pkg/glowgpu.js');
  await pkg.default();
  return { GlowApp: pkg.GlowApp, threads: 1, why };
}

/** Loads the wasm package once: `{ GlowApp, threads, why }`, where `threads` is the CPU
 * backend's thread count (1: the plain build, `why` says why). `threads` asks for a pool of
 * that many threads; only the first call's count counts. */
export function initWasm(threads = 1) {
  ready ??= load(threads);
  return ready;
}

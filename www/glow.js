// The wasm package, loaded once where the model runs (the worker, or the main thread as a
// fallback; see www/engine.js). Two builds (scripts/build-page.sh):
//   www/pkg-threads/  a pool of web workers sharing the module's memory: one image's
//                     convolutions use every core. Needs shared memory, which browsers give only
//                     to cross-origin-isolated pages (COOP/COEP headers: scripts/http-server.py,
//                     or sw.js once installed), a worker (the main thread may not block), and
//                     relaxed SIMD (its GEMMs multiply-add in one instruction; Chromium 114+).
//   www/pkg/          the plain build: one thread (www/pool.js splits batches over workers).
// `?threads=0` on the page forces the plain build.

let ready = null;

// A module of one function returning `f32x4.relaxed_madd` of three constants: validates only
// where the engine has relaxed SIMD.
const V128_ZERO = [0xfd, 0x0c, ...new Array(16).fill(0)];
const RELAXED_BODY = [0x00, ...V128_ZERO, ...V128_ZERO, ...V128_ZERO, 0xfd, 0x85, 0x02, 0x0b];
const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type: () -> v128
  0x03, 0x02, 0x01, 0x00, // one function of that type
  0x0a, RELAXED_BODY.length + 2, 0x01, RELAXED_BODY.length, ...RELAXED_BODY,
]);

/** Whether this engine runs WebAssembly relaxed SIMD (the threaded build needs it). */
export function hasRelaxedSimd() {
  try {
    return WebAssembly.validate(RELAXED_PROBE);
  } catch {
    return false;
  }
}

/** Why the threaded build cannot run here, or null when it can. */
function noThreads(threads) {
  if (threads < 2) return 'one thread asked for';
  if (typeof WorkerGlobalScope === 'undefined') return 'not in a worker';
  if (!globalThis.crossOriginIsolated) return 'the page is not cross-origin isolated (no COOP/COEP headers)';
  if (typeof SharedArrayBuffer !== 'function') return 'no SharedArrayBuffer';
  if (!hasRelaxedSimd()) return 'this browser has no WebAssembly relaxed SIMD';
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

// A worker of benches/web/threads.mjs: one build of the page's wasm (plain or threaded, with a
// pool of the given size) and one CPU model; answers { id, ms } per sample call.
let app = null;
onmessage = async ({ data: { id, method, args } }) => {
  try {
    if (method === 'load') {
      const [pkgName, threads, bytes] = args;
      const pkg = await import(`../../www/${pkgName}/glowgpu.js`);
      await pkg.default();
      if (pkgName === 'pkg-threads') await pkg.startThreads(threads);
      app = await pkg.GlowApp.load(bytes, true);
      postMessage({ id, value: app.cpu_threads() });
    } else if (method === 'sample') {
      const t0 = performance.now();
      const img = await app.sample(...args);
      postMessage({ id, value: { ms: performance.now() - t0, sum: img.reduce((a, b) => a + b, 0) } });
    }
  } catch (e) {
    postMessage({ id, error: e?.stack ?? String(e) });
  }
};

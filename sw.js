// The service worker that makes the page work offline once loaded. It sits at the root so its
// scope covers index.html. Network first (a rebuilt page or model is picked up when online),
// the cache when the network fails; install stores the page, its modules, the wasm and the
// default model, and every later same-origin GET refreshes its cached copy.
// It also adds COOP/COEP to what it serves, so the page is cross-origin isolated (shared memory
// for the threaded wasm build, www/glow.js) on a host that does not send those headers itself,
// from the second visit on (the first is not yet under the worker).
const CACHE = 'glow-page-v1'; // www/app.js stores a ?model= page's model under this name too
const THREADED_GLUE = 'www/pkg-threads/glowgpu.js';
const FILES = [
  './', 'index.html', 'sw.js',
  'www/style.css', 'www/app.js', 'www/camera.js', 'www/client.js', 'www/crop.js', 'www/editor.js', 'www/engine.js',
  'www/export.js', 'www/glow.js', 'www/helper.js', 'www/morph.js', 'www/page.js', 'www/photos.js', 'www/pool.js', 'www/pixels.js', 'www/ui.js',
  'www/align.js', 'www/teach.js', 'www/typical.js', 'www/util.js', 'www/worker.js',
  'www/pkg/glowgpu.js', 'www/pkg/glowgpu_bg.wasm', THREADED_GLUE, 'www/pkg-threads/glowgpu_bg.wasm',
  'www/models/default.safetensors', 'www/models/default.attributes.safetensors', 'www/models/default.bpd-hist.json',
  'www/models/default.edit-range.json',
  'www/models/celeba-align.json',
  // the face detector (scripts/vendor-face.sh copies it from npm @vladmandic/face-api)
  'www/vendor/face-api/face-api.esm.js', 'www/vendor/face-api/model/tiny_face_detector_model-weights_manifest.json',
  'www/vendor/face-api/model/tiny_face_detector_model.bin', 'www/vendor/face-api/model/face_landmark_68_model-weights_manifest.json',
  'www/vendor/face-api/model/face_landmark_68_model.bin',
];

const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin' };

/** `res` with the cross-origin isolation headers (unchanged when it has them already). */
function isolated(res) {
  if (res.status === 0 || res.headers.has('Cross-Origin-Embedder-Policy')) return res;
  const headers = new Headers(res.headers);
  for (const [k, v] of Object.entries(ISOLATION)) headers.set(k, v);
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // one by one: a missing optional file (the attribute directions) must not fail the rest
    await Promise.all(FILES.map((f) => cache.add(f).catch((e) => console.warn(`offline cache: ${f}: ${e}`))));
    // the threaded build's JS snippets (wasm-bindgen-rayon's worker script) sit under hashed
    // names: the glue names them
    const glue = await (await cache.match(THREADED_GLUE))?.text();
    for (const [, path] of glue?.matchAll(/from '\.\/(snippets\/[^']+\.js)'/g) ?? []) {
      await cache.add(`www/pkg-threads/${path}`).catch((e) => console.warn(`offline cache: ${path}: ${e}`));
    }
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const k of await caches.keys()) if (k !== CACHE) await caches.delete(k);
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET' || new URL(req.url).origin !== self.location.origin) return;
  event.respondWith((async () => {
    try {
      const res = await fetch(req);
      if (res.status === 200) {
        const copy = res.clone();
        event.waitUntil(caches.open(CACHE).then((c) => c.put(req, copy)).catch(() => {}));
      }
      return isolated(res);
    } catch (e) {
      // offline: the cached copy (pages also under their URL without the query, e.g. ?cpu=1)
      const hit = (await caches.match(req)) ?? (req.mode === 'navigate' ? await caches.match(req, { ignoreSearch: true }) : undefined);
      if (hit) return isolated(hit);
      throw e;
    }
  })());
});

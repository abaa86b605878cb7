// The state the panels share: the engine (set by boot), the loaded model, the samples, the two
// photo slots, and the job queue every model call goes through.
import { busy, showError } from './ui.js';
import { Queue } from './util.js';

export const N_SAMPLES = 8;
export const SLOTS = 2;

export const page = {
  engine: null, // { where, why, call(method, ...args) } (www/client.js)
  info: null, // the loaded model (www/engine.js `describe`)
  loading: true, // loading phases go to the status line
  w: 0,
  h: 0,
  samples: null, // RGBA of the last batch
  version: 0, // bumped whenever the samples or a photo change (the morph frames depend on them)
  // the photo slots: { image (canvas), rect, name, z (flat latent) }, or null
  photos: Array.from({ length: SLOTS }, () => null),
  latents: new Map(), // sample latents by <select> value ('s0' …)
  queue: new Queue(),
};

export const call = (method, ...args) => page.engine.call(method, ...args);

/** Runs a model job in the queue with panel `where` busy; errors are shown in that panel (the
 * engine recovers a lost device itself). Resolves `undefined` when the job failed. */
export async function job(where, fn) {
  try {
    const r = await busy(where, () => page.queue.run(fn));
    showError('', where);
    return r;
  } catch (e) {
    showError(e?.message ?? String(e), where);
    return undefined;
  }
}

/** The flat latent behind an endpoint: 'sN' (sample N+1; encoding a sample is exact) or 'pN'
 * (photo slot N+1). Call inside a job. */
export async function endpoint(key) {
  if (key.startsWith('p')) return page.photos[Number(key.slice(1))]?.z ?? null;
  if (!page.latents.has(key)) {
    if (!page.samples) return null;
    const i = Number(key.slice(1));
    const size = page.w * page.h * 4;
    page.latents.set(key, await call('encode', page.samples.slice(i * size, (i + 1) * size)));
  }
  return page.latents.get(key);
}

/** Human name of an endpoint key. */
export const endpointName = (key) => (key.startsWith('p') ? `photo ${Number(key.slice(1)) + 1}` : `sample ${Number(key.slice(1)) + 1}`);

/** Fills every endpoint <select> with the samples and the photos encoded so far. */
export function fillEndpoints() {
  for (const [id, def] of [['interp-a', 's0'], ['interp-b', 's1'], ['edit-src', 's0']]) {
    const sel = document.getElementById(id);
    const keep = sel.value;
    sel.replaceChildren();
    for (let i = 0; i < N_SAMPLES; i++) sel.add(new Option(`sample ${i + 1}`, `s${i}`));
    page.photos.forEach((p, i) => p?.z && sel.add(new Option(`photo ${i + 1}${p.name ? ` (${p.name})` : ''}`, `p${i}`)));
    sel.value = [...sel.options].some((o) => o.value === keep) ? keep : def;
  }
}

// Page furniture shared by the panels: the status line, notices, errors shown in the panel the
// user acted in, busy states, and the model's readable summary.

export const $ = (id) => document.getElementById(id);

export function setStatus(text, progress) {
  $('status').textContent = text;
  if (progress === undefined) $('progress').removeAttribute('value');
  else $('progress').value = progress;
}

/** An error in the panel `where` ('sample', 'model', 'encode', 'interp', 'edit'; `null`: the
 * header, for load errors); an empty message clears it. */
export function showError(message, where = null) {
  const el = $(where ? `${where}-error` : 'error');
  el.textContent = message;
  el.hidden = !message;
}

/** A plain notice; `detail` (e.g. why WebGPU failed) goes to its tooltip and the console. */
export function showNotice(text, detail) {
  $('notice').textContent = text;
  $('notice').title = detail ?? '';
  $('notice').hidden = !text;
  if (detail) console.info(`${text} ${detail}`);
}

/** Marks panel `where` busy (aria-busy, dimmed canvases) while `fn` runs. Nested calls count. */
export async function busy(where, fn) {
  const panel = $(`${where}-panel`);
  panel.dataset.busy = String(Number(panel.dataset.busy || 0) + 1);
  panel.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    const n = Number(panel.dataset.busy) - 1;
    panel.dataset.busy = String(n);
    if (n === 0) panel.removeAttribute('aria-busy');
  }
}

const COUPLING = { affine: 'affine coupling', additive: 'additive coupling' };
const PERM = { invconv: 'invertible 1x1 conv', invconv_lu: 'invertible 1x1 conv (LU)', shuffle: 'shuffle', reverse: 'reverse' };

/** The model's summary as [term, value] rows. */
export function modelSummary(info) {
  const c = info.config;
  return [
    ['Images', `${c.image_width}×${c.image_height} ${c.image_channels === 1 ? 'grey' : 'RGB'}, ${c.n_bits} bits per channel`],
    ['Flow', `${c.levels} levels × ${c.depth} steps, coupling width ${c.hidden}`],
    ['Layers', `${COUPLING[c.coupling] ?? c.coupling}, ${PERM[c.permutation] ?? c.permutation}${c.learn_top ? ', learned top prior' : ''}`],
    ['Classes', c.n_classes ? `${c.n_classes} (class-conditional)` : 'none (unconditional)'],
    ['Parameters', `${(info.params / 1e6).toFixed(2)} M`],
    ['Latent', `${info.latentLen.toLocaleString('en')} values per image`],
  ];
}

export function showSummary(info) {
  const dl = $('model-summary');
  dl.replaceChildren();
  for (const [k, v] of modelSummary(info)) {
    dl.append(Object.assign(document.createElement('dt'), { textContent: k }), Object.assign(document.createElement('dd'), { textContent: v }));
  }
  $('model-info').textContent = JSON.stringify(info.config, null, 2);
}

const secs = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);

/** Why the model runs where it does (the model panel), and the notice to show, if any. */
export function backendReason(info, { forced, where, whyMain }) {
  const ch = info.choice ?? {};
  let why = '';
  let notice = '';
  if (ch.why === 'probe-cpu') {
    const gpu = ch.gpuMs == null ? `more than ${secs(ch.budget)} (it was still compiling)` : secs(ch.gpuMs);
    why = `The WebGPU adapter is a software renderer; a timed probe ran one face in ${secs(ch.cpuMs)} on the CPU and ${gpu} on it, so the CPU runs the model.`;
    notice = `Running on the CPU (WebAssembly): it was faster than this browser's software WebGPU adapter (${secs(ch.cpuMs)} vs ${gpu} per face).`;
  } else if (ch.why === 'probe-gpu') {
    why = `The WebGPU adapter is a software renderer, but a timed probe ran one face faster on it (${secs(ch.gpuMs)}) than on the CPU (${secs(ch.cpuMs)}).`;
  } else if (ch.why === 'asked for') {
    why = forced === 'cpu' ? 'The CPU was asked for (?cpu=1).' : 'The CPU was asked for.';
    notice = forced === 'cpu' ? 'CPU forced by ?cpu=1: running on the CPU (WebAssembly).' : '';
  } else if (ch.why === 'no-webgpu') {
    why = `No usable WebGPU adapter: ${info.gpuError ?? 'none found'}.`;
    notice = 'No WebGPU in this browser: running on the CPU (WebAssembly).';
  } else if (ch.why === 'hardware') {
    why = forced === 'gpu' ? 'WebGPU was asked for (?gpu=1).' : 'A hardware WebGPU adapter.';
  }
  if (!info.isGpu) why += info.simd ? ' WebAssembly SIMD128 is on.' : ' Built without SIMD128.';
  if (!info.isGpu && info.threads > 1) why += ` ${info.threads} threads share each image (WebAssembly threads, relaxed SIMD).`;
  else if (!info.isGpu && info.threadsWhy && info.threadsWhy !== 'one thread asked for') why += ` One thread per worker: ${info.threadsWhy}.`;
  if (info.workers > 1) why += ` The batch is split over ${info.workers} workers.`;
  if (where === 'main') notice += ` The model runs on the main thread (${whyMain}): the page may pause during long jobs.`;
  return { why, notice: notice.trim() };
}

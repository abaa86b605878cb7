// The page: boots the model's engine (www/client.js: a worker running www/engine.js), loads the
// default model and wires the panels (photos.js, morph.js, editor.js, export.js). `?cpu=1`
// forces the CPU backend, `?gpu=1` WebGPU (otherwise a software WebGPU adapter is timed against
// the CPU and the faster one runs the model); `?model=URL` loads another same-origin model;
// `?worker=0` runs the model on the main thread; `?workers=N` splits CPU batches over N workers,
// or, where the page is cross-origin isolated, gives the CPU backend N WebAssembly threads
// (`?threads=N` sets those alone; `?threads=1` keeps the plain one-thread build).
import { startEngine } from './client.js';
import { edit, hideDirections, showDirections, wireEditor } from './editor.js';
import { wireSaving } from './export.js';
import { interpolate, stopMorph, wireMorph } from './morph.js';
import { call, fillEndpoints, job, N_SAMPLES, page } from './page.js';
import { dropLatents, encodeCrop, reencodeAll, wirePhotos } from './photos.js';
import { drawImages } from './pixels.js';
import { resetTeaching, wireTeaching } from './teach.js';
import { forgetTypical, loadTypical } from './typical.js';
import { $, backendReason, setStatus, showError, showNotice, showSummary } from './ui.js';
import { fetchBytes, latest } from './util.js';

const GRID_COLS = 4;
const MAX_SEED = 2 ** 32 - 1;
const params = new URLSearchParams(location.search);
const forced = params.get('cpu') === '1' ? 'cpu' : params.get('gpu') === '1' ? 'gpu' : null;
const useWorker = params.get('worker') !== '0';
const defaultModel = params.get('model') || 'www/models/default.safetensors';
// workers sharing a batch on the CPU path (?workers=N; default: one per core, at most 4)
const workers = Math.max(1, Math.min(8, Number(params.get('workers')) || Math.min(4, navigator.hardwareConcurrency || 1)));
const threads = Math.max(1, Math.min(16, Number(params.get('threads')) || workers));
const attributesOf = (url) => url.replace(/\.safetensors$/, '.attributes.safetensors');
const editRangeOf = (url) => url.replace(/\.safetensors$/, '.edit-range.json');
let defaultBytes = null; // the default model's file (to recognise it when loaded again)

/** Every progress event of this page load, in order (the e2e test reads it). */
const progressLog = [];

/** Events from the engine: loading phases, and a lost WebGPU device it rebuilt. */
function onEngineEvent(ev) {
  if (ev.type === 'progress') {
    progressLog.push({ phase: ev.phase, done: ev.done, total: ev.total, at: Math.round(performance.now()) });
    document.body.dataset.phase = ev.phase;
    if (page.loading || ev.phase === 'recover') setStatus(ev.text, ev.total ? ev.done / ev.total : undefined);
  } else if (ev.type === 'recovered') {
    showInfo(ev.info);
    const where = ev.info.isGpu ? 'the model was rebuilt on a new WebGPU device' : 'now running on the CPU';
    showNotice(`The WebGPU device was lost; ${where}.`, ev.reason);
    document.body.dataset.deviceLosses = String(Number(document.body.dataset.deviceLosses || 0) + 1);
    setStatus('Ready', 1);
  }
}

function showInfo(info) {
  page.info = info;
  const threadsNote = !info.isGpu && info.threads > 1 ? ` · ${info.threads} threads` : '';
  $('backend').textContent = info.backend + threadsNote + (page.engine.where === 'worker' ? ' · in a worker thread' : ' · on the main thread');
  document.body.dataset.backend = info.isGpu ? 'webgpu' : 'cpu';
  document.body.dataset.backendWhy = info.choice?.why ?? '';
  document.body.dataset.engine = page.engine.where;
  const r = backendReason(info, { forced, where: page.engine.where, whyMain: page.engine.why });
  $('backend-why').textContent = r.why;
  return r;
}

/** Builds a model from `bytes` and makes it current; the previous one stays if this throws. */
async function useModel(bytes) {
  const info = await call('load', bytes, forced ?? 'auto', workers, threads);
  const r = showInfo(info);
  page.w = info.width;
  page.h = info.height;
  page.samples = null;
  page.latents.clear();
  dropLatents();
  showSummary(info);
  hideDirections(); // directions belong to one model (loadDirections shows them)
  resetTeaching();
  forgetTypical();
  $('edit-panel').hidden = false;
  stopMorph();
  showNotice(r.notice, [info.gpuError, page.engine.why].filter(Boolean).join('; '));
  for (const id of ['original', 'reconstruction', 'interp', 'edited', 'edit-before']) {
    const c = $(id);
    c.width = page.w;
    c.height = page.h;
    c.getContext('2d').clearRect(0, 0, page.w, page.h);
    delete c.dataset.shows;
    delete c.dataset.failed;
    delete c.dataset.what;
  }
  for (const b of document.querySelectorAll('button.save-png')) b.disabled = true;
  $('encode-time').textContent = '';
  fillEndpoints();
}

/** The seed box's value, or an error message: a whole number in 0 … 2^32 − 1, never wrapped. */
export function parseSeed(text) {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return { error: `The seed must be a whole number from 0 to ${MAX_SEED}; "${text}" is not.` };
  const v = Number(t);
  if (v > MAX_SEED) return { error: `The seed must be at most ${MAX_SEED}; ${t} is larger.` };
  return { seed: v };
}

async function sample() {
  const t = Number($('temperature').value);
  const { seed, error } = parseSeed($('seed').value);
  $('seed').setAttribute('aria-invalid', String(!!error));
  if (error) return showError(error, 'sample');
  $('grid').classList.add('stale');
  $('sample-time').textContent = `Sampling ${N_SAMPLES} faces at T = ${t.toFixed(2)}, seed ${seed}…`;
  await job('sample', async () => {
    const t0 = performance.now();
    const rgba = await call('sample', N_SAMPLES, t, seed);
    const took = performance.now() - t0;
    page.samples = rgba;
    page.version++;
    page.latents.clear();
    drawImages($('grid'), rgba, N_SAMPLES, page.w, page.h, GRID_COLS);
    $('grid').setAttribute('aria-label', `${N_SAMPLES} samples at temperature ${t.toFixed(2)}, seed ${seed}`);
    $('sample-time').textContent =
      `${N_SAMPLES} samples in ${took.toFixed(0)} ms (${(took / N_SAMPLES).toFixed(1)} ms each) · T = ${t.toFixed(2)}, seed ${seed}`;
    document.body.dataset.sampleMs = took.toFixed(1);
  });
  $('grid').classList.remove('stale');
  await interpolate();
  await edit();
}
const sampleLatest = latest(sample);

/** The directions beside a model URL (`<model>.attributes.safetensors`), when there are some. */
async function loadDirectionsFrom(url) {
  let bytes;
  try {
    bytes = await fetchBytes(attributesOf(url));
  } catch (e) {
    console.info(`no attribute directions for ${url}: ${e?.message ?? e}`);
    return;
  }
  // the slider ranges measured to decode (benches/web/edit-range.sh), when the model ships them
  let ranges = null;
  try {
    const r = await fetch(editRangeOf(url));
    if (r.ok) ranges = (await r.json()).ranges ?? null;
  } catch (e) {
    console.info(`no edit ranges for ${url} (the sliders run -2 … 2): ${e?.message ?? e}`);
  }
  await job('model', () => showDirections(bytes, url, ranges));
  await edit();
}

const sameBytes = (a, b) => a && b && a.length === b.length && a.every((v, i) => v === b[i]);

/** A model from the user's file or the default model's bytes; the previous one stays on error. */
async function switchModel(bytes, name, isDefault) {
  showError('', 'model');
  setStatus(`Loading ${name}…`);
  page.loading = true;
  const ok = await job('model', async () => {
    try {
      await useModel(bytes);
      return true;
    } catch (e) {
      throw new Error(`Could not load ${name}; the previous model stays loaded.\n${e?.message ?? e}`);
    }
  });
  if (ok) {
    $('model-default').hidden = isDefault;
    document.body.dataset.model = isDefault ? 'default' : 'user';
    if (isDefault) await Promise.all([loadDirectionsFrom(defaultModel), loadTypical(defaultModel)]);
    await sample();
    await reencodeAll(); // the photos, through the new model
  }
  page.loading = false;
  setStatus(ok ? `Loaded ${name}` : 'Ready');
}

async function loadWeightsFile(file) {
  if (!file) return;
  const bytes = new Uint8Array(await file.arrayBuffer());
  await switchModel(bytes, file.name, sameBytes(bytes, defaultBytes));
}

async function loadAttributesFile(file) {
  if (!file || !page.info) return;
  const bytes = new Uint8Array(await file.arrayBuffer());
  const r = await job('model', () => showDirections(bytes, file.name).then(() => true));
  if (r) {
    setStatus(`Loaded the attribute directions ${file.name}`);
    await edit();
  }
  else $('model-error').textContent = `Could not load ${file.name} as attribute directions for this model: ${$('model-error').textContent}`;
}

function wire() {
  $('temperature').addEventListener('input', () => {
    $('temperature-value').textContent = Number($('temperature').value).toFixed(2);
    sampleLatest();
  });
  $('seed').addEventListener('change', () => sampleLatest());
  $('reroll').addEventListener('click', () => {
    $('seed').value = String(Math.floor(Math.random() * 2 ** 32));
    sampleLatest();
  });
  $('weights-input').addEventListener('change', (e) => {
    loadWeightsFile(e.target.files[0]);
    e.target.value = ''; // choosing the same file again loads it again
  });
  $('attributes-input').addEventListener('change', (e) => {
    loadAttributesFile(e.target.files[0]);
    e.target.value = '';
  });
  $('model-default').addEventListener('click', () => defaultBytes && switchModel(defaultBytes, defaultModel, true));
  wirePhotos(async (key) => {
    // a new photo: the edit panel shows it, the interpolation redraws when it is an endpoint
    if ($('edit-src').querySelector(`option[value="${key}"]`)) $('edit-src').value = key;
    if ([$('interp-a').value, $('interp-b').value].includes(key)) await interpolate();
    await edit();
  });
  wireMorph();
  wireEditor();
  wireTeaching();
  wireSaving();
}

async function boot() {
  wire();
  const t0 = performance.now();
  page.engine = await startEngine({ useWorker, onEvent: onEngineEvent });
  document.body.dataset.engine = page.engine.where;
  // test hooks (tests/e2e): the engine, and the progress events so far
  window.glowDebug = { call, progress: progressLog, where: page.engine.where, parseSeed };
  try {
    setStatus('Downloading model…', 0);
    document.body.dataset.phase = 'download';
    progressLog.push({ phase: 'download', done: 0, total: 0, at: Math.round(performance.now()) });
    const bytes = await fetchBytes(defaultModel, (got, total) => {
      if (got === total) progressLog.push({ phase: 'download', done: got, total, at: Math.round(performance.now()) });
      const mb = (got / 1e6).toFixed(1);
      setStatus(total ? `Downloading model… ${mb} / ${(total / 1e6).toFixed(1)} MB` : `Downloading model… ${mb} MB`,
        total ? got / total : undefined);
    });
    defaultBytes = bytes.slice();
    setStatus('Building the model…');
    await page.queue.run(() => useModel(bytes));
    document.body.dataset.model = 'default';
    await Promise.all([loadDirectionsFrom(defaultModel), loadTypical(defaultModel)]);
  } catch (e) {
    setStatus('No model loaded');
    showError(`Could not load the default model (${defaultModel}): ${e?.message ?? e}\nLoad a .safetensors file below.`);
    document.body.dataset.state = 'error';
    return;
  }
  setStatus(page.info.isGpu ? 'Compiling shaders and sampling…' : 'Sampling…');
  await sample();
  await encodeCrop(); // a photo chosen while the model loaded
  page.loading = false;
  // performance.now() counts from navigation: the time to first sample includes the download.
  document.body.dataset.firstSampleMs = performance.now().toFixed(0);
  setStatus(`Ready: first samples ${performance.now().toFixed(0)} ms after opening the page (download, build and first batch: ${(performance.now() - t0).toFixed(0)} ms)`);
  document.body.dataset.state = 'ready';
  offline();
}

/** Registers the service worker (sw.js) that caches the page, the wasm and the default model;
 * says so in the footer once the model is in its cache. */
async function offline() {
  if (!('serviceWorker' in navigator)) return;
  try {
    await navigator.serviceWorker.register('sw.js');
    await navigator.serviceWorker.ready;
    if (defaultModel !== 'www/models/default.safetensors') {
      // a ?model= page: the worker caches only the default model, so store this one (and its
      // directions, when there are some) in the same cache
      const cache = await caches.open('glow-page-v1');
      await cache.add(defaultModel);
      await cache.add(attributesOf(defaultModel)).catch(() => {});
      await cache.add(editRangeOf(defaultModel)).catch(() => {});
    }
    for (let i = 0; i < 600 && !(await caches.match(defaultModel)); i++) await new Promise((r) => setTimeout(r, 100));
    if (await caches.match(defaultModel)) {
      document.body.dataset.offline = 'ready';
      $('offline').hidden = false;
    }
  } catch (e) {
    console.info(`no offline copy: ${e?.message ?? e}`);
  }
}

boot();

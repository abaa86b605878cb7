// The page: wires the panels to the model (www/engine.js, in a worker: www/client.js) and the
// canvases (www/pixels.js). `?cpu=1` forces the CPU backend; `?model=URL` loads another
// same-origin model; `?worker=0` runs the model on the main thread.
import { cameraAvailable, closeCamera, grabFrame, openCamera } from './camera.js';
import { startEngine } from './client.js';
import { Cropper } from './crop.js';
import { drawImages, tile } from './pixels.js';
import { fetchBytes, latest, Queue } from './util.js';

const N_SAMPLES = 8;
const GRID_COLS = 4;
const params = new URLSearchParams(location.search);
const forceCpu = params.get('cpu') === '1';
const useWorker = params.get('worker') !== '0';
const defaultModel = params.get('model') || 'www/models/default.safetensors';

const $ = (id) => document.getElementById(id);
const queue = new Queue();

/** The model's engine (`call(method, ...args)`), set by boot. */
let engine = null;

const state = {
  info: null, // the loaded model (www/engine.js `describe`)
  loading: true, // loading phases go to the status line
  w: 0, h: 0,
  samples: null, // RGBA of the last batch
  version: 0, // bumped whenever the samples or the photo change (the morph frames depend on them)
  photo: null, // flat latent of the encoded photo
  latents: new Map(), // interpolation endpoints by <select> value
};

function setStatus(text, progress) {
  $('status').textContent = text;
  if (progress === undefined) $('progress').removeAttribute('value');
  else $('progress').value = progress;
}

function showError(message) {
  $('error').textContent = message;
  $('error').hidden = !message;
}

const ms = (t0) => performance.now() - t0;

/** Runs a model job in the queue; errors are shown (the engine recovers a lost device itself). */
async function job(fn) {
  try {
    return await queue.run(fn);
  } catch (e) {
    showError(e?.message ?? String(e));
    return undefined;
  }
}

/** Every progress event of this page load, in order (the e2e test reads it). */
const progressLog = [];

/** Events from the engine: loading phases, and a lost WebGPU device it rebuilt. */
function onEngineEvent(ev) {
  if (ev.type === 'progress') {
    progressLog.push({ phase: ev.phase, done: ev.done, total: ev.total, at: Math.round(performance.now()) });
    document.body.dataset.phase = ev.phase;
    if (state.loading || ev.phase === 'recover') setStatus(ev.text, ev.total ? ev.done / ev.total : undefined);
  } else if (ev.type === 'recovered') {
    showInfo(ev.info);
    const where = ev.info.isGpu ? 'the model was rebuilt on a new WebGPU device' : 'now running on the CPU (slower)';
    showNotice(`The WebGPU device was lost; ${where}.`, ev.reason);
    document.body.dataset.deviceLosses = String(Number(document.body.dataset.deviceLosses || 0) + 1);
    setStatus('Ready', 1);
  }
}

function showInfo(info) {
  state.info = info;
  $('backend').textContent = info.backend + (engine.where === 'worker' ? ' · in a worker thread' : ' · on the main thread');
  document.body.dataset.backend = info.isGpu ? 'webgpu' : 'cpu';
  document.body.dataset.engine = engine.where;
}

/** A plain notice; `detail` (e.g. why WebGPU failed) goes to its tooltip and the console. */
function showNotice(text, detail) {
  $('notice').textContent = text;
  $('notice').title = detail ?? '';
  $('notice').hidden = !text;
  if (detail) console.info(`${text} ${detail}`);
}

/** Builds a model from `bytes` and makes it current; the previous one stays if this throws. */
async function useModel(bytes, cpu) {
  const info = await engine.call('load', bytes, cpu);
  showInfo(info);
  state.w = info.width;
  state.h = info.height;
  state.samples = null;
  state.photo = null;
  state.latents.clear();
  $('model-info').textContent = JSON.stringify(info.config, null, 2);
  $('edit-panel').hidden = true; // directions belong to one model (loadAttributes shows them)
  setPlaying(false);
  anim.frames = null;
  $('strip').hidden = true;
  $('morph').hidden = true;
  const notes = [];
  if (cpu && forceCpu) notes.push('CPU forced by ?cpu=1: running on the CPU, slower.');
  else if (!info.isGpu) notes.push('No WebGPU: running on the CPU, slower.');
  if (engine.where === 'main') notes.push(`The model runs on the main thread (${engine.why}): the page may pause during long jobs.`);
  showNotice(notes.join(' '), [info.gpuError, engine.why].filter(Boolean).join('; '));
  for (const id of ['original', 'reconstruction', 'interp', 'edited']) {
    const c = $(id);
    c.width = state.w;
    c.height = state.h;
    c.getContext('2d').clearRect(0, 0, state.w, state.h);
  }
  $('encode-time').textContent = '';
  fillEndpoints();
}

function fillEndpoints() {
  for (const [id, def] of [['interp-a', 's0'], ['interp-b', 's1'], ['edit-src', 's0']]) {
    const sel = $(id);
    const keep = sel.value;
    sel.replaceChildren();
    for (let i = 0; i < N_SAMPLES; i++) sel.add(new Option(`sample ${i + 1}`, `s${i}`));
    if (state.photo) sel.add(new Option('encoded photo', 'photo'));
    sel.value = [...sel.options].some((o) => o.value === keep) ? keep : def;
  }
}

async function sample() {
  const t = Number($('temperature').value);
  const seed = Number($('seed').value) >>> 0;
  await job(async () => {
    const t0 = performance.now();
    const rgba = await engine.call('sample', N_SAMPLES, t, seed);
    const took = ms(t0);
    state.samples = rgba;
    state.version++;
    for (const k of [...state.latents.keys()]) if (k.startsWith('s')) state.latents.delete(k);
    drawImages($('grid'), rgba, N_SAMPLES, state.w, state.h, GRID_COLS);
    $('sample-time').textContent =
      `${N_SAMPLES} samples in ${took.toFixed(0)} ms (${(took / N_SAMPLES).toFixed(1)} ms each) · T = ${t.toFixed(2)}, seed ${seed}`;
    document.body.dataset.sampleMs = took.toFixed(1);
    showError('');
  });
  await interpolate();
  if (!$('edit-panel').hidden) await edit();
}
const sampleLatest = latest(sample);

/** The flat latent behind an interpolation endpoint (encoding a sample is exact). */
async function endpoint(key) {
  if (key === 'photo') return state.photo;
  if (!state.latents.has(key)) {
    if (!state.samples) return null;
    const i = Number(key.slice(1));
    state.latents.set(key, await engine.call('encode', tile(state.samples, i, state.w, state.h)));
  }
  return state.latents.get(key);
}

const interpolate = latest(async () => {
  const t = Number($('interp-t').value);
  await job(async () => {
    const [ka, kb] = [$('interp-a').value, $('interp-b').value];
    const a = await endpoint(ka);
    const b = await endpoint(kb);
    if (!a || !b) return;
    const t0 = performance.now();
    const img = await engine.call('decode', await engine.call('interpolate', a, b, t));
    drawImages($('interp'), img, 1, state.w, state.h);
    $('interp').dataset.shows = `${ka} ${kb} ${t}`; // what is drawn (the e2e test waits on it)
    $('interp-time').textContent = `t = ${t.toFixed(2)} · decoded in ${ms(t0).toFixed(0)} ms`;
  });
});

/** Attribute directions shipped beside a model (`<model>.attributes.safetensors`): one slider
 * each, `z + Σ α·d` on the chosen image; the panel stays hidden when there are none. */
async function loadAttributes(modelUrl) {
  $('edit-panel').hidden = true;
  const url = modelUrl.replace(/\.safetensors$/, '.attributes.safetensors');
  let names;
  try {
    const bytes = await fetchBytes(url);
    names = await engine.call('loadAttributes', bytes);
  } catch (e) {
    console.info(`no attribute directions for ${modelUrl}: ${e?.message ?? e}`);
    return;
  }
  const box = $('sliders');
  box.replaceChildren();
  // the attributes people reach for first, then the rest in the file's (alphabetical) order
  const first = ['Smiling', 'Male', 'Young', 'Blond_Hair', 'Black_Hair', 'Eyeglasses', 'Wearing_Hat', 'Bald', 'Mustache', 'Heavy_Makeup'];
  const rank = (n) => (first.includes(n) ? first.indexOf(n) : first.length);
  const order = [...names.keys()].sort((a, b) => rank(names[a]) - rank(names[b]) || a - b);
  for (const i of order) {
    const name = names[i];
    const label = document.createElement('label');
    label.textContent = name.replace(/_/g, ' ');
    const input = Object.assign(document.createElement('input'), { type: 'range', min: -1, max: 1, step: 0.05, value: 0 });
    input.dataset.index = String(i);
    input.addEventListener('input', () => edit());
    label.append(input);
    box.append(label);
  }
  $('edit-panel').hidden = false;
}

const edit = latest(async () => {
  await job(async () => {
    const z = await endpoint($('edit-src').value);
    if (!z) return;
    // by direction index (the sliders are shown in another order)
    const alphas = [];
    for (const s of $('sliders').querySelectorAll('input')) alphas[Number(s.dataset.index)] = Number(s.value);
    const t0 = performance.now();
    const img = await engine.call('decode', await engine.call('edit', z, alphas));
    drawImages($('edited'), img, 1, state.w, state.h);
    $('edited').dataset.shows = alphas.join(' '); // the weights drawn (the e2e test waits on it)
    $('edit-time').textContent = `decoded in ${ms(t0).toFixed(0)} ms`;
  });
});

const STRIP = 8;

/** The whole interpolation as one strip of STRIP frames (t = 0 … 1), decoded in one batch. */
async function renderStrip() {
  await job(async () => {
    const a = await endpoint($('interp-a').value);
    const b = await endpoint($('interp-b').value);
    if (!a || !b) return;
    const t0 = performance.now();
    const img = await engine.call('morph', a, b, STRIP);
    drawImages($('strip'), img, STRIP, state.w, state.h, STRIP);
    $('strip').hidden = false;
    $('interp-time').textContent = `morph of ${STRIP} frames decoded in ${ms(t0).toFixed(0)} ms`;
  });
}

/** A picture file into the crop box (which then encodes its default square). */
/** The morph as an animation: ANIM frames (one batched decode), played back and forth. */
const ANIM = 16;
const FPS = 12;
const anim = { frames: null, key: '', playing: false, loading: false, i: 0, dir: 1, last: 0 };
const morphKey = () => `${$('interp-a').value}|${$('interp-b').value}|${state.version}`;

async function morphFrames() {
  const key = morphKey();
  if (anim.frames && anim.key === key) return anim.frames;
  anim.loading = true;
  try {
    const frames = await job(async () => {
      const a = await endpoint($('interp-a').value);
      const b = await endpoint($('interp-b').value);
      return a && b ? engine.call('morph', a, b, ANIM) : null;
    });
    if (frames) Object.assign(anim, { frames, key, i: 0, dir: 1 });
    return frames;
  } finally {
    anim.loading = false;
  }
}

function setPlaying(on) {
  anim.playing = on;
  $('morph-play').textContent = on ? '❚❚ Pause' : '▶ Play the morph';
  $('morph-play').setAttribute('aria-pressed', String(on));
  document.body.dataset.morphPlaying = on ? '1' : '0';
}

async function toggleMorph() {
  if (anim.playing) return setPlaying(false);
  setPlaying(true);
  if (!(await morphFrames())) return setPlaying(false);
  $('morph').hidden = false;
  anim.last = 0;
  requestAnimationFrame(tick);
}

function tick(t) {
  if (!anim.playing) return;
  if (t - anim.last >= 1000 / FPS) {
    anim.last = t;
    const size = state.w * state.h * 4;
    drawImages($('morph'), anim.frames.subarray(anim.i * size, (anim.i + 1) * size), 1, state.w, state.h);
    if (anim.i + anim.dir < 0 || anim.i + anim.dir >= ANIM) anim.dir = -anim.dir;
    anim.i += anim.dir;
    // new endpoints while playing: fetch their frames, keep playing
    if (anim.key !== morphKey() && !anim.loading) morphFrames();
  }
  requestAnimationFrame(tick);
}

async function encodeFile(file) {
  if (!file || !state.info) return;
  showError('');
  let bmp;
  try {
    bmp = await createImageBitmap(file);
  } catch (e) {
    showError(`could not read ${file.name} as an image: ${e?.message ?? e}`);
    return;
  }
  cropper.setSource(bmp, bmp.width, bmp.height, file.name);
  bmp.close();
}

/** Encodes the crop box's square: the input as the model sees it, and decode(encode(x)). */
const encodeCrop = latest(async () => {
  if (!cropper.ready || !state.info) return;
  $('crop-help').hidden = false;
  const pixels = cropper.pixels(state.w, state.h);
  const { x, y, s } = cropper.rect;
  const file = { name: `${cropper.name} [${s}x${s} at ${x},${y}]` };
  await job(async () => {
    drawImages($('original'), await engine.call('prepareImage', pixels), 1, state.w, state.h);
    const t0 = performance.now();
    const z = await engine.call('encode', pixels);
    const tEnc = ms(t0);
    const back = await engine.call('decode', z);
    drawImages($('reconstruction'), back, 1, state.w, state.h);
    state.photo = z;
    state.version++;
    $('encode-time').textContent = `${file.name}: encoded in ${tEnc.toFixed(0)} ms, decoded in ${(ms(t0) - tEnc).toFixed(0)} ms`;
    document.body.dataset.encodeMs = tEnc.toFixed(1);
  });
  fillEndpoints();
  if ($('interp-a').value === 'photo' || $('interp-b').value === 'photo') await interpolate();
});

const cropper = new Cropper($('crop'), () => encodeCrop());

/** The camera: a preview, and Capture sends the frame to the crop box. */
let cameraStream = null;
async function startCamera() {
  showError('');
  try {
    cameraStream = await openCamera($('camera-video'));
    $('camera').hidden = false;
  } catch (e) {
    showError(`The camera could not be opened: ${e?.message ?? e}`);
  }
}
function stopCamera() {
  closeCamera($('camera-video'), cameraStream);
  cameraStream = null;
  $('camera').hidden = true;
}

async function loadWeightsFile(file) {
  if (!file) return;
  showError('');
  setStatus(`Loading ${file.name}…`);
  const bytes = new Uint8Array(await file.arrayBuffer());
  state.loading = true;
  const ok = await job(async () => {
    try {
      await useModel(bytes, forceCpu);
      return true;
    } catch (e) {
      throw new Error(`Could not load ${file.name}; the previous model stays loaded.\n${e?.message ?? e}`);
    }
  });
  if (ok) {
    await sample();
    await encodeCrop(); // the photo in the crop box, through the new model
  }
  state.loading = false;
  setStatus(ok ? `Loaded ${file.name}` : 'Ready');
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
  $('interp-t').addEventListener('input', () => interpolate());
  $('interp-a').addEventListener('change', () => interpolate());
  $('interp-b').addEventListener('change', () => interpolate());
  $('strip-render').addEventListener('click', () => renderStrip());
  $('morph-play').addEventListener('click', () => toggleMorph());
  $('edit-src').addEventListener('change', () => edit());
  $('edit-reset').addEventListener('click', () => {
    for (const s of $('sliders').querySelectorAll('input')) s.value = '0';
    edit();
  });
  $('photo-input').addEventListener('change', (e) => {
    encodeFile(e.target.files[0]);
    e.target.value = ''; // picking the same file again reloads it
  });
  $('camera-offer').hidden = !cameraAvailable();
  $('camera-open').addEventListener('click', () => startCamera());
  $('camera-close').addEventListener('click', () => stopCamera());
  $('camera-capture').addEventListener('click', () => {
    const v = $('camera-video');
    if (v.videoWidth) cropper.setSource(grabFrame(v), v.videoWidth, v.videoHeight, 'camera');
  });
  $('weights-input').addEventListener('change', (e) => loadWeightsFile(e.target.files[0]));
  const drop = $('drop-zone');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    encodeFile(e.dataTransfer.files[0]);
  });
}

async function boot() {
  wire();
  const t0 = performance.now();
  engine = await startEngine({ useWorker, onEvent: onEngineEvent });
  document.body.dataset.engine = engine.where;
  // test hooks (tests/e2e): the engine, and the progress events so far
  window.glowDebug = { call: (m, ...a) => engine.call(m, ...a), progress: progressLog, where: engine.where };
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
    setStatus('Building the model…');
    await queue.run(() => useModel(bytes, forceCpu));
    await loadAttributes(defaultModel);
  } catch (e) {
    setStatus('No model loaded');
    showError(`Could not load the default model (${defaultModel}): ${e?.message ?? e}\nLoad a .safetensors file below.`);
    document.body.dataset.state = 'error';
    return;
  }
  setStatus(state.info.isGpu ? 'Compiling shaders and sampling…' : 'Sampling…');
  await sample();
  state.loading = false;
  // performance.now() counts from navigation: the time to first sample includes the download.
  document.body.dataset.firstSampleMs = performance.now().toFixed(0);
  setStatus(`Ready: first samples ${performance.now().toFixed(0)} ms after opening the page (download, build and first batch: ${ms(t0).toFixed(0)} ms)`);
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
      await cache.add(defaultModel.replace(/\.safetensors$/, '.attributes.safetensors')).catch(() => {});
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

// "Save PNG": the canvas as drawn (the model's resolution), downloaded from a local blob.
for (const button of document.querySelectorAll('button.save-png')) {
  button.addEventListener('click', () => {
    $(button.dataset.canvas).toBlob((blob) => {
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = `glow-${button.dataset.canvas}.png`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    }, 'image/png');
  });
}

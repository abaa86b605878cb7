// End-to-end test of the web page in headless Chromium (run by scripts/test-e2e.sh, which builds
// the package and serves the repository root). Environment: BASE_URL, OUT_DIR (screenshots),
// USER_DATA_DIR (fresh profile), CHROMIUM, DATA_DIR (../shared/data), GLOW_E2E_MODEL (optional
// model path under the root instead of www/models/default.safetensors).
import { createReadStream, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { chromium } from 'playwright-core';

const env = (k, d) => process.env[k] || d;
const BASE = env('BASE_URL', 'http://127.0.0.1:8080');
const OUT = env('OUT_DIR', 'test-output/e2e');
const DATA = env('DATA_DIR', '../shared/data');
const MODEL = env('GLOW_E2E_MODEL', '');
const TIMEOUT = Number(env('E2E_TIMEOUT_MS', '300000'));

const ARGS = [
  '--enable-unsafe-webgpu', // WebGPU in headless Chromium (SwiftShader adapter)
  '--no-sandbox',
  '--no-first-run',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-ui-for-media-stream', // camera: allowed without a prompt,
  '--use-fake-device-for-media-stream', // a synthetic video device
];

let failures = 0;
const results = {};
function check(ok, what, detail = '') {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? `: ${detail}` : ''}`);
  if (!ok) failures++;
}

const url = (q = {}) => {
  const p = new URLSearchParams(q);
  if (MODEL) p.set('model', MODEL);
  const s = p.toString();
  return `${BASE}/index.html${s ? `?${s}` : ''}`;
};

/** Pixels of a canvas (by id) as a plain array. */
const pixels = (page, id) =>
  page.evaluate((id) => {
    const c = document.getElementById(id);
    return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data);
  }, id);

const version = (page, id) => page.evaluate((id) => Number(document.getElementById(id).dataset.version || 0), id);

/** Waits until canvas `id` has been drawn more than `after` times. */
const drawn = (page, id, after) =>
  page.waitForFunction(([id, v]) => Number(document.getElementById(id).dataset.version || 0) > v, [id, after], {
    timeout: TIMEOUT,
  });

/** Standard deviation of the RGB values (alpha skipped). */
function spread(px) {
  let s = 0, s2 = 0, n = 0;
  for (let i = 0; i < px.length; i++) {
    if (i % 4 === 3) continue;
    s += px[i]; s2 += px[i] * px[i]; n++;
  }
  const m = s / n;
  return Math.sqrt(Math.max(0, s2 / n - m * m));
}

const differing = (a, b) => a.reduce((k, v, i) => k + (v !== b[i] ? 1 : 0), 0);

/** The encode panel's input and reconstruction: values outside decode's one bin below x. */
async function roundTrip(page, step) {
  const orig = await pixels(page, 'original');
  const rec = await pixels(page, 'reconstruction');
  let maxDiff = 0, outside = 0;
  for (let i = 0; i < orig.length; i++) {
    const d = orig[i] - rec[i];
    maxDiff = Math.max(maxDiff, Math.abs(d));
    if (d < 0 || d >= step) outside++; // decode gives the bin's floor: 0 <= x - x' < step
  }
  return { orig, maxDiff, outside };
}

const cropRect = (page) =>
  page.evaluate(() => {
    const d = document.getElementById('crop-box').dataset;
    return { x: Number(d.x), y: Number(d.y), s: Number(d.s) };
  });

/** Drags from the centre of `selector` by (dx, dy) CSS pixels with the mouse. */
async function drag(page, selector, dx, dy) {
  const b = await page.locator(selector).boundingBox();
  const x = b.x + b.width / 2, y = b.y + b.height / 2;
  await page.mouse.move(x, y);
  await page.mouse.down();
  await page.mouse.move(x + dx / 2, y + dy / 2, { steps: 3 });
  await page.mouse.move(x + dx, y + dy, { steps: 3 });
  await page.mouse.up();
}

async function ready(page, shot) {
  await page.waitForFunction(() => document.body.dataset.state !== 'loading', null, { timeout: TIMEOUT });
  const st = await page.evaluate(() => ({
    state: document.body.dataset.state,
    error: document.getElementById('error').textContent,
  }));
  await page.screenshot({ path: join(OUT, shot), fullPage: true });
  if (st.state !== 'ready') throw new Error(`page did not get ready: ${st.error}`);
}

/** A static server of the repository root on a free port (the offline test stops it). */
function staticServer() {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css',
    '.wasm': 'application/wasm', '.png': 'image/png', '.json': 'application/json' };
  const root = process.cwd();
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^\/+/, '');
    const file = join(root, path === '' || path.endsWith('/') ? `${path}index.html` : path);
    let st;
    try {
      st = statSync(file);
    } catch {
      st = null;
    }
    if (!file.startsWith(root) || !st?.isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': types[extname(file)] ?? 'application/octet-stream', 'Content-Length': st.size });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Offline: load once (the service worker caches the page, wasm and model), go offline with
 * the server stopped, reload: the page must load and sample from its cache. */
async function offlineTest() {
  const server = await staticServer();
  const base = `http://127.0.0.1:${server.address().port}`;
  const context = await chromium.launchPersistentContext(`${env('USER_DATA_DIR', '/tmp/glow-e2e-profile')}-offline`, {
    executablePath: env('CHROMIUM', '/usr/bin/chromium'),
    headless: true,
    args: ARGS,
    viewport: { width: 1200, height: 1100 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  try {
    const q = MODEL ? `?model=${encodeURIComponent(MODEL)}` : '';
    await page.goto(`${base}/index.html${q}`, { timeout: TIMEOUT });
    await ready(page, '13-online.png');
    await page.waitForFunction(() => document.body.dataset.offline === 'ready', null, { timeout: TIMEOUT });
    check(await page.isVisible('#offline'), 'the page says it works offline once cached');
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await context.setOffline(true);
    const t0 = Date.now();
    await page.reload({ timeout: TIMEOUT });
    await ready(page, '14-offline.png');
    const st = await page.evaluate(() => ({
      controlled: !!navigator.serviceWorker.controller,
      online: navigator.onLine,
      backend: document.body.dataset.backend,
      engine: document.body.dataset.engine,
    }));
    check(st.controlled && !st.online, 'offline, the reload is served by the service worker', JSON.stringify(st));
    check(st.backend === 'webgpu' && st.engine === 'worker' && spread(await pixels(page, 'grid')) > 2, 'and the page samples (WebGPU, in its worker)');
    results.offline_reload_first_sample_ms = Date.now() - t0;
    check(pageErrors.length === 0, 'no page errors offline', pageErrors.join(' | '));
  } catch (e) {
    check(false, 'offline run reached the end', e.message);
    await page.screenshot({ path: join(OUT, 'failure-offline.png'), fullPage: true }).catch(() => {});
  } finally {
    await context.close();
    server.close();
  }
}

/** Chromium without --enable-unsafe-webgpu has no adapter here: the page must fall back by itself. */
async function noWebGpu() {
  const context = await chromium.launchPersistentContext(`${env('USER_DATA_DIR', '/tmp/glow-e2e-profile')}-nogpu`, {
    executablePath: env('CHROMIUM', '/usr/bin/chromium'),
    headless: true,
    args: ARGS.filter((a) => a !== '--enable-unsafe-webgpu'),
    viewport: { width: 1200, height: 1100 },
    acceptDownloads: true,
    serviceWorkers: 'block',
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  try {
    await page.goto(url(), { timeout: TIMEOUT });
    await ready(page, '08-no-webgpu.png');
    const st = await page.evaluate(async () => ({
      hasAdapter: !!(navigator.gpu && (await navigator.gpu.requestAdapter())),
      backend: document.body.dataset.backend,
      notice: document.getElementById('notice').hidden ? '' : document.getElementById('notice').textContent,
    }));
    if (st.hasAdapter) {
      console.log('skip no-WebGPU fallback: this Chromium has a WebGPU adapter even without the flag');
    } else {
      check(st.backend === 'cpu', 'without WebGPU the page runs on the CPU');
      check(/no WebGPU/i.test(st.notice), 'and says so', st.notice);
      check(spread(await pixels(page, 'grid')) > 2, 'and samples');
    }
    check(pageErrors.length === 0, 'no page errors without WebGPU', pageErrors.join(' | '));
  } catch (e) {
    check(false, 'no-WebGPU run reached the end', e.message);
  } finally {
    await context.close();
  }
}

/** The longest main-thread pause (ms) while `n` samples are drawn on the engine, and the call's time. */
const pauseDuring = (page, n) =>
  page.evaluate(async (n) => {
    let last = performance.now();
    let maxGap = 0;
    const beat = setInterval(() => {
      const t = performance.now();
      maxGap = Math.max(maxGap, t - last);
      last = t;
    }, 5);
    const t0 = performance.now();
    await window.glowDebug.call('sample', n, 0.7, 99);
    const took = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 30));
    clearInterval(beat);
    return { took, maxGap };
  }, n);

/** The engine in a worker keeps the main thread free; on the main thread it does not. */
async function responsiveness(page) {
  // time to first samples (WebGPU) with the model in the worker and on the main thread
  for (const [where, q] of [['worker', {}], ['main', { worker: '0' }]]) {
    await page.goto(url(q), { timeout: TIMEOUT });
    await ready(page, `09-first-sample-${where}.png`);
    results[`first_sample_ms_${where}`] = Number(await page.evaluate(() => document.body.dataset.firstSampleMs));
  }
  const N = 64;
  await page.goto(url({ cpu: '1' }), { timeout: TIMEOUT });
  await ready(page, '09-cpu-worker.png');
  check((await page.evaluate(() => document.body.dataset.engine)) === 'worker', 'the model runs in a worker');
  const w = await pauseDuring(page, N);
  await page.goto(url({ cpu: '1', worker: '0' }), { timeout: TIMEOUT });
  await ready(page, '10-cpu-main-thread.png');
  const st = await page.evaluate(() => ({ engine: document.body.dataset.engine, notice: document.getElementById('notice').textContent }));
  check(st.engine === 'main' && /main thread/.test(st.notice), '?worker=0 runs on the main thread and says so', st.notice);
  const m = await pauseDuring(page, N);
  console.log(`${N} CPU samples: worker ${w.took.toFixed(0)} ms (longest main-thread pause ${w.maxGap.toFixed(0)} ms), ` +
    `main thread ${m.took.toFixed(0)} ms (pause ${m.maxGap.toFixed(0)} ms)`);
  // the measure can tell: on the main thread the page freezes for (nearly) the whole call
  check(m.maxGap > 0.8 * m.took, 'on the main thread a long call freezes the page', `${m.maxGap.toFixed(0)} of ${m.took.toFixed(0)} ms`);
  check(w.took > 200 && w.maxGap < Math.max(100, w.took / 4), 'in the worker the main thread stays responsive',
    `longest pause ${w.maxGap.toFixed(0)} ms during ${w.took.toFixed(0)} ms`);
  Object.assign(results, { cpu64_worker_ms: w.took, cpu64_worker_pause_ms: w.maxGap, cpu64_main_ms: m.took, cpu64_main_pause_ms: m.maxGap });
}

/** When the worker script cannot load, the page runs the model on the main thread and says so. */
async function workerFails(context) {
  const page = await context.newPage();
  await page.route('**/www/worker.js', (r) => r.abort());
  try {
    await page.goto(url(), { timeout: TIMEOUT });
    await ready(page, '11-worker-failed.png');
    const st = await page.evaluate(() => ({ engine: document.body.dataset.engine, notice: document.getElementById('notice').textContent }));
    check(st.engine === 'main' && /main thread/.test(st.notice), 'a worker that fails to start falls back to the main thread and says so', st.notice);
    check(spread(await pixels(page, 'grid')) > 2, 'and samples');
  } finally {
    await page.close();
  }
}

async function run() {
  const context = await chromium.launchPersistentContext(env('USER_DATA_DIR', '/tmp/glow-e2e-profile'), {
    executablePath: env('CHROMIUM', '/usr/bin/chromium'),
    headless: true,
    args: ARGS,
    viewport: { width: 1200, height: 1100 },
    serviceWorkers: 'block', // the offline test has its own context and server
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  // Nothing may come from another origin.
  const foreign = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(BASE) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) foreign.push(r.url());
  });

  try {
    // --- WebGPU: load (progress: download, wasm, device, pipelines), sample
    let slowed = false; // the first model download only
    await page.route('**/*.safetensors', async (route) => {
      if (!slowed) {
        slowed = true;
        await new Promise((r) => setTimeout(r, 1500));
      }
      await route.continue();
    });
    await page.goto(url(), { timeout: TIMEOUT });
    // read the status in the same task that sees the download phase (a loaded machine may
    // finish the download before a separate read)
    const dl = await (
      await page.waitForFunction(
        () =>
          document.body.dataset.phase === 'download' && {
            text: document.getElementById('status').textContent,
            bar: getComputedStyle(document.getElementById('progress')).visibility,
          },
        null,
        { timeout: TIMEOUT, polling: 'raf' },
      )
    ).jsonValue();
    await page.screenshot({ path: join(OUT, '00a-progress-download.png'), fullPage: true });
    check(/Downloading model/.test(dl.text) && dl.bar === 'visible', 'a progress bar shows the model download', dl.text);
    await page.waitForFunction(() => ['pipelines', 'ready'].includes(document.body.dataset.phase) || document.body.dataset.state !== 'loading',
      null, { timeout: TIMEOUT });
    await page.screenshot({ path: join(OUT, '00b-progress-shaders.png'), fullPage: true });
    await ready(page, '01-loaded-webgpu.png');
    const phases = await page.evaluate(() => window.glowDebug.progress);
    const order = [...new Set(phases.map((p) => p.phase))];
    const pipes = phases.filter((p) => p.phase === 'pipelines');
    const dlDone = phases.find((p) => p.phase === 'download' && p.total > 0 && p.done === p.total);
    check(order.slice(0, 4).join() === 'download,wasm,device,pipelines', 'loading goes through its phases in order', order.join(' → '));
    check(!!dlDone && pipes.length > 0 && pipes.every((p) => p.done >= 1 && p.done <= p.total) &&
      pipes.some((p) => p.done === p.total), 'progress counts the download and the pipelines built / total',
      `${dlDone?.total} bytes; ${pipes.length} pipeline events, first ${pipes[0]?.done}/${pipes[0]?.total}`);
    check((await page.evaluate(() => document.body.dataset.engine)) === 'worker', 'the model runs in a worker thread');
    // when each loading phase began (ms after navigation), the first of each kind
    results.load_phases_ms = Object.fromEntries(order.map((ph) => [ph, phases.find((p) => p.phase === ph).at]));
    results.load_phases_ms.ready = await page.evaluate(() => Number(document.body.dataset.firstSampleMs));
    const info = await page.evaluate(() => ({
      backend: document.body.dataset.backend,
      label: document.getElementById('backend').textContent,
      cfg: JSON.parse(document.getElementById('model-info').textContent),
      firstSampleMs: Number(document.body.dataset.firstSampleMs),
      sampleMs: Number(document.body.dataset.sampleMs),
    }));
    const { cfg } = info;
    console.log(`model ${cfg.image_width}x${cfg.image_height}x${cfg.image_channels}, n_bits ${cfg.n_bits}, on ${info.label}`);
    check(info.backend === 'webgpu', 'runs on WebGPU', info.label);
    results.webgpu_ms_per_sample = info.sampleMs / 8;

    const grid1 = await pixels(page, 'grid');
    check(grid1.length === 4 * 8 * cfg.image_width * cfg.image_height, 'grid holds 8 samples', `${grid1.length} bytes`);
    check(spread(grid1) > 2, 'samples are not uniform', `std ${spread(grid1).toFixed(1)}`);

    let v = await version(page, 'grid');
    await page.fill('#seed', '12345');
    await page.dispatchEvent('#seed', 'change');
    await drawn(page, 'grid', v);
    const grid2 = await pixels(page, 'grid');
    check(differing(grid1, grid2) > grid1.length / 20, 'another seed gives other samples', `${differing(grid1, grid2)} bytes differ`);
    await page.screenshot({ path: join(OUT, '02-resampled.png'), fullPage: true });

    // --- Encode: the reconstruction is the input up to one quantisation step
    const grey = cfg.image_channels === 1;
    const dir = grey ? join(DATA, 'mnist', 'test') : join(DATA, 'celeba64', 'test');
    const photo = join(dir, readdirSync(dir).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort()[0]);
    v = await version(page, 'reconstruction');
    await page.setInputFiles('#photo-input', photo);
    await drawn(page, 'reconstruction', v);
    const step = 2 ** (8 - cfg.n_bits);
    const { orig, maxDiff, outside } = await roundTrip(page, step);
    check(spread(orig) > 2, `photo ${photo} reached the page`, `std ${spread(orig).toFixed(1)}`);
    check(outside === 0, `decode(encode(x)) within one step (${step}) of x`, `max |diff| ${maxDiff}, ${outside} values outside`);
    results.encode_ms = Number(await page.evaluate(() => document.body.dataset.encodeMs));
    await page.screenshot({ path: join(OUT, '03-encoded.png'), fullPage: true });

    // --- The crop box: starts as the largest centred square; resizing and moving it re-encode
    const photoSize = await page.evaluate(() => [document.getElementById('crop-src').width, document.getElementById('crop-src').height]);
    let r0 = await cropRect(page);
    check(await page.isVisible('#crop-box') && r0.s === Math.min(...photoSize), 'a crop box covers the largest square of the photo',
      `${JSON.stringify(r0)} on ${photoSize.join('x')}`);
    const boxPx = (await page.locator('#crop-box').boundingBox()).width;
    v = await version(page, 'reconstruction');
    await drag(page, '.crop-handle', -0.35 * boxPx, -0.35 * boxPx);
    await drawn(page, 'reconstruction', v);
    const r1 = await cropRect(page);
    const rt1 = await roundTrip(page, step);
    check(r1.s < r0.s && r1.x === r0.x && r1.y === r0.y && differing(orig, rt1.orig) > 0,
      'dragging the corner shrinks the crop and changes the input', `${JSON.stringify(r0)} -> ${JSON.stringify(r1)}`);
    check(rt1.outside === 0, 'the resized crop reconstructs within one step', `max |diff| ${rt1.maxDiff}`);
    await page.screenshot({ path: join(OUT, '03a-crop-resized.png'), fullPage: true });
    v = await version(page, 'reconstruction');
    await drag(page, '#crop-box', 0.3 * boxPx, 0.2 * boxPx);
    await drawn(page, 'reconstruction', v);
    const r2 = await cropRect(page);
    const rt2 = await roundTrip(page, step);
    check(r2.s === r1.s && r2.x > r1.x && r2.y > r1.y && differing(rt1.orig, rt2.orig) > 0,
      'dragging the square moves the crop and changes the input', `${JSON.stringify(r1)} -> ${JSON.stringify(r2)}`);
    check(rt2.outside === 0, 'the moved crop reconstructs within one step', `max |diff| ${rt2.maxDiff}`);
    await page.screenshot({ path: join(OUT, '03b-crop-moved.png'), fullPage: true });
    // the keyboard: arrows move the square, shift + arrows resize it
    v = await version(page, 'reconstruction');
    await page.focus('#crop-box');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('Shift+ArrowDown');
    await drawn(page, 'reconstruction', v);
    const r3 = await cropRect(page);
    // both key presses encoded: the caption names the final square
    await page.waitForFunction((r) => document.getElementById('encode-time').textContent.includes(`[${r.s}x${r.s} at ${r.x},${r.y}]`),
      r3, { timeout: TIMEOUT });
    check(r3.x < r2.x && r3.y === r2.y && r3.s > r2.s, 'arrow keys move and resize the crop', `${JSON.stringify(r2)} -> ${JSON.stringify(r3)}`);
    check((await roundTrip(page, step)).outside === 0, 'and it reconstructs within one step');

    // --- The camera (Chromium's fake device) feeds the same crop box
    check(await page.isVisible('#camera-open'), 'the page offers the camera');
    await page.click('#camera-open');
    await page.waitForFunction(() => document.getElementById('camera-video').videoWidth > 0, null, { timeout: TIMEOUT });
    await page.waitForTimeout(300); // a few frames of the moving test pattern
    await page.screenshot({ path: join(OUT, '03c-camera.png'), fullPage: true });
    v = await version(page, 'reconstruction');
    await page.click('#camera-capture');
    await drawn(page, 'reconstruction', v);
    const cam = await page.evaluate(() => ({
      video: [document.getElementById('camera-video').videoWidth, document.getElementById('camera-video').videoHeight],
      src: [document.getElementById('crop-src').width, document.getElementById('crop-src').height],
    }));
    const rc = await cropRect(page);
    const rtc = await roundTrip(page, step);
    check(cam.src.join() === cam.video.join() && rc.s === Math.min(...cam.video), 'a captured camera frame goes to the crop box',
      `frame ${cam.src.join('x')}, crop ${JSON.stringify(rc)}`);
    // The issue's bound, |x - x'| <= one step: a camera frame is far outside the training data, and
    // f32 on the device may then miss decode's half-bin margin on a few values (seen: 1 level).
    check(spread(rtc.orig) > 2 && rtc.maxDiff <= step, 'the camera crop encodes and reconstructs within one step',
      `std ${spread(rtc.orig).toFixed(1)}, max |diff| ${rtc.maxDiff}, ${rtc.outside} of ${rtc.orig.length} values not exact`);
    await page.click('#camera-close');
    check(await page.isHidden('#camera'), 'the camera closes');
    await page.screenshot({ path: join(OUT, '03d-camera-captured.png'), fullPage: true });
    // back to the photo for the interpolation below
    v = await version(page, 'reconstruction');
    await page.setInputFiles('#photo-input', photo);
    await drawn(page, 'reconstruction', v);

    // --- Interpolate: moving the slider changes the image; the photo is an endpoint
    const interp1 = await pixels(page, 'interp');
    for (const [t, shot] of [['0.1', '04-interp-0.1.png'], ['0.9', '05-interp-0.9.png']]) {
      v = await version(page, 'interp');
      await page.fill('#interp-t', t);
      await page.dispatchEvent('#interp-t', 'input');
      await drawn(page, 'interp', v);
      await page.screenshot({ path: join(OUT, shot), fullPage: true });
    }
    const interp2 = await pixels(page, 'interp');
    check(differing(interp1, interp2) > 0, 'interpolation slider changes the image', `${differing(interp1, interp2)} bytes differ`);
    await page.selectOption('#interp-b', 'photo');
    // (a draw already under way when the endpoint changes still shows the old pair)
    await page.waitForFunction(() => document.getElementById('interp').dataset.shows?.split(' ')[1] === 'photo', null, { timeout: TIMEOUT });
    const interp3 = await pixels(page, 'interp');
    check(differing(interp2, interp3) > 0, 'the encoded photo can be an endpoint');

    // --- The whole morph as a strip: 8 frames from one endpoint to the other
    v = await version(page, 'strip');
    await page.click('#strip-render');
    await drawn(page, 'strip', v);
    const strip = await pixels(page, 'strip');
    const frame = 4 * cfg.image_width * cfg.image_height;
    const stripOk = strip.length === 8 * frame;
    const rowFrames = [];
    if (stripOk) {
      // frames sit side by side in one row: frame i is columns [i·w, (i+1)·w) of every line
      for (let i = 0; i < 8; i++) {
        const f = [];
        for (let y = 0; y < cfg.image_height; y++) {
          const o = (y * 8 * cfg.image_width + i * cfg.image_width) * 4;
          f.push(...strip.slice(o, o + 4 * cfg.image_width));
        }
        rowFrames.push(f);
      }
    }
    check(stripOk && differing(rowFrames[0], rowFrames[7]) > 0 && differing(rowFrames[3], rowFrames[4]) > 0,
      'the morph strip renders 8 changing frames', `${strip.length} bytes`);
    await page.screenshot({ path: join(OUT, '05a-strip.png'), fullPage: true });

    // --- The morph as an animation: Play cycles through changing frames, Pause stops it
    await page.click('#morph-play');
    v = await version(page, 'morph');
    await drawn(page, 'morph', v);
    const seen = [await pixels(page, 'morph')];
    for (let k = 0; k < 5; k++) {
      v = await version(page, 'morph');
      await drawn(page, 'morph', v);
      seen.push(await pixels(page, 'morph'));
    }
    const changes = seen.slice(1).filter((f, k) => differing(f, seen[k]) > 0).length;
    check(await page.isVisible('#morph') && changes >= 4, 'Play animates the morph', `${changes} of 5 frame steps changed the image`);
    await page.screenshot({ path: join(OUT, '05c-morph-playing.png'), fullPage: true });
    await page.click('#morph-play');
    const paused = await version(page, 'morph');
    await page.waitForTimeout(600);
    const st = await page.evaluate(() => ({ playing: document.body.dataset.morphPlaying, label: document.getElementById('morph-play').textContent }));
    check((await version(page, 'morph')) === paused && st.playing === '0' && /Play/.test(st.label), 'Pause stops it', st.label);

    // --- Edit: attribute sliders (directions shipped beside the default model) change the image
    if (!MODEL && !(await page.isHidden('#edit-panel'))) {
      await drawn(page, 'edited', 0);
      const before = await pixels(page, 'edited');
      v = await version(page, 'edited');
      const labels = await page.$$eval('#sliders label', (ls) => ls.map((l) => l.textContent));
      if (labels.length === 40) {
        check(labels[0] === 'Smiling' && labels.includes('Eyeglasses') && labels.includes('Blond Hair'), 'the face model offers its 40 CelebA attributes, Smiling first', labels.slice(0, 6).join(', '));
      }
      // the first slider shown; `shows` lists the weights by direction index
      const idx = await page.$eval('#sliders input', (el) => { el.value = '1'; el.dispatchEvent(new Event('input')); return Number(el.dataset.index); });
      await drawn(page, 'edited', v);
      await page.waitForFunction((i) => document.getElementById('edited').dataset.shows?.split(' ')[i] === '1', idx, { timeout: TIMEOUT });
      const after = await pixels(page, 'edited');
      check(differing(before, after) > 0, 'an attribute slider changes the image', `${differing(before, after)} bytes differ`);
      await page.screenshot({ path: join(OUT, '05b-edit.png'), fullPage: true });
    } else {
      check(!!MODEL, 'the default model ships attribute directions (edit panel shown)');
    }

    // --- Save PNG: the shown image downloads as a PNG of the model's size
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 30000 }),
      page.click('button.save-png[data-canvas="interp"]'),
    ]);
    const saved = join(OUT, 'saved-interp.png');
    await download.saveAs(saved);
    const png = readFileSync(saved);
    const pngW = png.readUInt32BE(16);
    check(png.subarray(1, 4).toString() === 'PNG' && pngW === cfg.image_width, 'Save PNG downloads the shown image', `${download.suggestedFilename()} ${pngW}px`);

    // --- A bad weights file: readable message, previous model kept
    await page.setInputFiles('#weights-input', {
      name: 'broken.safetensors',
      mimeType: 'application/octet-stream',
      buffer: Buffer.from('this is not a safetensors file at all'),
    });
    await page.waitForFunction(() => !document.getElementById('error').hidden, null, { timeout: TIMEOUT });
    const err = await page.textContent('#error');
    check(/broken\.safetensors/.test(err) && /bad weights/.test(err), 'bad weights file gives a readable message', err.replace(/\n/g, ' | '));
    v = await version(page, 'grid');
    await page.fill('#seed', '7');
    await page.dispatchEvent('#seed', 'change');
    await drawn(page, 'grid', v);
    check(spread(await pixels(page, 'grid')) > 2, 'the previous model still samples');
    await page.screenshot({ path: join(OUT, '06-bad-weights.png'), fullPage: true });

    // --- A good weights file through the same input (the model itself) replaces the model
    const modelFile = MODEL || 'www/models/default.safetensors';
    v = await version(page, 'grid');
    await page.setInputFiles('#weights-input', modelFile);
    await drawn(page, 'grid', v);
    await page.waitForFunction(() => /^Loaded /.test(document.getElementById('status').textContent), null, { timeout: TIMEOUT });
    const status = await page.textContent('#status');
    const loadErr = (await page.isHidden('#error')) ? '' : await page.textContent('#error');
    check(/^Loaded /.test(status) && !loadErr, 'a user weights file loads', `${status} ${loadErr}`);

    // --- A lost WebGPU device: reported plainly, rebuilt on a new device, the page samples again
    v = await version(page, 'grid');
    const destroyed = await page.evaluate(() => window.glowDebug.call('debugDestroyDevice'));
    check(destroyed === true, 'the test hook destroys the WebGPU device');
    await page.waitForFunction(() => document.body.dataset.deviceLosses === '1', null, { timeout: TIMEOUT });
    await page.fill('#seed', '8');
    await page.dispatchEvent('#seed', 'change');
    await drawn(page, 'grid', v);
    const lost = await page.evaluate(() => ({
      backend: document.body.dataset.backend,
      notice: document.getElementById('notice').textContent,
      error: document.getElementById('error').hidden ? '' : document.getElementById('error').textContent,
    }));
    check(/device was lost/.test(lost.notice) && lost.backend === 'webgpu' && !lost.error,
      'after a lost device the page says so and runs on a new WebGPU device', `${lost.notice} ${lost.error}`);
    check(spread(await pixels(page, 'grid')) > 2, 'and samples again');
    await page.screenshot({ path: join(OUT, '12-device-lost.png'), fullPage: true });
    // a loss during a call: the call is retried on the rebuilt device
    const during = await page.evaluate(async () => {
      await window.glowDebug.call('debugDestroyDevice');
      const img = await window.glowDebug.call('sample', 2, 0.7, 5);
      return img.length;
    });
    check(during === 2 * 4 * cfg.image_width * cfg.image_height, 'a call made right after the loss still returns its images', `${during} bytes`);
    // no new WebGPU device to be had: the page moves to the CPU, says so, and keeps working
    v = await version(page, 'grid');
    await page.evaluate(() => window.glowDebug.call('debugLoseDeviceToCpu'));
    await page.waitForFunction(() => document.body.dataset.deviceLosses === '3', null, { timeout: TIMEOUT });
    await page.fill('#seed', '9');
    await page.dispatchEvent('#seed', 'change');
    await drawn(page, 'grid', v);
    const toCpu = await page.evaluate(() => ({ backend: document.body.dataset.backend, notice: document.getElementById('notice').textContent,
      label: document.getElementById('backend').textContent }));
    check(toCpu.backend === 'cpu' && /device was lost; now running on the CPU/.test(toCpu.notice) && /^CPU/.test(toCpu.label),
      'a loss without a new WebGPU device falls back to the CPU and says so', `${toCpu.notice} (${toCpu.label})`);
    check(spread(await pixels(page, 'grid')) > 2, 'and samples on the CPU');
    await page.screenshot({ path: join(OUT, '12b-device-lost-cpu.png'), fullPage: true });

    // --- CPU fallback (?cpu=1)
    await page.goto(url({ cpu: '1' }), { timeout: TIMEOUT });
    await ready(page, '07-cpu.png');
    const cpu = await page.evaluate(() => ({
      backend: document.body.dataset.backend,
      notice: document.getElementById('notice').hidden ? '' : document.getElementById('notice').textContent,
      sampleMs: Number(document.body.dataset.sampleMs),
    }));
    check(cpu.backend === 'cpu', 'cpu=1 runs on the CPU');
    check(/CPU/.test(cpu.notice), 'the page says it runs on the CPU', cpu.notice);
    check(spread(await pixels(page, 'grid')) > 2, 'the CPU backend samples');
    results.cpu_ms_per_sample = cpu.sampleMs / 8;

    await responsiveness(page);
    await workerFails(context);

    check(foreign.length === 0, 'no request leaves the origin', foreign.join(' '));
    check(pageErrors.length === 0, 'no page errors', pageErrors.join(' | '));
  } catch (e) {
    check(false, 'test ran to the end', e.message);
    await page.screenshot({ path: join(OUT, 'failure.png'), fullPage: true }).catch(() => {});
  } finally {
    await context.close();
  }
  await noWebGpu();
  await offlineTest();
  console.log(`timings: ${JSON.stringify(results)}`);
  console.log(failures ? `${failures} check(s) FAILED` : 'all checks passed');
  process.exit(failures ? 1 : 0);
}

run();

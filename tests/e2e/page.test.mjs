// End-to-end cases of the page's main flows in headless Chromium (WebGPU on SwiftShader, forced
// with ?gpu=1, and the CPU): loading, sampling, encoding through the crop box and the camera,
// interpolation, the morph, editing, saving, weights files, a lost device, the CPU fallback, the
// worker, no WebGPU, offline. Each case stands alone (tests/e2e/lib.mjs); cases that share a
// WebGPU page reopen it when an earlier case left it broken.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  browserFor, ARGS, check, cropRect, differing, sameUpToFma, drag, drawn, encodePhoto, launch, MODEL, modelConfig, newPage, open, OUT, pixels,
  ready, results, roundTrip, sharedCases, shot, slide, spread, test, testPhoto, TIMEOUT, url, version,
} from './lib.mjs';
import { staticServer } from './server.mjs';

const browser = browserFor('main', { acceptDownloads: true }); // one browser for these cases

/** Cases on a shared ?gpu=1 page with a test photo encoded. */
const onGpu = sharedCases(async () => {
  const page = await open(await browser(), { gpu: '1' }, 'gpu-page.png');
  const cfg = await modelConfig(page);
  await encodePhoto(page, testPhoto(cfg));
  return { page, cfg };
});

test('WebGPU: loading shows its phases, then 8 samples; another seed resamples', async () => {
  const page = await newPage(await browser());
  let slowed = false; // the first model download only
  await page.route('**/*.safetensors', async (route) => {
    if (!slowed) {
      slowed = true;
      await new Promise((r) => setTimeout(r, 1500));
    }
    await route.continue();
  });
  await page.goto(url({ gpu: '1' }), { timeout: TIMEOUT });
  // read the status in the same task that sees the download phase
  const dl = await (await page.waitForFunction(() => document.body.dataset.phase === 'download' && {
    text: document.getElementById('status').textContent,
    bar: getComputedStyle(document.getElementById('progress')).visibility,
  }, null, { timeout: TIMEOUT, polling: 'raf' })).jsonValue();
  await shot(page, '00a-progress-download.png');
  check(/Downloading model/.test(dl.text) && dl.bar === 'visible', 'a progress bar shows the model download', dl.text);
  await ready(page, '01-loaded-webgpu.png');
  const phases = await page.evaluate(() => window.glowDebug.progress);
  const order = [...new Set(phases.map((p) => p.phase))];
  const pipes = phases.filter((p) => p.phase === 'pipelines');
  const dlDone = phases.find((p) => p.phase === 'download' && p.total > 0 && p.done === p.total);
  check(order.slice(0, 4).join() === 'download,wasm,device,pipelines', 'loading goes through its phases in order', order.join(' → '));
  check(!!dlDone && pipes.length > 0 && pipes.every((p) => p.done >= 1 && p.done <= p.total) && pipes.some((p) => p.done === p.total),
    'progress counts the download and the pipelines built / total', `${dlDone?.total} bytes; ${pipes.length} pipeline events`);
  check((await page.evaluate(() => document.body.dataset.engine)) === 'worker', 'the model runs in a worker thread');
  results.load_phases_ms = Object.fromEntries(order.map((ph) => [ph, phases.find((p) => p.phase === ph).at]));
  results.load_phases_ms.ready = await page.evaluate(() => Number(document.body.dataset.firstSampleMs));
  const info = await page.evaluate(() => ({ backend: document.body.dataset.backend, label: document.getElementById('backend').textContent,
    sampleMs: Number(document.body.dataset.sampleMs) }));
  const cfg = await modelConfig(page);
  console.log(`model ${cfg.image_width}x${cfg.image_height}x${cfg.image_channels}, n_bits ${cfg.n_bits}, on ${info.label}`);
  check(info.backend === 'webgpu', '?gpu=1 runs on WebGPU', info.label);
  results.webgpu_ms_per_sample = info.sampleMs / 8;
  const grid1 = await pixels(page, 'grid');
  check(grid1.length === 4 * 8 * cfg.image_width * cfg.image_height, 'grid holds 8 samples', `${grid1.length} bytes`);
  check(spread(grid1) > 2, 'samples are not uniform', `std ${spread(grid1).toFixed(1)}`);
  const v = await version(page, 'grid');
  await page.fill('#seed', '12345');
  await page.dispatchEvent('#seed', 'change');
  await drawn(page, 'grid', v);
  const grid2 = await pixels(page, 'grid');
  check(differing(grid1, grid2) > grid1.length / 20, 'another seed gives other samples', `${differing(grid1, grid2)} bytes differ`);
  await shot(page, '02-resampled.png');
  check(page.foreign.length === 0, 'no request leaves the origin', page.foreign.join(' '));
  check(page.errors.length === 0, 'no page errors', page.errors.join(' | '));
  await page.close();
});

onGpu('WebGPU: a photo reconstructs within one step, through a crop box that drags, resizes and takes arrow keys', async (page, cfg) => {
  const step = 2 ** (8 - cfg.n_bits);
  await encodePhoto(page, testPhoto(cfg));
  const { orig, maxDiff, outside } = await roundTrip(page, step);
  check(spread(orig) > 2, 'the photo reached the page', `std ${spread(orig).toFixed(1)}`);
  check(outside === 0, `decode(encode(x)) within one step (${step}) of x`, `max |diff| ${maxDiff}, ${outside} values outside`);
  results.encode_ms = Number(await page.evaluate(() => document.body.dataset.encodeMs));
  await shot(page, '03-encoded.png');
  const photoSize = await page.evaluate(() => [document.getElementById('crop-src').width, document.getElementById('crop-src').height]);
  const r0 = await cropRect(page);
  check(await page.isVisible('#crop-box') && r0.s === Math.min(...photoSize), 'a crop box covers the largest square of the photo',
    `${JSON.stringify(r0)} on ${photoSize.join('x')}`);
  const boxPx = (await page.locator('#crop-box').boundingBox()).width;
  let v = await version(page, 'reconstruction');
  await drag(page, '.crop-handle', -0.35 * boxPx, -0.35 * boxPx);
  await drawn(page, 'reconstruction', v);
  const r1 = await cropRect(page);
  const rt1 = await roundTrip(page, step);
  check(r1.s < r0.s && r1.x === r0.x && r1.y === r0.y && differing(orig, rt1.orig) > 0,
    'dragging the corner shrinks the crop and changes the input', `${JSON.stringify(r0)} -> ${JSON.stringify(r1)}`);
  check(rt1.outside === 0, 'the resized crop reconstructs within one step', `max |diff| ${rt1.maxDiff}`);
  v = await version(page, 'reconstruction');
  await drag(page, '#crop-box', 0.3 * boxPx, 0.2 * boxPx);
  await drawn(page, 'reconstruction', v);
  const r2 = await cropRect(page);
  const rt2 = await roundTrip(page, step);
  check(r2.s === r1.s && r2.x > r1.x && r2.y > r1.y && differing(rt1.orig, rt2.orig) > 0,
    'dragging the square moves the crop and changes the input', `${JSON.stringify(r1)} -> ${JSON.stringify(r2)}`);
  check(rt2.outside === 0, 'the moved crop reconstructs within one step', `max |diff| ${rt2.maxDiff}`);
  await shot(page, '03b-crop-moved.png');
  v = await version(page, 'reconstruction');
  await page.focus('#crop-box');
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('Shift+ArrowDown');
  await drawn(page, 'reconstruction', v);
  const r3 = await cropRect(page);
  await page.waitForFunction((r) => document.getElementById('encode-time').textContent.includes(`[${r.s}x${r.s} at ${r.x},${r.y}]`), r3, { timeout: TIMEOUT });
  check(r3.x < r2.x && r3.y === r2.y && r3.s > r2.s, 'arrow keys move and resize the crop', `${JSON.stringify(r2)} -> ${JSON.stringify(r3)}`);
  check((await roundTrip(page, step)).outside === 0, 'and it reconstructs within one step');
});

onGpu('WebGPU: a camera frame (Chromium\'s fake device) goes through the crop box', async (page, cfg) => {
  const step = 2 ** (8 - cfg.n_bits);
  check(await page.isVisible('#camera-open'), 'the page offers the camera');
  await page.click('#camera-open');
  await page.waitForFunction(() => document.getElementById('camera-video').videoWidth > 0, null, { timeout: TIMEOUT });
  await page.waitForTimeout(300);
  await shot(page, '03c-camera.png');
  const v = await version(page, 'reconstruction');
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
  // |x - x'| <= one step: a camera frame is far outside the training data (f32 may miss the half-bin margin)
  check(spread(rtc.orig) > 2 && rtc.maxDiff <= step, 'the camera crop encodes and reconstructs within one step',
    `std ${spread(rtc.orig).toFixed(1)}, max |diff| ${rtc.maxDiff}, ${rtc.outside} values not exact`);
  await page.click('#camera-close');
  check(await page.isHidden('#camera'), 'the camera closes');
  await encodePhoto(page, testPhoto(cfg)); // back to the photo
});

onGpu('WebGPU: the interpolation slider and endpoints (a sample, the photo) change the image', async (page) => {
  const interp1 = await pixels(page, 'interp');
  for (const [t, name] of [['0.1', '04-interp-0.1.png'], ['0.9', '05-interp-0.9.png']]) {
    const v = await version(page, 'interp');
    await slide(page, '#interp-t', t);
    await drawn(page, 'interp', v);
    await shot(page, name);
  }
  const interp2 = await pixels(page, 'interp');
  check(differing(interp1, interp2) > 0, 'interpolation slider changes the image', `${differing(interp1, interp2)} bytes differ`);
  await page.selectOption('#interp-b', 'p0');
  await page.waitForFunction(() => document.getElementById('interp').dataset.shows?.split(' ')[1] === 'p0', null, { timeout: TIMEOUT });
  check(differing(interp2, await pixels(page, 'interp')) > 0, 'the encoded photo can be an endpoint');
});

onGpu('WebGPU: the morph as a strip of 8 frames and as an animation that plays and pauses', async (page, cfg) => {
  let v = await version(page, 'strip');
  await page.click('#strip-render');
  await drawn(page, 'strip', v);
  const strip = await pixels(page, 'strip');
  const W = cfg.image_width, H = cfg.image_height;
  const frames = [];
  if (strip.length === 8 * 4 * W * H) {
    for (let i = 0; i < 8; i++) {
      const f = [];
      for (let y = 0; y < H; y++) f.push(...strip.slice((y * 8 * W + i * W) * 4, (y * 8 * W + (i + 1) * W) * 4));
      frames.push(f);
    }
  }
  check(frames.length === 8 && differing(frames[0], frames[7]) > 0 && differing(frames[3], frames[4]) > 0, 'the morph strip renders 8 changing frames',
    `${strip.length} bytes`);
  await shot(page, '05a-strip.png');
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
  await shot(page, '05c-morph-playing.png');
  await page.click('#morph-play');
  const paused = await version(page, 'morph');
  await page.waitForTimeout(600);
  const st = await page.evaluate(() => ({ playing: document.body.dataset.morphPlaying, label: document.getElementById('morph-play').textContent }));
  check((await version(page, 'morph')) === paused && st.playing === '0' && /Play/.test(st.label), 'Pause stops it', st.label);
});

onGpu('WebGPU: the attribute sliders (40 CelebA directions, Smiling first) edit the image', async (page) => {
  if (MODEL) return console.log('skip: another model');
  check(!(await page.isHidden('#edit-panel')), 'the default model ships attribute directions (edit panel shown)');
  await drawn(page, 'edited', 0);
  const before = await pixels(page, 'edited');
  const v = await version(page, 'edited');
  const labels = await page.$$eval('#sliders label span', (ls) => ls.map((l) => l.textContent));
  check(labels.length === 40 && labels[0] === 'Smiling' && labels.includes('Eyeglasses') && labels.includes('Blond Hair'),
    'the face model offers its 40 CelebA attributes, Smiling first', `${labels.length}: ${labels.slice(0, 6).join(', ')}`);
  const idx = await page.$eval('#sliders input', (el) => Number(el.dataset.index));
  await slide(page, '#sliders input', 0.5); // (Smiling: within its range, -1.2 … 0.8 on the face model)
  await drawn(page, 'edited', v);
  await page.waitForFunction((i) => document.getElementById('edited').dataset.shows?.split(' ')[i + 1] === '0.8', idx, { timeout: TIMEOUT });
  const after = await pixels(page, 'edited');
  check(differing(before, after) > 0, 'an attribute slider changes the image', `${differing(before, after)} bytes differ`);
  await shot(page, '05b-edit.png');
});

onGpu('WebGPU: Save interpolation as PNG downloads the shown image, 4x by default', async (page, cfg) => {
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 30000 }), page.click('button.save-png[data-canvas="interp"]')]);
  const saved = join(OUT, 'saved-interp.png');
  await download.saveAs(saved);
  const png = readFileSync(saved);
  check(png.subarray(1, 4).toString() === 'PNG' && png.readUInt32BE(16) === 4 * cfg.image_width, 'Save PNG downloads the shown image at 4x',
    `${download.suggestedFilename()} ${png.readUInt32BE(16)}px`);
});

onGpu('WebGPU: a bad weights file is reported in the model panel and the model stays; a good one loads', async (page) => {
  await page.setInputFiles('#weights-input', { name: 'broken.safetensors', mimeType: 'application/octet-stream',
    buffer: Buffer.from('this is not a safetensors file at all') });
  await page.waitForFunction(() => !document.getElementById('model-error').hidden, null, { timeout: TIMEOUT });
  const err = await page.textContent('#model-error');
  check(/broken\.safetensors/.test(err) && /bad weights/.test(err), 'a bad weights file gives a readable message beside the input', err.replace(/\n/g, ' | '));
  check(await page.isHidden('#error'), 'and not in the page header');
  let v = await version(page, 'grid');
  await page.fill('#seed', '7');
  await page.dispatchEvent('#seed', 'change');
  await drawn(page, 'grid', v);
  check(spread(await pixels(page, 'grid')) > 2, 'the previous model still samples');
  await shot(page, '06-bad-weights.png');
  v = await version(page, 'grid');
  await page.setInputFiles('#weights-input', MODEL || 'www/models/default.safetensors');
  await drawn(page, 'grid', v);
  await page.waitForFunction(() => /^Loaded /.test(document.getElementById('status').textContent), null, { timeout: TIMEOUT });
  check(await page.isHidden('#model-error'), 'a user weights file loads', await page.textContent('#status'));
});

onGpu('WebGPU: a lost device is reported and rebuilt (or moved to the CPU); calls keep working', async (page, cfg, broke) => {
  const losses = Number(await page.evaluate(() => document.body.dataset.deviceLosses || 0));
  let v = await version(page, 'grid');
  check((await page.evaluate(() => window.glowDebug.call('debugDestroyDevice'))) === true, 'the test hook destroys the WebGPU device');
  await page.waitForFunction((n) => Number(document.body.dataset.deviceLosses) === n + 1, losses, { timeout: TIMEOUT });
  await page.fill('#seed', '8');
  await page.dispatchEvent('#seed', 'change');
  await drawn(page, 'grid', v);
  const lost = await page.evaluate(() => ({ backend: document.body.dataset.backend, notice: document.getElementById('notice').textContent }));
  check(/device was lost/.test(lost.notice) && lost.backend === 'webgpu', 'after a lost device the page says so and runs on a new WebGPU device', lost.notice);
  check(spread(await pixels(page, 'grid')) > 2, 'and samples again');
  await shot(page, '12-device-lost.png');
  const during = await page.evaluate(async () => {
    await window.glowDebug.call('debugDestroyDevice');
    return (await window.glowDebug.call('sample', 2, 0.7, 5)).length;
  });
  check(during === 2 * 4 * cfg.image_width * cfg.image_height, 'a call made right after the loss still returns its images', `${during} bytes`);
  v = await version(page, 'grid');
  await page.evaluate(() => window.glowDebug.call('debugLoseDeviceToCpu'));
  await page.waitForFunction((n) => Number(document.body.dataset.deviceLosses) === n + 3, losses, { timeout: TIMEOUT });
  await page.fill('#seed', '9');
  await page.dispatchEvent('#seed', 'change');
  await drawn(page, 'grid', v);
  const toCpu = await page.evaluate(() => ({ backend: document.body.dataset.backend, notice: document.getElementById('notice').textContent,
    label: document.getElementById('backend').textContent }));
  check(toCpu.backend === 'cpu' && /device was lost; now running on the CPU/.test(toCpu.notice) && /^CPU/.test(toCpu.label),
    'a loss without a new WebGPU device falls back to the CPU and says so', `${toCpu.notice} (${toCpu.label})`);
  check(spread(await pixels(page, 'grid')) > 2, 'and samples on the CPU');
  await shot(page, '12b-device-lost-cpu.png');
  check(page.errors.length === 0, 'no page errors on the WebGPU page', page.errors.join(' | '));
  broke(); // it runs on the CPU now
});

test('CPU (?cpu=1): samples, says it runs on the CPU', async () => {
  const page = await open(await browser(), { cpu: '1' }, '07-cpu.png');
  const cpu = await page.evaluate(() => ({ backend: document.body.dataset.backend, notice: document.getElementById('notice').textContent,
    sampleMs: Number(document.body.dataset.sampleMs) }));
  check(cpu.backend === 'cpu', 'cpu=1 runs on the CPU');
  check(/CPU/.test(cpu.notice) && !/slower/.test(cpu.notice), 'the page says it runs on the CPU (and does not call it slower)', cpu.notice);
  check(spread(await pixels(page, 'grid')) > 2, 'the CPU backend samples');
  results.cpu_ms_per_sample = cpu.sampleMs / 8;
  await page.close();
});

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

test('the model in a worker keeps the page responsive; ?worker=0 runs it on the main thread and says so', async () => {
  const N = 64;
  const wp = await open(await browser(), { cpu: '1' }, '09-cpu-worker.png');
  check((await wp.evaluate(() => document.body.dataset.engine)) === 'worker', 'the model runs in a worker');
  const w = await pauseDuring(wp, N);
  await wp.close();
  const mp = await open(await browser(), { cpu: '1', worker: '0' }, '10-cpu-main-thread.png');
  const st = await mp.evaluate(() => ({ engine: document.body.dataset.engine, notice: document.getElementById('notice').textContent }));
  check(st.engine === 'main' && /main thread/.test(st.notice), '?worker=0 runs on the main thread and says so', st.notice);
  const m = await pauseDuring(mp, N);
  await mp.close();
  console.log(`${N} CPU samples: worker ${w.took.toFixed(0)} ms (pause ${w.maxGap.toFixed(0)} ms), main thread ${m.took.toFixed(0)} ms (pause ${m.maxGap.toFixed(0)} ms)`);
  check(m.maxGap > 0.8 * m.took, 'on the main thread a long call freezes the page', `${m.maxGap.toFixed(0)} of ${m.took.toFixed(0)} ms`);
  check(w.took > 200 && w.maxGap < Math.max(100, w.took / 4), 'in the worker the main thread stays responsive',
    `longest pause ${w.maxGap.toFixed(0)} ms during ${w.took.toFixed(0)} ms`);
  Object.assign(results, { cpu64_worker_ms: w.took, cpu64_worker_pause_ms: w.maxGap, cpu64_main_ms: m.took, cpu64_main_pause_ms: m.maxGap });
});

test('a worker that fails to start falls back to the main thread and says so', async () => {
  const page = await newPage(await browser());
  await page.route('**/www/worker.js', (r) => r.abort());
  await page.goto(url({ cpu: '1' }), { timeout: TIMEOUT });
  await ready(page, '11-worker-failed.png');
  const st = await page.evaluate(() => ({ engine: document.body.dataset.engine, notice: document.getElementById('notice').textContent }));
  check(st.engine === 'main' && /main thread/.test(st.notice), 'the model runs on the main thread and the page says so', st.notice);
  check(spread(await pixels(page, 'grid')) > 2, 'and samples');
  await page.close();
});

test('without WebGPU the page runs on the CPU by itself and says so', async () => {
  const context = await launch('nogpu', { args: ARGS.filter((a) => a !== '--enable-unsafe-webgpu') });
  try {
    const page = await open(context, {}, '08-no-webgpu.png');
    const st = await page.evaluate(async () => ({
      hasAdapter: !!(navigator.gpu && (await navigator.gpu.requestAdapter())),
      backend: document.body.dataset.backend,
      notice: document.getElementById('notice').textContent,
    }));
    if (st.hasAdapter) return console.log('skip: this Chromium has a WebGPU adapter even without the flag');
    check(st.backend === 'cpu' && /no WebGPU/i.test(st.notice) && !/slower/.test(st.notice), 'the page runs on the CPU and says why', st.notice);
    check(spread(await pixels(page, 'grid')) > 2, 'and samples');
    check(page.errors.length === 0, 'no page errors', page.errors.join(' | '));
  } finally {
    await context.close();
  }
});

/** Where the page's CPU path runs: the model panel's reason, isolation, cores. */
const about = (page) => page.evaluate(() => ({ why: document.getElementById('backend-why').textContent,
  isolated: crossOriginIsolated, cores: navigator.hardwareConcurrency }));

test('threads: cross-origin isolated, the CPU path runs one image on several WebAssembly threads, with the images of one thread up to FMA rounding; not isolated, the plain build says why, with the same images', async () => {
  const plainServer = await staticServer({ isolated: false });
  const context = await launch('threads');
  try {
    const threaded = await open(context, { cpu: '1' }, '15-threads.png');
    const one = await open(context, { cpu: '1', threads: '1', workers: '1' }, '15-one-thread.png');
    const [a, b] = [await about(threaded), await about(one)];
    console.log(`threads: ${a.why}`);
    check(a.isolated, 'the test server makes the page cross-origin isolated (COOP/COEP)');
    const n = Math.min(4, a.cores);
    const label = await threaded.$eval('#backend', (e) => e.textContent);
    if (n > 1) check(a.why.includes(`${n} threads share each image`) && label.includes(`${n} threads`), `the CPU path runs on ${n} threads and says so`, `${label}: ${a.why}`);
    else console.log('skip: one core, one thread');
    check(!/threads share/.test(b.why), '?threads=1 keeps the plain one-thread build', b.why);
    // the threaded build multiplies-adds in one rounding (relaxed SIMD), the plain one in two: the
    // same images up to that, a value one bin apart here and there
    const cfg = await modelConfig(threaded);
    const grid = await pixels(one, 'grid');
    const fma = sameUpToFma(await pixels(threaded, 'grid'), grid, cfg.n_bits);
    console.log(`threads: against one thread's grid ${fma.text}`);
    check(spread(grid) > 2 && fma.ok, 'the sample grid on threads is the one-thread grid up to fused multiply-add rounding', fma.text);
    // encoding (actnorm statistics, the inverse flow, bits/dim) on threads too: an exact round trip
    await encodePhoto(threaded, testPhoto(cfg));
    const rt = await roundTrip(threaded, 2 ** (8 - cfg.n_bits));
    check(rt.outside === 0, 'a photo encodes and decodes exactly on threads', `${rt.outside} values outside their bin`);
    const plain = await newPage(context);
    await plain.goto(url({ cpu: '1' }, `http://127.0.0.1:${plainServer.address().port}`), { timeout: TIMEOUT });
    await ready(plain, '15-not-isolated.png');
    const c = await about(plain);
    check(!c.isolated && (n < 2 || /not cross-origin isolated/.test(c.why)), 'without COOP/COEP the page runs the plain build and says why', c.why);
    check(differing(await pixels(plain, 'grid'), grid) === 0, 'with the same images');
    for (const p of [threaded, one, plain]) check(p.errors.length === 0, 'no page errors', p.errors.join(' | '));
    results.threads = a.why;
  } finally {
    await context.close();
    plainServer.close();
  }
});

test('isolation: on a host without COOP/COEP the service worker isolates the page from the second visit on, which then runs on threads', async () => {
  const server = await staticServer({ isolated: false });
  const context = await launch('isolation', { serviceWorkers: 'allow' });
  try {
    const page = await newPage(context);
    await page.goto(url({ cpu: '1' }, `http://127.0.0.1:${server.address().port}`), { timeout: TIMEOUT });
    await ready(page, '16-first-visit.png');
    const first = await about(page);
    check(!first.isolated, 'the first visit is not isolated (this server sends no COOP/COEP)', first.why);
    const grid = await pixels(page, 'grid');
    await page.waitForFunction(() => document.body.dataset.offline === 'ready', null, { timeout: TIMEOUT });
    await page.reload({ timeout: TIMEOUT });
    await ready(page, '16-second-visit.png');
    const second = await about(page);
    check(second.isolated, 'the second visit, served through the service worker, is cross-origin isolated');
    if (Math.min(4, second.cores) > 1) check(/threads share each image/.test(second.why), 'and runs the CPU path on threads', second.why);
    const fma = sameUpToFma(await pixels(page, 'grid'), grid, (await modelConfig(page)).n_bits);
    check(fma.ok, 'with the images of the first visit (the plain build) up to fused multiply-add rounding', fma.text);
    check(page.errors.length === 0, 'no page errors', page.errors.join(' | '));
  } finally {
    await context.close();
    server.close();
  }
});

test('offline: once cached by the service worker, the page reloads and samples without the server', async () => {
  const server = await staticServer();
  const base = `http://127.0.0.1:${server.address().port}`;
  const context = await launch('offline', { serviceWorkers: 'allow' });
  try {
    const page = await newPage(context);
    // on the CPU path: the same files are cached either way (the shaders live in the wasm), and
    // it loads in seconds where SwiftShader compiles pipelines for half a minute, twice
    await page.goto(url({ cpu: '1' }, base), { timeout: TIMEOUT });
    await ready(page, '13-online.png');
    await page.waitForFunction(() => document.body.dataset.offline === 'ready', null, { timeout: TIMEOUT });
    check(await page.isVisible('#offline'), 'the page says it works offline once cached');
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await context.setOffline(true);
    const t0 = Date.now();
    await page.reload({ timeout: TIMEOUT });
    await ready(page, '14-offline.png');
    const st = await page.evaluate(() => ({ controlled: !!navigator.serviceWorker.controller, online: navigator.onLine,
      backend: document.body.dataset.backend, engine: document.body.dataset.engine }));
    check(st.controlled && !st.online, 'offline, the reload is served by the service worker', JSON.stringify(st));
    check(st.backend === 'cpu' && st.engine === 'worker' && spread(await pixels(page, 'grid')) > 2, 'and the page samples (in its worker)');
    const why = await page.evaluate(() => document.getElementById('backend-why').textContent);
    if (Math.min(4, await page.evaluate(() => navigator.hardwareConcurrency)) > 1) {
      check(/threads share each image/.test(why), 'on the threaded build, loaded from the cache', why);
    }
    results.offline_reload_first_sample_ms = Date.now() - t0;
    check(page.errors.length === 0, 'no page errors offline', page.errors.join(' | '));
  } finally {
    await context.close();
    server.close();
  }
});

export const closeAll = () => browser.close();

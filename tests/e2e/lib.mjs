// Shared pieces of the end-to-end tests (tests/e2e/*.test.mjs, run by tests/e2e/run.mjs from
// scripts/test-e2e.sh): the environment, Chromium, the page's canvases, and named cases that
// fail alone (one failing case never hides the others).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = (k, d) => process.env[k] || d;
export const BASE = env('BASE_URL', 'http://127.0.0.1:8080');
export const OUT = env('OUT_DIR', 'test-output/e2e');
export const DATA = env('DATA_DIR', '../shared/data');
export const MODEL = env('GLOW_E2E_MODEL', '');
export const TIMEOUT = Number(env('E2E_TIMEOUT_MS', '300000'));
export const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');
export const PROFILE = env('USER_DATA_DIR', '/tmp/glow-e2e-profile');

export const ARGS = [
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

// --- checks and cases
let failures = 0;
let checks = 0;
export const results = {};
export function check(ok, what, detail = '') {
  checks++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? `: ${detail}` : ''}`);
  if (!ok) failures++;
  return ok;
}

const cases = [];
/** A named case: `fn()` runs alone; a throw fails it (and only it). */
export const test = (name, fn) => cases.push({ name, fn });

/** Runs the cases whose name matches E2E_ONLY (a regex; all by default); exits 1 on any failure. */
export async function runCases(cleanup = async () => {}) {
  const only = new RegExp(env('E2E_ONLY', '.'), 'i');
  let ran = 0;
  const failed = [];
  for (const c of cases.filter((c) => only.test(c.name))) {
    const before = failures;
    const t0 = Date.now();
    console.log(`\n=== ${c.name}`);
    try {
      await c.fn();
    } catch (e) {
      check(false, `${c.name}: ran to the end`, e?.stack ?? String(e));
    }
    ran++;
    if (failures > before) failed.push(c.name);
    console.log(`=== ${c.name}: ${failures > before ? 'FAILED' : 'passed'} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
  await cleanup().catch((e) => console.log(`cleanup: ${e?.message ?? e}`));
  console.log(`\ntimings: ${JSON.stringify(results)}`);
  if (ran === 0) check(false, `no case matches E2E_ONLY=${env('E2E_ONLY', '')}`);
  console.log(failed.length ? `FAILED cases: ${failed.join('; ')}` : 'all cases passed');
  console.log(`${ran - failed.length} passed, ${failed.length} failed (${checks} checks)`);
  process.exit(failures ? 1 : 0);
}

// --- the browser
/** A fresh persistent Chromium context (service workers blocked unless asked for). */
export async function launch(name, opts = {}) {
  const { args = ARGS, ...rest } = opts;
  return chromium.launchPersistentContext(`${PROFILE}-${name}`, {
    executablePath: CHROMIUM,
    headless: true,
    args,
    viewport: { width: 1200, height: 1100 },
    serviceWorkers: 'block',
    ...rest,
  });
}

/** A page in `context` that records page errors and requests leaving the origin. */
export async function newPage(context) {
  const page = await context.newPage();
  page.errors = [];
  page.foreign = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && page.errors.push(m.text()));
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(BASE) && !u.startsWith('data:') && !u.startsWith('blob:')) page.foreign.push(u);
  });
  return page;
}

export const url = (q = {}, base = BASE) => {
  const p = new URLSearchParams(q);
  if (MODEL) p.set('model', MODEL);
  const s = p.toString();
  return `${base}/index.html${s ? `?${s}` : ''}`;
};

export const shot = (page, name) => page.screenshot({ path: join(OUT, name), fullPage: true });

/** Waits for the page to leave the loading state; throws unless it is ready. */
export async function ready(page, name) {
  await page.waitForFunction(() => document.body.dataset.state !== 'loading', null, { timeout: TIMEOUT });
  const st = await page.evaluate(() => ({ state: document.body.dataset.state, error: document.getElementById('error').textContent }));
  if (name) await shot(page, name);
  if (st.state !== 'ready') throw new Error(`page did not get ready: ${st.error}`);
}

/** Opens the page with query `q` and waits until it is ready. */
export async function open(context, q, name) {
  const page = await newPage(context);
  await page.goto(url(q), { timeout: TIMEOUT });
  await ready(page, name);
  return page;
}

/** The loaded model's config (the model panel's full configuration). */
export const modelConfig = (page) => page.evaluate(() => JSON.parse(document.getElementById('model-info').textContent));

// --- canvases
/** Pixels of a canvas (by id) as a plain array. */
export const pixels = (page, id) =>
  page.evaluate((id) => {
    const c = document.getElementById(id);
    return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data);
  }, id);

export const version = (page, id) => page.evaluate((id) => Number(document.getElementById(id).dataset.version || 0), id);

/** Waits until canvas `id` has been drawn more than `after` times. */
export const drawn = (page, id, after) =>
  page.waitForFunction(([id, v]) => Number(document.getElementById(id).dataset.version || 0) > v, [id, after], { timeout: TIMEOUT });

/** Standard deviation of the RGB values (alpha skipped). */
export function spread(px) {
  let s = 0, s2 = 0, n = 0;
  for (let i = 0; i < px.length; i++) {
    if (i % 4 === 3) continue;
    s += px[i]; s2 += px[i] * px[i]; n++;
  }
  const m = s / n;
  return Math.sqrt(Math.max(0, s2 / n - m * m));
}

export const differing = (a, b) => a.reduce((k, v, i) => k + (v !== b[i] ? 1 : 0), 0);
/** Two renderings of the same images by the two wasm builds: the threaded build's multiply-add
 * rounds once (relaxed SIMD), the plain build's twice, so now and then a value lands in the next
 * bin of the model's `n_bits` (2^(8 - n_bits) byte levels). `ok`: nothing further apart than one
 * bin, and at most 0.1% of the values apart at all. */
export function sameUpToFma(a, b, nBits) {
  const bin = 2 ** (8 - nBits);
  const far = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
  const apart = differing(a, b);
  return { ok: far <= bin && apart <= a.length / 1000, text: `${apart} of ${a.length} values differ, by up to ${far} (one bin: ${bin})` };
}
export const meanAbsDiff = (a, b) => a.reduce((k, v, i) => k + (i % 4 === 3 ? 0 : Math.abs(v - b[i])), 0) / (a.length * 0.75);

/** The encode panel's input and reconstruction: values outside decode's one bin below x. */
export async function roundTrip(page, step) {
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

export const cropRect = (page) =>
  page.evaluate(() => {
    const d = document.getElementById('crop-box').dataset;
    return { x: Number(d.x), y: Number(d.y), s: Number(d.s) };
  });

/** Drags from the centre of `selector` by (dx, dy) CSS pixels with the mouse. */
export async function drag(page, selector, dx, dy) {
  await page.locator('#crop').scrollIntoViewIfNeeded();
  const b = await page.locator(selector).boundingBox();
  const x = b.x + b.width / 2, y = b.y + b.height / 2;
  await page.mouse.move(x, y);
  await page.mouse.down();
  await page.mouse.move(x + dx / 2, y + dy / 2, { steps: 3 });
  await page.mouse.move(x + dx, y + dy, { steps: 3 });
  await page.mouse.up();
}

/** A test photo for the loaded model: the first CelebA (or MNIST) test image, sorted by name. */
export function testPhoto(cfg, k = 0) {
  const dir = cfg.image_channels === 1 ? join(DATA, 'mnist', 'test') : join(DATA, 'celeba64', 'test');
  return join(dir, readdirSync(dir).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort()[k]);
}

/** Puts `file` (a path or { name, mimeType, buffer }) into photo slot `slot` and waits for
 * its reconstruction; face alignment off unless `align` (the crop box cases test the crop). */
export async function encodePhoto(page, file, slot = 0, align = false) {
  await page.check(`input[name="slot"][value="${slot}"]`);
  // (set without a change event: that would re-encode the slot's previous photo meanwhile)
  await page.$eval('#align-on', (el, on) => { el.checked = on; }, align);
  const v = await version(page, 'reconstruction');
  await page.setInputFiles('#photo-input', file);
  await drawn(page, 'reconstruction', v);
}

/** Sets an <input type=range> (by selector) to `value` as a user would (an input event). */
export const slide = (page, selector, value) =>
  page.$eval(selector, (el, v) => { el.value = String(v); el.dispatchEvent(new Event('input', { bubbles: true })); }, value);

/** Cases on one shared page opened by `openFn() -> { page, cfg }`: a case that throws (or calls
 * its third argument, `broke()`) has the page reopened for the next one. */
export function sharedCases(openFn) {
  let cur = null;
  return (name, fn) =>
    test(name, async () => {
      if (!cur?.ok || cur.page.isClosed()) {
        await cur?.page.close().catch(() => {});
        cur = { ...(await openFn()), ok: true };
      }
      const c = cur;
      try {
        await fn(c.page, c.cfg, () => { c.ok = false; });
      } catch (e) {
        c.ok = false;
        await shot(c.page, `failure-${name.replace(/\W+/g, '-').slice(0, 60)}.png`).catch(() => {});
        throw e;
      }
    });
}

/** A browser for a group of cases, launched on first use and again when it was closed (a
 * crashed browser fails the case that saw it, not the ones after). `.close()` closes it. */
export function browserFor(name, opts) {
  let ctx = null;
  const get = async () => {
    if (!ctx) {
      ctx = await launch(name, opts);
      ctx.on('close', () => { ctx = null; });
    }
    return ctx;
  };
  get.close = async () => ctx?.close();
  return get;
}

// The edit sliders' ranges for the default model: for each attribute direction d and each sign,
// the largest slider value v (in steps of 0.1, up to 3; the page adds 1.6·v·d) at which every
// latent of a measurement set still decodes to a finite image on the page's CPU path (f32
// WebAssembly, GlowApp.decode_many; a non-finite decode is an error). The set: the first NF
// CelebA test-split faces (../shared/data/celeba64/test, by file name) and the 8 samples the page
// opens on (T = 0.7, seed 1), encoded as the page encodes them. The slider end is that v less a
// margin (MARGIN, a fraction of v, rounded down to 0.1) so that faces outside the set mostly
// decode too, and at most 2 (the page's widest range). Writes www/models/default.edit-range.json. Run: benches/web/edit-range.sh.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const NF = Number(process.env.NF || 12);
const MARGIN = Number(process.env.MARGIN || 0.1);
const SCALE = 1.6; // www/editor.js
const dir = join(process.env.DATA_DIR || '../shared/data', 'celeba64', 'test');
const files = readdirSync(dir).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort().slice(0, NF);
const ctx = await chromium.launchPersistentContext(process.env.USER_DATA_DIR || '/tmp/glow-edit-range-profile', {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--no-first-run'],
});
const page = await ctx.newPage();
page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
await page.goto(`${process.env.BASE_URL}/benches/web/align.html`);
const names = await page.evaluate(async (faces) => {
  const { initWasm } = await import('/www/glow.js');
  const { GlowApp } = await initWasm(); // the plain build (this runs on the page's thread)
  const get = async (u) => new Uint8Array(await (await fetch(u)).arrayBuffer());
  const app = await GlowApp.load(await get('/www/models/default.safetensors'), true);
  const names = app.load_attributes(await get('/www/models/default.attributes.safetensors'));
  const W = app.width(), H = app.height(), size = W * H * 4;
  const zs = [];
  for (const b64 of faces) {
    const bmp = await createImageBitmap(new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))]));
    const c = new OffscreenCanvas(W, H);
    const g = c.getContext('2d');
    g.drawImage(bmp, 0, 0, W, H);
    zs.push(await app.encode(new Uint8Array(g.getImageData(0, 0, W, H).data.buffer)));
  }
  const samples = await app.sample(8, 0.7, 1);
  for (let i = 0; i < 8; i++) zs.push(await app.encode(samples.slice(i * size, (i + 1) * size)));
  const bases = [];
  for (const z of zs) bases.push(await app.decode(z));
  window.m = { app, zs, bases, n: names.length, size };
  return names;
}, files.map((f) => readFileSync(join(dir, f)).toString('base64')));

/** Whether every latent of the set decodes at weight `a` on direction `i`, and the mean |pixel
 * change| against its unedited decode (RGB, averaged over the set). */
const probe = (i, a) => page.evaluate(async ([i, a]) => {
  const { app, zs, bases, n, size } = window.m;
  const w = new Array(n).fill(0);
  w[i] = a;
  const flats = new Float64Array(zs.length * zs[0].length);
  zs.forEach((z, k) => flats.set(app.edit(z, w), k * z.length));
  let img;
  try {
    img = await app.decode_many(flats, zs.length);
  } catch (e) {
    return { ok: false, why: String(e.message || e).slice(0, 120) };
  }
  let s = 0;
  for (let k = 0; k < img.length; k++) if (k % 4 !== 3) s += Math.abs(img[k] - bases[Math.floor(k / size)][k % size]);
  return { ok: true, change: s / (img.length * 0.75) };
}, [i, a]);

const ranges = {}, decodes = {}, change = {};
const t0 = Date.now();
for (let i = 0; i < names.length; i++) {
  const ends = [];
  for (const sign of [-1, 1]) {
    // the largest k in 0 … 30 with v = k/10 decoding for the whole set (binary search: a
    // larger weight only moves the latent further out); most directions decode at the top, so
    // that is probed first (one decode instead of five)
    let lo = 0, hi = 31;
    if ((await probe(i, sign * SCALE * 3)).ok) lo = 30;
    else hi = 30;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if ((await probe(i, sign * SCALE * mid / 10)).ok) lo = mid;
      else hi = mid;
    }
    ends.push(lo / 10);
  }
  const end = (v) => Math.min(2, Math.floor(Math.round(v * 10) * (1 - MARGIN)) / 10);
  ranges[names[i]] = [-end(ends[0]), end(ends[1])];
  decodes[names[i]] = [-ends[0], ends[1]];
  const cl = await probe(i, SCALE * ranges[names[i]][0]), ch = await probe(i, SCALE * ranges[names[i]][1]);
  change[names[i]] = [cl.change, ch.change].map((c) => Number((c ?? NaN).toFixed(1)));
  console.log(`${names[i].padEnd(20)} decodes ${decodes[names[i]].join(' … ')}, slider ${ranges[names[i]].join(' … ')}, ` +
    `mean |change| at the ends ${change[names[i]].join(' / ')} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
}
await ctx.close();
const out = {
  about: `Edit slider ranges of www/models/default.attributes.safetensors (slider value v adds ${SCALE}·v·d; www/editor.js): per direction [lo, hi], ` +
    `the largest |v| in steps of 0.1 (up to 3) at which the first ${files.length} CelebA test faces and the page's 8 opening samples ` +
    `(T 0.7, seed 1) all decode to finite images on the page's CPU path ("decodes"), less ${MARGIN * 100}% (rounded down to 0.1), at most 2; written by benches/web/edit-range.mjs`,
  scale: SCALE, margin: MARGIN, faces: files.length, samples: 8,
  ranges, decodes, meanChangeAtEnds: change,
};
// (one line per direction)
const json = JSON.stringify(out, null, 1).replace(/\[\s+([^\]]*?)\s+\]/g, (_, inner) => `[${inner.replace(/\s+/g, ' ')}]`);
writeFileSync('www/models/default.edit-range.json', `${json}\n`);

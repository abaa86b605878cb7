// Bits/dim of the default model on CelebA test faces (the page's CPU path, GlowApp.bits_per_dim
// with dequantisation noise of seed 0, as `trainer eval` measures), as a small histogram the
// page shows an encoded photo against: www/models/default.bpd-hist.json. Run:
// benches/web/bpd-histogram.sh [N=600] (the first N test-split faces by file name).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const N = Number(process.argv[2] || 600);
const dir = join(process.env.DATA_DIR || '../shared/data', 'celeba64', 'test');
const files = readdirSync(dir).filter((f) => f.endsWith('.jpg')).sort().slice(0, N);
const ctx = await chromium.launchPersistentContext(process.env.USER_DATA_DIR || '/tmp/glow-bpd-profile', {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--no-first-run'],
});
const page = await ctx.newPage();
page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
await page.goto(`${process.env.BASE_URL}/benches/web/align.html`);
await page.evaluate(async () => {
  const { initWasm } = await import('/www/glow.js');
  const { GlowApp } = await initWasm(); // the plain build (this runs on the page's thread)
  const bytes = new Uint8Array(await (await fetch('/www/models/default.safetensors')).arrayBuffer());
  window.app = await GlowApp.load(bytes, true);
});
const bpd = [];
for (let i = 0; i < files.length; i += 50) {
  const batch = files.slice(i, i + 50).map((f) => readFileSync(join(dir, f)).toString('base64'));
  bpd.push(...(await page.evaluate(async (imgs) => {
    const out = [];
    for (const b64 of imgs) {
      const bmp = await createImageBitmap(new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/jpeg' }));
      const c = new OffscreenCanvas(bmp.width, bmp.height);
      const ctx = c.getContext('2d');
      ctx.drawImage(bmp, 0, 0);
      out.push(await window.app.bits_per_dim(new Uint8Array(ctx.getImageData(0, 0, c.width, c.height).data.buffer), 0));
    }
    return out;
  }, batch)));
  console.log(`${bpd.length} / ${files.length} faces`);
}
await ctx.close();
const sorted = [...bpd].sort((a, b) => a - b);
const lo = Math.floor(sorted[0] * 20) / 20, hi = Math.ceil(sorted.at(-1) * 20) / 20;
const width = 0.05;
const counts = new Array(Math.round((hi - lo) / width)).fill(0);
for (const v of bpd) counts[Math.min(counts.length - 1, Math.floor((v - lo) / width))]++;
const q = (p) => Number(sorted[Math.floor(p * (sorted.length - 1))].toFixed(4));
const hist = {
  about: 'Bits/dim of www/models/default.safetensors on the first CelebA test-split faces (../shared/data/celeba64/test, by file name), GlowApp.bits_per_dim with dequantisation noise seed 0; written by benches/web/bpd-histogram.mjs',
  faces: bpd.length, mean: Number((bpd.reduce((s, v) => s + v, 0) / bpd.length).toFixed(4)),
  quantiles: { p01: q(0.01), p10: q(0.1), p50: q(0.5), p90: q(0.9), p99: q(0.99) },
  binStart: lo, binWidth: width, counts,
  sorted: sorted.map((v) => Number(v.toFixed(3))),
};
writeFileSync('www/models/default.bpd-hist.json', `${JSON.stringify(hist)}\n`);
console.log(JSON.stringify({ ...hist, sorted: undefined }));

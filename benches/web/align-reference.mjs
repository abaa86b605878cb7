// Measures where CelebA's aligned 64x64 crops (../shared/data/celeba64) put the eyes and the
// mouth, with the page's own detector (www/align.js, npm @vladmandic/face-api), over the first
// N test-split faces; writes the means (and spreads) to www/models/celeba-align.json, which the
// page aligns uploads to. Run: benches/web/align-reference.sh [N=300].
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const N = Number(process.argv[2] || 300);
const dir = join(process.env.DATA_DIR || '../shared/data', 'celeba64', 'test');
const files = readdirSync(dir).filter((f) => f.endsWith('.jpg')).sort().slice(0, N);
const ctx = await chromium.launchPersistentContext(process.env.USER_DATA_DIR || '/tmp/glow-align-profile', {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--no-first-run'],
});
const page = await ctx.newPage();
page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
await page.goto(`${process.env.BASE_URL}/benches/web/align.html`);
await page.waitForFunction(() => window.alignReady);
const found = [];
for (let i = 0; i < files.length; i += 25) {
  const batch = files.slice(i, i + 25).map((f) => readFileSync(join(dir, f)).toString('base64'));
  found.push(...(await page.evaluate(async (imgs) => {
    const out = [];
    for (const b64 of imgs) {
      const bmp = await createImageBitmap(new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/jpeg' }));
      const c = Object.assign(document.createElement('canvas'), { width: bmp.width, height: bmp.height });
      c.getContext('2d').drawImage(bmp, 0, 0);
      out.push(await window.align.landmarks(c));
    }
    return out;
  }, batch)));
  console.log(`${Math.min(i + 25, files.length)} / ${files.length} faces`);
}
await ctx.close();
const ok = found.filter(Boolean);
const stat = (k, j) => {
  const v = ok.map((p) => p[k][j]);
  const m = v.reduce((s, x) => s + x, 0) / v.length;
  return [m, Math.sqrt(v.reduce((s, x) => s + (x - m) ** 2, 0) / v.length)];
};
const point = (k) => [stat(k, 0)[0], stat(k, 1)[0]].map((x) => Number(x.toFixed(2)));
const spread = (k) => [stat(k, 0)[1], stat(k, 1)[1]].map((x) => Number(x.toFixed(2)));
const ref = {
  about: 'Mean eye and mouth centres (x, y pixels) of CelebA aligned crops as ../shared/data/celeba64 has them (64x64), found by www/align.js (@vladmandic/face-api tiny face detector + 68-point landmarks) on the first test-split faces; written by benches/web/align-reference.mjs',
  size: 64,
  faces: files.length,
  detected: ok.length,
  leftEye: point('leftEye'),
  rightEye: point('rightEye'),
  mouth: point('mouth'),
  spread: { leftEye: spread('leftEye'), rightEye: spread('rightEye'), mouth: spread('mouth') },
};
writeFileSync('www/models/celeba-align.json', `${JSON.stringify(ref, null, 2)}\n`);
console.log(JSON.stringify(ref));

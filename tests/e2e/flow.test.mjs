// What a flow offers that other face demos do not: the exact bits/dim of an encoded photo shown
// against the test split's (www/models/default.bpd-hist.json), and a direction taught on the
// page (mean latent difference of marked images) as a new slider, saved and loaded back.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { browserFor, check, encodePhoto, MODEL, modelConfig, open, OUT, pixels, results, sharedCases, slide, testPhoto, TIMEOUT } from './lib.mjs';
import { png } from './png.mjs';

const browser = browserFor('flow', { acceptDownloads: true });
export const closeAll = () => browser.close();
const onCpu = sharedCases(async () => {
  const page = await open(await browser(), { cpu: '1' }, 'flow-page.png');
  return { page, cfg: await modelConfig(page) };
});

onCpu('typical: a test face sits inside the test split\'s bits/dim, a noise picture far above it', async (page, cfg) => {
  if (MODEL) return console.log('skip: another model');
  const hist = JSON.parse(readFileSync('www/models/default.bpd-hist.json', 'utf8'));
  await encodePhoto(page, testPhoto(cfg, 3));
  await page.waitForFunction(() => document.body.dataset.photoBpd, null, { timeout: TIMEOUT });
  const face = await page.evaluate(() => ({ bpd: Number(document.body.dataset.photoBpd), p: Number(document.body.dataset.photoPercentile),
    text: document.getElementById('typical-text').textContent }));
  // the same number as the histogram's tool computes (GlowApp.bits_per_dim, noise seed 0)
  const want = hist.sorted.includes(Number(face.bpd.toFixed(3)));
  check(want && face.p > 0.01 && face.p < 0.99, 'a CelebA test face (one of those in the histogram) is among the test faces', `${face.text}`);
  await page.locator('#encode-panel').screenshot({ path: join(OUT, '40-typical-face.png') });
  let seed = 1;
  const noise = png(64, 64, () => { seed = (seed * 1103515245 + 12345) >>> 0; return [seed & 255, (seed >> 8) & 255, (seed >> 16) & 255, 255]; });
  await page.evaluate(() => { delete document.body.dataset.photoBpd; });
  await encodePhoto(page, { name: 'noise.png', mimeType: 'image/png', buffer: noise });
  await page.waitForFunction(() => document.body.dataset.photoBpd, null, { timeout: TIMEOUT });
  const n = await page.evaluate(() => ({ bpd: Number(document.body.dataset.photoBpd), p: Number(document.body.dataset.photoPercentile),
    text: document.getElementById('typical-text').textContent }));
  check(n.p === 1 && n.bpd > hist.quantiles.p99 + 1 && /very unusual/.test(n.text), 'uniform noise is far less likely than any test face', n.text);
  results.typical = { face: face.bpd, noise: n.bpd, test_median: hist.quantiles.p50 };
});

onCpu('teach: marked images make a slider of mean(with) - mean(without), saved and loaded back as a file', async (page) => {
  const zs = await page.evaluate(async () => {
    const c = document.getElementById('grid');
    const w = c.width / 4, h = c.height / 2;
    const ctx = c.getContext('2d');
    const out = [];
    for (const i of [0, 1, 2, 3]) {
      const px = new Uint8Array(ctx.getImageData((i % 4) * w, Math.floor(i / 4) * h, w, h).data.buffer);
      out.push(Array.from(await window.glowDebug.call('encode', px)));
    }
    return out;
  });
  await page.click('#teach summary');
  await page.fill('#teach-name', 'test_dir');
  for (const [key, kind] of [['s0', 'with'], ['s1', 'with'], ['s2', 'without'], ['s3', 'without']]) {
    await page.selectOption('#edit-src', key);
    const before = await page.textContent('#teach-counts');
    await page.click(`#teach-${kind}`);
    await page.waitForFunction((b) => document.getElementById('teach-counts').textContent !== b, before, { timeout: TIMEOUT });
  }
  check(/2 with, 2 without/.test(await page.textContent('#teach-counts')), 'four images marked', await page.textContent('#teach-counts'));
  await page.click('#teach-make');
  const slider = '#sliders input[data-taught]';
  await page.waitForSelector(slider);
  await page.selectOption('#edit-src', 's2');
  await slide(page, slider, 1);
  await page.waitForFunction(() => / 1\.6$/.test(document.getElementById('edited').dataset.shows ?? '') &&
    document.getElementById('edited').dataset.shows.startsWith('s2 '), null, { timeout: TIMEOUT });
  const shown = await pixels(page, 'edited');
  // the same edit by hand: z(s2) + 1.6 (mean(z0, z1) - mean(z2, z3)), with every loaded slider at 0
  const want = await page.evaluate(async (zs) => {
    const d = zs[0].map((_, i) => (zs[0][i] + zs[1][i]) / 2 - (zs[2][i] + zs[3][i]) / 2);
    const z = Float64Array.from(zs[2].map((v, i) => v + 1.6 * d[i]));
    return Array.from(await window.glowDebug.call('decode', z));
  }, zs);
  const diff = shown.filter((v, i) => v !== want[i]).length;
  check(diff === 0, 'the taught slider adds 1.6 x mean(with) - mean(without)', `${diff} bytes differ`);
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 30000 }), page.click('#teach-save')]);
  const file = join(OUT, 'taught.attributes.safetensors');
  await dl.saveAs(file);
  const buf = readFileSync(file);
  const hl = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + hl).toString());
  const t = header['attr.test_dir'];
  const vals = new Float32Array(buf.buffer.slice(buf.byteOffset + 8 + hl + t.data_offsets[0], buf.byteOffset + 8 + hl + t.data_offsets[1]));
  const d0 = (zs[0][0] + zs[1][0]) / 2 - (zs[2][0] + zs[3][0]) / 2;
  check(t.dtype === 'F32' && t.shape[0] === zs[0].length && Math.abs(vals[0] - d0) < 1e-6 * Math.max(1, Math.abs(d0)), 'the saved file holds the direction as attr.test_dir',
    `${dl.suggestedFilename()}: ${t.dtype} [${t.shape}]`);
  await page.setInputFiles('#attributes-input', file);
  await page.waitForFunction(() => [...document.querySelectorAll('#sliders span')].some((s) => s.textContent === 'test dir'), null, { timeout: TIMEOUT });
  check(true, 'and loads back through the attributes input as a slider');
  await page.locator('#edit-panel').screenshot({ path: join(OUT, '41-taught-direction.png') });
  await page.click('#model-default').catch(() => {});
});

// Face detection and alignment (www/align.js): a CelebA test face pasted shifted, scaled and
// rotated into a larger picture comes out aligned with its eyes and mouth within a few pixels
// of CelebA's reference positions (www/models/celeba-align.json); a picture without a face
// says so; moving the crop box overrides the alignment.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { browserFor, check, drawn, encodePhoto, MODEL, modelConfig, open, OUT, results, sharedCases, testPhoto, TIMEOUT, version } from './lib.mjs';
import { png } from './png.mjs';

const browser = browserFor('align', {});
export const closeAll = () => browser.close();
const onCpu = sharedCases(async () => {
  const page = await open(await browser(), { cpu: '1' }, 'align-page.png');
  return { page, cfg: await modelConfig(page) };
});

const dist = (p, q) => Math.hypot(p[0] - q[0], p[1] - q[1]);

/** Test face `k` pasted into a 320x256 grey picture: scaled by `s`, rotated by `deg`, centred at (cx, cy). */
const composed = (page, face, { s, deg, cx, cy }) =>
  page.evaluate(async ([b64, s, deg, cx, cy]) => {
    const bmp = await createImageBitmap(new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/jpeg' }));
    const c = Object.assign(document.createElement('canvas'), { width: 320, height: 256 });
    const ctx = c.getContext('2d');
    ctx.fillStyle = '#777';
    ctx.fillRect(0, 0, 320, 256);
    ctx.translate(cx, cy);
    ctx.rotate((deg * Math.PI) / 180);
    ctx.scale(s, s);
    ctx.drawImage(bmp, -bmp.width / 2, -bmp.height / 2);
    return c.toDataURL('image/png').split(',')[1];
  }, [readFileSync(face).toString('base64'), s, deg, cx, cy]);

onCpu('align: a shifted, scaled and rotated face lands within a few pixels of the reference positions', async (page, cfg) => {
  if (MODEL) return console.log('skip: another model');
  const W = cfg.image_width;
  const worst = [];
  for (const [k, t] of [[1, { s: 2.2, deg: 15, cx: 190, cy: 120 }], [9, { s: 1.6, deg: -10, cx: 110, cy: 140 }]]) {
    const face = testPhoto(cfg, k);
    const b64 = await composed(page, face, t);
    await encodePhoto(page, { name: `moved-${k}.png`, mimeType: 'image/png', buffer: Buffer.from(b64, 'base64') }, 0, true);
    const st = await page.evaluate(() => ({ aligned: document.body.dataset.aligned, note: document.getElementById('photo-note').textContent,
      label: document.getElementById('encode-time').textContent, box: { ...document.getElementById('crop-box').dataset } }));
    check(st.aligned === 'face' && /Face found/.test(st.note) && /face aligned/.test(st.label), `face ${k}: found and aligned before encoding`, st.note);
    // ground truth: the face's own landmarks (found on the CelebA crop itself), moved as the
    // picture was composed, then through the page's alignment, against the reference
    const { orig, ref, T, again } = await page.evaluate(async (b64) => {
      const a = await import('/www/align.js');
      const bmp = await createImageBitmap(new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/jpeg' }));
      const c = Object.assign(document.createElement('canvas'), { width: bmp.width, height: bmp.height });
      c.getContext('2d').drawImage(bmp, 0, 0);
      return { orig: await a.landmarks(c), ref: await a.referencePoints(), T: JSON.parse(document.body.dataset.alignTransform),
        again: await a.landmarks(document.getElementById('original')) };
    }, readFileSync(face).toString('base64'));
    const th = (t.deg * Math.PI) / 180;
    const G = ([x, y]) => [t.cx + t.s * (Math.cos(th) * (x - 32) - Math.sin(th) * (y - 32)), t.cy + t.s * (Math.sin(th) * (x - 32) + Math.cos(th) * (y - 32))];
    const A = ([x, y]) => [T[0] * x - T[1] * y + T[2], T[1] * x + T[0] * y + T[3]];
    const s = W / ref.size;
    const keys = ['leftEye', 'rightEye', 'mouth'];
    const d = orig ? keys.map((p) => dist(A(G(orig[p])), ref[p].map((v) => v * s))) : [Infinity];
    const own = orig ? keys.map((p) => dist(orig[p], ref[p])) : [];
    console.log(`face ${k} (x${t.s}, ${t.deg} deg, at ${t.cx},${t.cy}): aligned eyes/mouth ${d.map((v) => v.toFixed(2)).join(' / ')} px from the reference` +
      ` (as CelebA crops it: ${own.map((v) => v.toFixed(2)).join(' / ')} px; found again on the aligned input: ${again ? keys.map((p) => dist(again[p], ref[p]).toFixed(2)).join(' / ') : 'not found'})`);
    worst.push(Math.max(...d));
    check(Math.max(...d) <= 3, `face ${k}: aligned eyes and mouth within 3 px of CelebA's reference positions`, d.map((v) => v.toFixed(2)).join(' / '));
    const box = { x: Number(st.box.x), y: Number(st.box.y), s: Number(st.box.s) };
    const centre = [box.x + box.s / 2, box.y + box.s / 2];
    check(dist(centre, [t.cx, t.cy]) < 0.15 * 64 * t.s && Math.abs(box.s / (64 * t.s) - 1) < 0.2, `face ${k}: the crop box marks the face`, JSON.stringify(box));
  }
  await page.locator('#encode-panel').screenshot({ path: join(OUT, '30-aligned-face.png') });
  results.align_worst_px = worst;
});

onCpu('align: a picture without a face says so and is encoded through the crop square', async (page) => {
  const v = await version(page, 'reconstruction');
  const buffer = png(200, 160, (x, y) => [x, y, (x * y) % 256, 255]);
  await page.check('input[name="slot"][value="1"]');
  await page.$eval('#align-on', (el) => { el.checked = true; });
  await page.setInputFiles('#photo-input', { name: 'pattern.png', mimeType: 'image/png', buffer });
  await drawn(page, 'reconstruction', v);
  const note = await page.textContent('#photo-note');
  check(/No face found/.test(note) && /\[160x160 at 20,0\]/.test(await page.textContent('#encode-time')), 'no face: the page says so and uses the crop', note);
});

onCpu('align: moving the crop box overrides the alignment for that photo', async (page, cfg) => {
  if (MODEL) return console.log('skip: another model');
  const b64 = await composed(page, testPhoto(cfg, 9), { s: 1.6, deg: -10, cx: 110, cy: 140 });
  await encodePhoto(page, { name: 'moved-9.png', mimeType: 'image/png', buffer: Buffer.from(b64, 'base64') }, 0, true);
  await page.waitForFunction(() => /face aligned/.test(document.getElementById('encode-time').textContent), null, { timeout: TIMEOUT });
  const v = await version(page, 'reconstruction');
  await page.focus('#crop-box');
  await page.keyboard.press('Shift+ArrowUp');
  await drawn(page, 'reconstruction', v);
  await page.waitForFunction(() => /\[\d+x\d+ at/.test(document.getElementById('encode-time').textContent), null, { timeout: TIMEOUT });
  check(/Your crop square/.test(await page.textContent('#photo-note')), 'the crop square takes over and the page says so', await page.textContent('#photo-note'));
});

// "How typical is this face for the model": a flow has the exact likelihood, so the encoded
// photo's bits/dim is shown against the test split's (`<model>.bpd-hist.json`, written by
// benches/web/bpd-histogram.mjs; only models that ship one get the comparison).
import { call, job } from './page.js';
import { $ } from './ui.js';

let hist = null;

/** The test split's bits/dim beside a model URL, when it ships one (else the panel stays hidden). */
export async function loadTypical(modelUrl) {
  hist = null;
  $('typical').hidden = true;
  try {
    const r = await fetch(modelUrl.replace(/\.safetensors$/, '.bpd-hist.json'));
    if (r.ok) hist = await r.json();
  } catch {
    hist = null;
  }
}
export const forgetTypical = () => { hist = null; $('typical').hidden = true; };

/** The share of test faces with fewer bits/dim than `bpd` (0 … 1). */
export function percentile(bpd, sorted) {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (sorted[m] < bpd) lo = m + 1;
    else hi = m;
  }
  return lo / sorted.length;
}

function draw(bpd) {
  const c = $('typical-hist');
  const ctx = c.getContext('2d');
  const { counts, binStart, binWidth } = hist;
  const lo = Math.min(binStart, bpd - binWidth), hi = Math.max(binStart + counts.length * binWidth, bpd + binWidth);
  const x = (v) => ((v - lo) / (hi - lo)) * c.width;
  const top = Math.max(...counts);
  ctx.clearRect(0, 0, c.width, c.height);
  ctx.fillStyle = '#9aa6d6';
  counts.forEach((n, i) => {
    const h = (n / top) * (c.height - 12);
    ctx.fillRect(x(binStart + i * binWidth), c.height - h, Math.max(1, x(binWidth) - x(0) - 1), h);
  });
  ctx.fillStyle = '#b3261e';
  ctx.fillRect(x(bpd) - 1, 0, 3, c.height);
}

/** Bits/dim of the model input `pixels` (RGBA), against the test split's. */
export async function showTypical(pixels, name) {
  if (!hist) return;
  // a likelihood too small for f32 (log p = -inf: the library reports a non-finite value) is
  // less likely than anything the histogram holds: shown as infinitely many bits/dim
  const bpd = await job('encode', () =>
    call('bitsPerDim', pixels, 0).catch((e) => {
      if (/non-finite value/.test(String((e && e.message) || e))) return Infinity;
      throw e;
    }),
  );
  if (bpd === undefined) return;
  const p = percentile(bpd, hist.sorted);
  const pct = Math.round(100 * p);
  const rank = p === 1 ? `more than all ${hist.faces}` : p === 0 ? `fewer than all ${hist.faces}` : `more than ${pct}% of ${hist.faces}`;
  const verdict = p > 0.99 ? 'very unusual for this model' : p > 0.9 ? 'less typical than most test faces' : p < 0.1 ? 'more typical than most test faces' : 'typical';
  $('typical').hidden = false;
  draw(bpd);
  const shown = Number.isFinite(bpd) ? bpd.toFixed(3) : 'more than f32 can hold (log p underflows)';
  const text = `${name}: ${shown} bits/dim, ${rank} CelebA test faces (median ${hist.quantiles.p50.toFixed(3)}): ${verdict}.`;
  $('typical-text').textContent = text;
  $('typical-hist').setAttribute('aria-label', `histogram of the test faces' bits/dim with this photo's ${bpd.toFixed(3)} marked`);
  document.body.dataset.photoBpd = String(bpd);
  document.body.dataset.photoPercentile = String(p);
}

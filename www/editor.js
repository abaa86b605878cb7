// The edit panel: one slider per attribute direction (`<model>.attributes.safetensors`, or a
// file loaded beside user weights), `z + Σ 1.6·α·d` on the chosen image, the image before and
// after side by side (kept in view while the sliders move: see style.css), each slider's value
// shown, and directions taught on the page (www/teach.js). Directions belong to one model:
// loading a model removes them until its own come back.
import { call, endpoint, endpointName, job, page } from './page.js';
import { drawImages } from './pixels.js';
import { $ } from './ui.js';
import { latest } from './util.js';

/** The official demo scaled its attribute directions by 1.6. */
export const SCALE = 1.6;
/** Sliders go from -RANGE to +RANGE, unless the model ships a narrower range for a direction. */
export const RANGE = 2;

// the attributes people reach for first, then the rest in the file's (alphabetical) order
const FIRST = ['Smiling', 'Male', 'Young', 'Blond_Hair', 'Black_Hair', 'Eyeglasses', 'Wearing_Hat', 'Bald', 'Mustache', 'Heavy_Makeup'];

const taught = []; // directions taught on this page (www/teach.js): Float64Arrays

/** A new model: its directions are not loaded yet, taught ones belong to the old model. */
export function hideDirections() {
  $('sliders').replaceChildren();
  taught.length = 0;
  document.body.dataset.directions = '0';
  $('edit-none').hidden = false;
}

/** Loads directions from `bytes` for the current model and shows their sliders; throws (and
 * keeps the panel as it was) on a bad file. `ranges` (`<model>.edit-range.json`'s `ranges`,
 * name -> [lo, hi] in slider units) narrows the sliders of the directions it names to the range
 * the model was measured to decode; the others run -RANGE … RANGE. Runs inside a job: call
 * `edit()` after it. */
export async function showDirections(bytes, source, ranges = null) {
  const names = await call('loadAttributes', bytes);
  const box = $('sliders');
  for (const l of [...box.children]) if (l.querySelector('input').dataset.index !== undefined) l.remove();
  $('edit-none').hidden = true;
  const rank = (n) => (FIRST.includes(n) ? FIRST.indexOf(n) : FIRST.length);
  const order = [...names.keys()].sort((a, b) => rank(names[a]) - rank(names[b]) || a - b);
  for (const i of order) addSlider(i, names[i], null, ranges?.[names[i]]);
  $('edit-panel').dataset.source = source;
  document.body.dataset.directions = String(names.length);
}

/** A taught direction's slider (after the loaded ones). */
export function addTaughtSlider(name, d) {
  taught.push(d);
  addSlider(null, `${name} (taught)`, taught.length - 1);
  $('edit-none').hidden = true;
  edit();
}

/** A slider's range: [lo, hi] from the model's measured ranges (within ±RANGE, around 0), or ±RANGE. */
function sliderRange(r) {
  const ok = Array.isArray(r) && r.length === 2 && r.every(Number.isFinite) && r[0] <= 0 && r[1] >= 0;
  return ok ? [Math.max(-RANGE, r[0]), Math.min(RANGE, r[1])] : [-RANGE, RANGE];
}

function addSlider(i, name, t = null, range = null) {
  const label = document.createElement('label');
  const text = Object.assign(document.createElement('span'), { textContent: name.replace(/_/g, ' ') });
  const [lo, hi] = sliderRange(range);
  const input = Object.assign(document.createElement('input'), { type: 'range', min: lo, max: hi, step: 0.1, value: 0 });
  if (lo !== -RANGE || hi !== RANGE) {
    input.title = `${lo.toFixed(1)} … ${hi.toFixed(1)}: where test faces still decode to an image, with a margin (further out the model's inverse overflows)`;
  }
  const out = Object.assign(document.createElement('output'), { textContent: '0.0' });
  if (t === null) input.dataset.index = String(i);
  else input.dataset.taught = String(t);
  input.setAttribute('aria-label', `${text.textContent} strength`);
  input.addEventListener('input', () => {
    out.textContent = Number(input.value).toFixed(1);
    edit();
  });
  label.append(text, input, out);
  $('sliders').append(label);
}

/** The edit weights by direction index (the sliders are shown in another order). */
export function alphas() {
  const a = [];
  for (const s of $('sliders').querySelectorAll('input[data-index]')) a[Number(s.dataset.index)] = SCALE * Number(s.value);
  return a;
}

/** `z` plus the taught directions at weights `tw` (read when the edit started). */
function withTaught(z, tw) {
  const out = Float64Array.from(z);
  tw.forEach((w, k) => {
    const d = taught[k];
    if (w) for (let i = 0; i < out.length; i++) out[i] += w * d[i];
  });
  return out;
}

export const edit = latest(async () => {
  await job('edit', async () => {
    const key = $('edit-src').value;
    const z = await endpoint(key);
    if (!z) return;
    const w = alphas();
    const tw = [...$('sliders').querySelectorAll('input[data-taught]')].map((s) => SCALE * Number(s.value));
    const moved = [...$('sliders').querySelectorAll('input')].filter((s) => Number(s.value) !== 0);
    const what = moved.map((s) => `${s.previousSibling.textContent} ${Number(s.value).toFixed(1)}`).join(', ') || 'no edits';
    if ($('edit-before').dataset.shows !== `${key} ${page.version}`) {
      drawImages($('edit-before'), await call('decode', z), 1, page.w, page.h);
      $('edit-before').dataset.shows = `${key} ${page.version}`;
      $('edit-before').setAttribute('aria-label', `${endpointName(key)} before editing`);
    }
    const t0 = performance.now();
    let img;
    try {
      img = await call('decode', withTaught(await call('edit', z, w), tw));
    } catch (e) {
      const msg = String((e && e.message) || e);
      if (!/non-finite/.test(msg)) throw e;
      // an edit too far for this face: the inverse overflows f32 (the library reports it rather
      // than drawing NaN pixels). The last edit that decoded stays on screen, and the panel says so.
      $('edited').dataset.failed = `${key} ${[...w, ...tw].join(' ')}`;
      const kept = $('edited').dataset.shows ? `the image shows the last edit that decoded (${$('edited').dataset.what})` : 'nothing is shown';
      $('edit-time').textContent = `${what} · did not decode; ${kept}`;
      throw new Error(`${endpointName(key)} with ${what} does not decode to an image: the edit moves its latent so far from the faces ` +
        `the model was trained on that the inverse overflows f32. Move the slider back; ${kept}. (${msg})`);
    }
    delete $('edited').dataset.failed;
    drawImages($('edited'), img, 1, page.w, page.h);
    $('edited').dataset.shows = `${key} ${[...w, ...tw].join(' ')}`; // what is drawn (the e2e test waits on it)
    $('edited').dataset.what = `${endpointName(key)}, ${what}`;
    $('edited').setAttribute('aria-label', `${endpointName(key)} edited: ${what}`);
    $('edit-time').textContent = `${what} · decoded in ${(performance.now() - t0).toFixed(0)} ms`;
  });
});

export function wireEditor() {
  $('edit-src').addEventListener('change', () => edit());
  $('edit-reset').addEventListener('click', () => {
    for (const s of $('sliders').querySelectorAll('input')) {
      s.value = '0';
      s.nextSibling.textContent = '0.0';
    }
    edit();
  });
}

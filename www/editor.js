// The edit panel: one slider per attribute direction (`<model>.attributes.safetensors`, or a
// file loaded beside user weights), `z + Σ 1.6·α·d` on the chosen image, the image before and
// after side by side (kept in view while the sliders move: see style.css), each slider's value
// shown. Directions belong to one model: loading a model hides them until its own come back.
import { call, endpoint, endpointName, job, page } from './page.js';
import { drawImages } from './pixels.js';
import { $ } from './ui.js';
import { latest } from './util.js';

/** The official demo scaled its attribute directions by 1.6. */
export const SCALE = 1.6;
const RANGE = 2; // sliders go from -RANGE to +RANGE

// the attributes people reach for first, then the rest in the file's (alphabetical) order
const FIRST = ['Smiling', 'Male', 'Young', 'Blond_Hair', 'Black_Hair', 'Eyeglasses', 'Wearing_Hat', 'Bald', 'Mustache', 'Heavy_Makeup'];

export function hideDirections() {
  $('edit-panel').hidden = true;
  $('sliders').replaceChildren();
  document.body.dataset.directions = '0';
}

/** Loads directions from `bytes` for the current model and shows their sliders; throws (and
 * keeps the panel as it was) on a bad file. Runs inside a job: call `edit()` after it. */
export async function showDirections(bytes, source) {
  const names = await call('loadAttributes', bytes);
  const box = $('sliders');
  box.replaceChildren();
  const rank = (n) => (FIRST.includes(n) ? FIRST.indexOf(n) : FIRST.length);
  const order = [...names.keys()].sort((a, b) => rank(names[a]) - rank(names[b]) || a - b);
  for (const i of order) addSlider(i, names[i]);
  $('edit-panel').hidden = false;
  $('edit-panel').dataset.source = source;
  document.body.dataset.directions = String(names.length);
}

function addSlider(i, name) {
  const label = document.createElement('label');
  const text = Object.assign(document.createElement('span'), { textContent: name.replace(/_/g, ' ') });
  const input = Object.assign(document.createElement('input'), { type: 'range', min: -RANGE, max: RANGE, step: 0.1, value: 0 });
  const out = Object.assign(document.createElement('output'), { textContent: '0.0' });
  input.dataset.index = String(i);
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
  for (const s of $('sliders').querySelectorAll('input')) a[Number(s.dataset.index)] = SCALE * Number(s.value);
  return a;
}

export const edit = latest(async () => {
  if ($('edit-panel').hidden) return;
  await job('edit', async () => {
    const key = $('edit-src').value;
    const z = await endpoint(key);
    if (!z) return;
    const w = alphas();
    const t0 = performance.now();
    const img = await call('decode', await call('edit', z, w));
    if ($('edit-before').dataset.shows !== `${key} ${page.version}`) {
      drawImages($('edit-before'), await call('decode', z), 1, page.w, page.h);
      $('edit-before').dataset.shows = `${key} ${page.version}`;
      $('edit-before').setAttribute('aria-label', `${endpointName(key)} before editing`);
    }
    drawImages($('edited'), img, 1, page.w, page.h);
    $('edited').dataset.shows = `${key} ${w.join(' ')}`; // what is drawn (the e2e test waits on it)
    const moved = [...$('sliders').querySelectorAll('input')].filter((s) => Number(s.value) !== 0);
    const what = moved.map((s) => `${s.previousSibling.textContent} ${Number(s.value).toFixed(1)}`).join(', ') || 'no edits';
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

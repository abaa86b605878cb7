// The interpolate panel: between any two of the samples and the photo slots, one frame at t
// (slider), the whole morph as a strip, or played as an animation.
import { call, endpoint, endpointName, job, page } from './page.js';
import { drawImages } from './pixels.js';
import { $ } from './ui.js';
import { latest } from './util.js';

const STRIP = 8;
const ANIM = 16;
const FPS = 12;
const anim = { frames: null, key: '', playing: false, loading: false, i: 0, dir: 1, last: 0, want: false };
const ends = () => [$('interp-a').value, $('interp-b').value];
const morphKey = () => `${ends().join('|')}|${page.version}`;

export const interpolate = latest(async () => {
  const t = Number($('interp-t').value);
  $('interp-t-value').textContent = t.toFixed(2);
  await job('interp', async () => {
    const [ka, kb] = ends();
    const a = await endpoint(ka);
    const b = await endpoint(kb);
    if (!a || !b) return;
    const t0 = performance.now();
    const img = await call('decode', await call('interpolate', a, b, t));
    drawImages($('interp'), img, 1, page.w, page.h);
    $('interp').dataset.shows = `${ka} ${kb} ${t}`; // what is drawn (the e2e test waits on it)
    $('interp').setAttribute('aria-label', `${t.toFixed(2)} of the way from ${endpointName(ka)} to ${endpointName(kb)}`);
    $('interp-time').textContent = `t = ${t.toFixed(2)} · decoded in ${(performance.now() - t0).toFixed(0)} ms`;
  });
});

/** The whole interpolation as one strip of STRIP frames (t = 0 … 1), decoded in one batch. */
async function renderStrip() {
  const button = $('strip-render');
  button.textContent = 'Rendering the morph…';
  await job('interp', async () => {
    const [ka, kb] = ends();
    const a = await endpoint(ka);
    const b = await endpoint(kb);
    if (!a || !b) return;
    const t0 = performance.now();
    const img = await call('morph', a, b, STRIP);
    drawImages($('strip'), img, STRIP, page.w, page.h, STRIP);
    $('strip').hidden = false;
    $('strip').setAttribute('aria-label', `the morph from ${endpointName(ka)} to ${endpointName(kb)} as a strip of ${STRIP} frames`);
    $('interp-time').textContent = `morph of ${STRIP} frames decoded in ${(performance.now() - t0).toFixed(0)} ms`;
  });
  button.textContent = 'Render the morph';
}

async function morphFrames() {
  const key = morphKey();
  if (anim.frames && anim.key === key) return anim.frames;
  anim.loading = true;
  try {
    const frames = await job('interp', async () => {
      const a = await endpoint($('interp-a').value);
      const b = await endpoint($('interp-b').value);
      return a && b ? call('morph', a, b, ANIM) : null;
    });
    if (frames) Object.assign(anim, { frames, key, i: 0, dir: 1 });
    return frames;
  } finally {
    anim.loading = false;
  }
}

/** The Play button's three states: stopped, preparing (frames being decoded), playing. */
function showPlay() {
  const b = $('morph-play');
  const state = anim.playing ? 'playing' : anim.want ? 'preparing' : 'stopped';
  b.textContent = { stopped: '▶ Play the morph', preparing: '⏳ Preparing the morph… (press to cancel)', playing: '❚❚ Pause the morph' }[state];
  b.setAttribute('aria-pressed', String(state !== 'stopped'));
  document.body.dataset.morphPlaying = anim.playing ? '1' : '0';
  document.body.dataset.morph = state;
}

export function stopMorph() {
  anim.playing = false;
  anim.want = false;
  anim.frames = null;
  $('strip').hidden = true;
  $('morph').hidden = true;
  showPlay();
}

async function toggleMorph() {
  if (anim.playing || anim.want) {
    anim.playing = false;
    anim.want = false;
    return showPlay();
  }
  anim.want = true;
  showPlay();
  const frames = await morphFrames();
  if (!anim.want) return; // cancelled while preparing
  anim.want = false;
  if (!frames) return showPlay();
  anim.playing = true;
  showPlay();
  $('morph').hidden = false;
  anim.last = 0;
  requestAnimationFrame(tick);
}

function tick(t) {
  if (!anim.playing) return;
  if (t - anim.last >= 1000 / FPS) {
    anim.last = t;
    const size = page.w * page.h * 4;
    drawImages($('morph'), anim.frames.subarray(anim.i * size, (anim.i + 1) * size), 1, page.w, page.h);
    if (anim.i + anim.dir < 0 || anim.i + anim.dir >= ANIM) anim.dir = -anim.dir;
    anim.i += anim.dir;
    // new endpoints while playing: fetch their frames, keep playing
    if (anim.key !== morphKey() && !anim.loading) morphFrames();
  }
  requestAnimationFrame(tick);
}

export function wireMorph() {
  $('interp-t').addEventListener('input', () => interpolate());
  $('interp-a').addEventListener('change', () => interpolate());
  $('interp-b').addEventListener('change', () => interpolate());
  $('strip-render').addEventListener('click', () => renderStrip());
  $('morph-play').addEventListener('click', () => toggleMorph());
  showPlay();
}

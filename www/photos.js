// The encode panel: two photo slots, each a picture file, a dropped image or a camera frame
// under its own crop square. A photo chosen while the model loads waits in its slot and is
// encoded once the model is ready. Small images are scaled up (with a note), tiny ones refused,
// transparent pixels put on black (with a note). With "Align the face" on (colour models), the
// face is found and warped to CelebA's framing (www/align.js) before it is encoded; the crop
// box then marks the face, and moving it is a manual override for that photo.
import { alignFace, apply } from './align.js';
import { cameraAvailable, closeCamera, grabFrame, openCamera } from './camera.js';
import { Cropper } from './crop.js';
import { call, fillEndpoints, job, page } from './page.js';
import { drawImages, roundTripCheck, transparentPixels } from './pixels.js';
import { showTypical } from './typical.js';
import { $, showError } from './ui.js';
import { latest } from './util.js';

/** Smallest side accepted (smaller pictures hold no face to speak of). */
export const MIN_SIDE = 8;

let active = 0; // the slot the crop box edits
let onEncoded = () => {};
const cropper = new Cropper($('crop'), () => {
  const p = page.photos[active];
  if (p?.aligned && !p.manual) {
    p.manual = true;
    p.notes = [...p.notes.filter((n) => !/^Face found/.test(n)), 'Your crop square is used for this photo (the alignment is off until you choose it again).'];
    note(p.notes.join(' '));
  }
  encodeCrop();
});
const alignWanted = () => $('align-on').checked && (!page.info || page.info.channels === 3);

/** Finds the face of slot `p` and aligns it (or says there is none); shows where it is. */
async function align(p) {
  if (!alignWanted()) return;
  const w = page.w || 64, h = page.h || 64;
  try {
    p.aligned = await alignFace(p.image, w, h);
  } catch (e) {
    p.notes.push(`Face alignment is unavailable (${e?.message ?? e}): the crop square is used.`);
    return;
  }
  if (!p.aligned) {
    p.notes.push('No face found in this photo: the crop square is used; move it over the face.');
    return;
  }
  const { points, transform, score } = p.aligned;
  document.body.dataset.alignTransform = JSON.stringify(transform); // (the e2e test checks it)
  p.notes.push(`Face found (score ${score.toFixed(2)}): aligned so its eyes and mouth sit where CelebA's do.`);
  // the crop box marks the aligned square (its rotation aside): centre and size in the photo
  const k = Math.hypot(transform[0], transform[1]);
  const inv = [transform[0] / k / k, -transform[1] / k / k];
  const c = apply([inv[0], inv[1], 0, 0], [w / 2 - transform[2], h / 2 - transform[3]]);
  p.rect = { x: c[0] - w / k / 2, y: c[1] - h / k / 2, s: w / k };
  p.points = points;
}

/** The model's input for slot `p`: its aligned face, or its crop square. */
function inputPixels(p) {
  if (p.aligned && !p.manual && alignWanted() && p.aligned.canvas.width === page.w) {
    const ctx = p.aligned.canvas.getContext('2d', { willReadFrequently: true });
    return new Uint8Array(ctx.getImageData(0, 0, page.w, page.h).data.buffer);
  }
  return cropper.pixels(page.w, page.h, page.info.channels === 1);
}

const note = (text) => { $('photo-note').textContent = text; };

function slotState(i) {
  const p = page.photos[i];
  $(`slot-state-${i}`).textContent = !p ? '(empty)' : p.z ? `(${p.name})` : `(${p.name}, waiting for the model)`;
}

/** A picture (canvas image source of `w`x`h`) into the active slot; encoded when the model is ready. */
export function setPhoto(image, w, h, name) {
  showError('', 'encode');
  if (Math.min(w, h) < MIN_SIDE) {
    showError(`${name} is ${w}x${h} pixels: too small to hold a face (at least ${MIN_SIDE}x${MIN_SIDE}).`, 'encode');
    return false;
  }
  const copy = Object.assign(document.createElement('canvas'), { width: w, height: h });
  copy.getContext('2d').drawImage(image, 0, 0);
  const notes = [];
  const clear = transparentPixels(copy);
  if (clear) notes.push(`${clear} transparent pixel${clear > 1 ? 's were' : ' was'} put on black.`);
  if (page.info && Math.min(w, h) < Math.min(page.w, page.h)) {
    notes.push(`The picture is ${w}x${h}: its crop is scaled up to ${page.w}x${page.h}, so expect a blurry face.`);
  }
  const p = { image: copy, rect: null, name, z: null, notes, aligned: null, manual: false };
  page.photos[active] = p;
  slotState(active);
  if (!page.info) notes.push('The model is still loading: this photo will be encoded as soon as it is ready.');
  note([...notes, alignWanted() ? 'Looking for a face…' : ''].join(' '));
  cropper.setSource(copy, w, h, name, null, true);
  p.rect = { ...cropper.rect };
  p.ready = align(p).then(() => {
    if (page.photos[active] === p) {
      cropper.setSource(copy, w, h, name, p.rect, true);
      p.rect = { ...cropper.rect };
      note(p.notes.join(' '));
    }
    document.body.dataset.aligned = p.aligned ? 'face' : 'none';
  });
  p.ready.then(() => page.photos[active] === p && encodeCrop());
  return true;
}

async function encodeFile(file) {
  if (!file) return;
  let bmp;
  try {
    bmp = await createImageBitmap(file);
  } catch (e) {
    showError(`could not read ${file.name} as an image: ${e?.message ?? e}`, 'encode');
    return;
  }
  setPhoto(bmp, bmp.width, bmp.height, file.name);
  bmp.close();
}

/** Encodes the active slot's crop: the input as the model sees it, and decode(encode(x)). */
export const encodeCrop = latest(async () => {
  const slot = active;
  const p = page.photos[slot];
  if (!p || !cropper.ready || !page.info) return;
  await p.ready;
  if (page.photos[slot] !== p) return;
  p.rect = { ...cropper.rect };
  $('crop-help').hidden = false;
  const pixels = inputPixels(p);
  const { x, y, s } = cropper.rect;
  const label = p.aligned && !p.manual && alignWanted() ? `${p.name} [face aligned]` : `${p.name} [${s}x${s} at ${x},${y}]`;
  const ok = await job('encode', async () => {
    const input = await call('prepareImage', pixels);
    drawImages($('original'), input, 1, page.w, page.h);
    const t0 = performance.now();
    const z = await call('encode', pixels);
    const tEnc = performance.now() - t0;
    // the encoding stands even when decoding it back fails (a picture far from the data can
    // overflow f32 in the inverse: the library reports that instead of drawing NaN pixels)
    let back = null;
    let failed = '';
    try {
      back = await call('decode', z);
    } catch (e) {
      failed = String((e && e.message) || e);
    }
    // no reconstruction to show: an empty (transparent) square in its place; the text says why
    drawImages($('reconstruction'), back || new Uint8Array(page.w * page.h * 4), 1, page.w, page.h);
    $('reconstruction').setAttribute('aria-label', back ? `photo ${slot + 1} decoded from its latent: ${label}` : `photo ${slot + 1}: decoding failed`);
    p.z = z;
    p.pixels = pixels;
    page.version++;
    $('encode-time').textContent = back
      ? `${label}: encoded in ${tEnc.toFixed(0)} ms, decoded in ${(performance.now() - t0 - tEnc).toFixed(0)} ms`
      : `${label}: encoded in ${tEnc.toFixed(0)} ms; decoding it back failed (${failed}): the picture is far from what the model was trained on`;
    document.body.dataset.encodeMs = tEnc.toFixed(1);
    p.roundTrip = back ? roundTripCheck(input, back, page.info.channels, page.info.nBits) : null;
    showRoundTrip(p, slot);
    return true;
  });
  slotState(slot);
  // the likelihood is shown even when the encoding failed on a non-finite value (a picture the
  // model finds less likely than f32 can express): showTypical reports that case itself
  if (ok || page.photos[slot] === p) await showTypical(pixels, `photo ${slot + 1}`);
  if (p.notes.length) note(p.notes.filter((n) => !/still loading/.test(n)).join(' '));
  fillEndpoints();
  if (ok) await onEncoded(`p${slot}`);
});

/** Says whether decode(encode(x)) of slot `p` came back exact (`p.roundTrip`: roundTripCheck of
 * the shown images; null when decoding failed). In f32 it is exact for pictures like the
 * training data, not guaranteed far from it (README, "Round trip"). */
function showRoundTrip(p, slot) {
  const el = $('roundtrip');
  if (!p?.z) {
    el.hidden = true;
    delete document.body.dataset.roundTrip;
    delete document.body.dataset.roundTripCheck;
    return;
  }
  const r = p.roundTrip;
  const bits = `${page.info.nBits} bit${page.info.nBits > 1 ? 's' : ''}`;
  const fmt = (n) => n.toLocaleString('en');
  let text;
  if (!r) text = 'the round trip failed: decoding the latent back did not give a finite image (see above).';
  else if (r.mismatched === 0) text = `the round trip is exact: all ${fmt(r.bytes)} bytes come back in their bin (${bits}).`;
  else {
    text = `the round trip is not exact: ${fmt(r.mismatched)} of ${fmt(r.bytes)} bytes come back different, at most ${r.maxDiff} bin${r.maxDiff > 1 ? 's' : ''} ` +
      `(${bits}): the inverse runs in f32, and where the flow is steep (pictures unlike the training data) its rounding can cross a bin edge.`;
  }
  el.textContent = `Photo ${slot + 1}: ${text}`;
  el.hidden = false;
  el.classList.toggle('inexact', !!r && r.mismatched > 0);
  const d = document.body.dataset; // (the e2e test reads these)
  d.roundTrip = !r ? 'failed' : r.mismatched ? 'inexact' : 'exact';
  d.roundTripCheck = r ? `${r.mismatched} ${r.bytes} ${r.maxDiff}` : '';
}

/** Shows slot `i` in the crop box (its photo and square, without encoding it again). */
function selectSlot(i) {
  active = i;
  const p = page.photos[i];
  document.body.dataset.slot = String(i);
  if (!p) {
    $('crop').hidden = true;
    note('');
    showRoundTrip(null, i);
    return;
  }
  cropper.setSource(p.image, p.image.width, p.image.height, p.name, p.rect, true);
  note(p.notes.join(' '));
  showRoundTrip(p, i);
  if (p.pixels) call('prepareImage', p.pixels).then((px) => drawImages($('original'), px, 1, page.w, page.h)).catch(() => {});
}

/** After a model (re)load: every slot's photo through the new model, the active one last. */
export async function reencodeAll() {
  const keep = active;
  for (let i = 0; i < page.photos.length; i++) {
    if (!page.photos[i] || i === keep) continue;
    selectSlot(i);
    await encodeCrop();
  }
  selectSlot(keep);
  if (page.photos[keep]) await encodeCrop();
}

/** Resets every slot's latent (a new model); the pictures stay. */
export function dropLatents() {
  for (const p of page.photos) if (p) { p.z = null; p.pixels = null; p.roundTrip = null; }
  showRoundTrip(null, active);
  page.photos.forEach((_, i) => slotState(i));
}

let cameraStream = null;
async function startCamera() {
  showError('', 'encode');
  try {
    cameraStream = await openCamera($('camera-video'));
    $('camera').hidden = false;
  } catch (e) {
    showError(`The camera could not be opened: ${e?.message ?? e}`, 'encode');
  }
}
function stopCamera() {
  closeCamera($('camera-video'), cameraStream);
  cameraStream = null;
  $('camera').hidden = true;
}

/** Wires the panel; `encoded(key)` runs after a photo is encoded (the other panels redraw). */
export function wirePhotos(encoded) {
  onEncoded = encoded;
  for (const r of document.querySelectorAll('input[name="slot"]')) r.addEventListener('change', () => selectSlot(Number(r.value)));
  $('align-on').addEventListener('change', async () => {
    const p = page.photos[active];
    if (!p) return;
    p.manual = false;
    p.notes = p.notes.filter((n) => !/^(Face found|No face|Your crop|Face alignment)/.test(n));
    p.ready = p.aligned || !alignWanted() ? Promise.resolve() : align(p);
    await p.ready;
    note(p.notes.join(' '));
    await encodeCrop();
  });
  $('photo-choose').addEventListener('click', () => $('photo-input').click());
  $('photo-input').addEventListener('change', (e) => {
    encodeFile(e.target.files[0]);
    e.target.value = ''; // picking the same file again reloads it
  });
  const drop = $('drop-zone');
  drop.addEventListener('keydown', (e) => {
    if (e.target === drop && (e.key === 'Enter' || e.key === ' ')) {
      e.preventDefault();
      $('photo-input').click();
    }
  });
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    encodeFile(e.dataTransfer.files[0]);
  });
  $('camera-offer').hidden = !cameraAvailable();
  $('camera-open').addEventListener('click', () => startCamera());
  $('camera-close').addEventListener('click', () => stopCamera());
  $('camera-capture').addEventListener('click', () => {
    const v = $('camera-video');
    if (v.videoWidth) setPhoto(grabFrame(v), v.videoWidth, v.videoHeight, 'camera');
  });
  selectSlot(0);
}

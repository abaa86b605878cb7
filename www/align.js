// Face detection and alignment in the browser, no server: @vladmandic/face-api (MIT, its tiny
// face detector and 68-point landmark net ship inside its npm package; scripts/vendor-face.sh
// copies them to www/vendor/face-api/, served from this origin and cached by sw.js). A photo's
// eyes and mouth are found and the photo warped by a similarity transform so they land where
// CelebA's aligned crops put them (www/models/celeba-align.json, measured with this detector
// over CelebA test faces: benches/web/align-reference.mjs).
const VENDOR = new URL('./vendor/face-api/', import.meta.url);
let api = null;
let reference = null;

/** The detector, loaded once (rejects when its files are not there). */
export function detector() {
  api ??= (async () => {
    const faceapi = await import(new URL('face-api.esm.js', VENDOR).href);
    await faceapi.tf.setBackend('cpu').catch(() => {});
    await faceapi.tf.ready();
    const models = new URL('model/', VENDOR).href;
    await faceapi.nets.tinyFaceDetector.loadFromUri(models);
    await faceapi.nets.faceLandmark68Net.loadFromUri(models);
    return faceapi;
  })();
  api.catch(() => { api = null; });
  return api;
}

/** Where CelebA's aligned 64x64 crops put the eyes and the mouth. */
export async function referencePoints() {
  reference ??= fetch(new URL('./models/celeba-align.json', import.meta.url)).then((r) => {
    if (!r.ok) throw new Error(`celeba-align.json: HTTP ${r.status}`);
    return r.json();
  });
  return reference;
}

const mean = (pts) => [pts.reduce((s, p) => s + p.x, 0) / pts.length, pts.reduce((s, p) => s + p.y, 0) / pts.length];

/** The eyes' and mouth's centres in `canvas` (pixels), or null when no face is found. The
 * picture goes to the detector enlarged (it wants faces of 80+ pixels) on a grey margin (a
 * tightly cropped face, as CelebA's, is missed without one). */
export async function landmarks(canvas) {
  const faceapi = await detector();
  const k = Math.max(1, 256 / Math.min(canvas.width, canvas.height));
  const pad = Math.round(0.4 * k * Math.max(canvas.width, canvas.height));
  const src = Object.assign(document.createElement('canvas'), {
    width: Math.round(canvas.width * k) + 2 * pad, height: Math.round(canvas.height * k) + 2 * pad,
  });
  const ctx = src.getContext('2d');
  ctx.fillStyle = '#808080';
  ctx.fillRect(0, 0, src.width, src.height);
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(canvas, pad, pad, canvas.width * k, canvas.height * k);
  const opts = new faceapi.TinyFaceDetectorOptions({ inputSize: 320, scoreThreshold: 0.3 });
  const r = await faceapi.detectSingleFace(src, opts).withFaceLandmarks();
  if (!r) return null;
  const p = r.landmarks.positions;
  const back = ([x, y]) => [(x - pad) / k, (y - pad) / k];
  return {
    leftEye: back(mean(p.slice(36, 42))), // the eye on the image's left
    rightEye: back(mean(p.slice(42, 48))),
    mouth: back(mean(p.slice(48, 60))),
    score: r.detection.score,
  };
}

/** The similarity transform (rotation, uniform scale, shift) taking points `from` to `to` in
 * the least-squares sense: [a, b, tx, ty] for x' = a·x − b·y + tx, y' = b·x + a·y + ty. */
export function similarity(from, to) {
  const n = from.length;
  const [fx, fy] = [from.reduce((s, p) => s + p[0], 0) / n, from.reduce((s, p) => s + p[1], 0) / n];
  const [tx, ty] = [to.reduce((s, p) => s + p[0], 0) / n, to.reduce((s, p) => s + p[1], 0) / n];
  let sxx = 0, sxy = 0, ss = 0;
  for (let i = 0; i < n; i++) {
    const [x, y] = [from[i][0] - fx, from[i][1] - fy];
    const [u, v] = [to[i][0] - tx, to[i][1] - ty];
    sxx += x * u + y * v;
    sxy += x * v - y * u;
    ss += x * x + y * y;
  }
  const a = sxx / ss, b = sxy / ss;
  return [a, b, tx - (a * fx - b * fy), ty - (b * fx + a * fy)];
}

export const apply = ([a, b, tx, ty], [x, y]) => [a * x - b * y + tx, b * x + a * y + ty];

/** Aligns the face in `canvas` to a `w`x`h` canvas (CelebA's framing), or returns null with
 * no face. `{ canvas, points, transform, score }`; `points` are the detected ones. */
export async function alignFace(canvas, w, h) {
  const [pts, ref] = await Promise.all([landmarks(canvas), referencePoints()]);
  if (!pts) return null;
  const s = w / ref.size;
  const to = [ref.leftEye, ref.rightEye, ref.mouth].map(([x, y]) => [x * s, y * (h / ref.size)]);
  const t = similarity([pts.leftEye, pts.rightEye, pts.mouth], to);
  const out = Object.assign(document.createElement('canvas'), { width: w, height: h });
  const ctx = out.getContext('2d');
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, w, h);
  ctx.imageSmoothingQuality = 'high';
  ctx.setTransform(t[0], t[1], -t[1], t[0], t[2], t[3]);
  ctx.drawImage(canvas, 0, 0);
  return { canvas: out, points: pts, transform: t, score: pts.score };
}

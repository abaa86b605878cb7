// Pixels between files, canvases and the model's RGBA buffers.
import { markDrawn } from './export.js';

/** Draws `n` RGBA images of `w`x`h` into `canvas` as a grid of `cols` columns. */
export function drawImages(canvas, rgba, n, w, h, cols = n) {
  const rows = Math.ceil(n / cols);
  if (canvas.width !== cols * w || canvas.height !== rows * h) {
    canvas.width = cols * w;
    canvas.height = rows * h;
  }
  const ctx = canvas.getContext('2d');
  const size = w * h * 4;
  for (let i = 0; i < n; i++) {
    const px = new Uint8ClampedArray(rgba.buffer, rgba.byteOffset + i * size, size);
    ctx.putImageData(new ImageData(px, w, h), (i % cols) * w, Math.floor(i / cols) * h);
  }
  canvas.dataset.version = String(Number(canvas.dataset.version || 0) + 1);
  markDrawn(canvas.id);
}

/** What a source image holds that the model cannot take as is: how many pixels are (partly)
 * transparent. `canvas` is the source drawn at its own size. */
export function transparentPixels(canvas) {
  const d = canvas.getContext('2d', { willReadFrequently: true }).getImageData(0, 0, canvas.width, canvas.height).data;
  let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i] < 255) n++;
  return n;
}

/** The `i`-th image of a batch of RGBA images. */
export function tile(rgba, i, w, h) {
  const size = w * h * 4;
  return rgba.slice(i * size, (i + 1) * size);
}

/** The round trip's check, as `Glow::reconstruct_check` counts it (src/model.rs), of the image
 * the page shows: `input` and `back` are RGBA of the model's input and of decode(encode(input))
 * (grey models: the channel replicated), compared byte by byte over the model's `channels`, each
 * by its top `nBits` bits (decode returns each bin's representative). `{ mismatched, bytes,
 * maxDiff }`: bytes in another bin, bytes compared, the largest difference in bins. */
export function roundTripCheck(input, back, channels, nBits) {
  const shift = 8 - nBits;
  let mismatched = 0, maxDiff = 0, bytes = 0;
  for (let i = 0; i < input.length; i += 4) {
    for (let k = 0; k < channels; k++) {
      const a = input[i + k] >> shift, b = back[i + k] >> shift;
      bytes++;
      if (a !== b) {
        mismatched++;
        maxDiff = Math.max(maxDiff, Math.abs(a - b));
      }
    }
  }
  return { mismatched, bytes, maxDiff };
}

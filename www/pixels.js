// Pixels between files, canvases and the model's RGBA buffers.

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
}

/** The `i`-th image of a batch of RGBA images. */
export function tile(rgba, i, w, h) {
  const size = w * h * 4;
  return rgba.slice(i * size, (i + 1) * size);
}

/**
 * A picture file as `w`x`h` RGBA: images no larger than that are centred on black (as MNIST
 * digits are padded in training); larger ones are centre-cropped to the aspect and resized.
 */
export async function fileToPixels(file, w, h) {
  const bmp = await createImageBitmap(file);
  try {
    const canvas = new OffscreenCanvas(w, h);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, w, h);
    if (bmp.width <= w && bmp.height <= h) {
      ctx.drawImage(bmp, Math.floor((w - bmp.width) / 2), Math.floor((h - bmp.height) / 2));
    } else {
      const scale = Math.min(bmp.width / w, bmp.height / h);
      const cw = w * scale, ch = h * scale;
      ctx.imageSmoothingQuality = 'high';
      ctx.drawImage(bmp, (bmp.width - cw) / 2, (bmp.height - ch) / 2, cw, ch, 0, 0, w, h);
    }
    return new Uint8Array(ctx.getImageData(0, 0, w, h).data.buffer);
  } finally {
    bmp.close();
  }
}

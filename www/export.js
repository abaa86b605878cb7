// "Save … as PNG": the canvas as drawn, scaled up (sharp pixels or smooth) to the size chosen in
// the model panel, downloaded from a local blob. A canvas not drawn yet has nothing to save:
// its button stays disabled until it is (`markDrawn`).
import { $ } from './ui.js';

/** Enables the save button of canvas `id` (call after drawing it). */
export function markDrawn(id) {
  const b = document.querySelector(`button.save-png[data-canvas="${id}"]`);
  if (b) b.disabled = false;
}

/** A copy of `canvas` scaled by the export choice ('1', '4', '4s', '8': factor, s = smooth). */
export function scaled(canvas, choice) {
  const k = parseInt(choice, 10) || 1;
  const out = document.createElement('canvas');
  out.width = canvas.width * k;
  out.height = canvas.height * k;
  const ctx = out.getContext('2d');
  ctx.imageSmoothingEnabled = choice.endsWith('s');
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(canvas, 0, 0, out.width, out.height);
  return out;
}

export function wireSaving() {
  for (const button of document.querySelectorAll('button.save-png')) {
    button.addEventListener('click', () => {
      const canvas = $(button.dataset.canvas);
      if (button.disabled || Number(canvas.dataset.version || 0) === 0) return;
      scaled(canvas, $('export-size').value).toBlob((blob) => {
        const a = document.createElement('a');
        a.href = URL.createObjectURL(blob);
        a.download = `glow-${button.dataset.canvas}.png`;
        a.click();
        setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
      }, 'image/png');
    });
  }
}

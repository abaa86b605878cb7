// The square crop box over a loaded photo or camera frame: drag the square to move it, its
// corner handle to resize it (arrow keys move it, shift + arrows resize it); `onChange(rect)`
// fires when a move ends. `pixels(w, h, pad)` renders the crop as the model's RGBA input.

export class Cropper {
  #root; #canvas; #box; #onChange;
  #drag = null; // { mode: 'move' | 'resize', x0, y0, rect0 } while a pointer drags
  rect = { x: 0, y: 0, s: 0 }; // in source pixels
  name = '';

  constructor(root, onChange) {
    this.#root = root;
    this.#canvas = root.querySelector('canvas');
    this.#box = root.querySelector('.crop-box');
    this.#onChange = onChange;
    this.#box.addEventListener('pointerdown', (e) => this.#down(e));
    this.#box.addEventListener('pointermove', (e) => this.#move(e));
    this.#box.addEventListener('pointerup', (e) => this.#up(e));
    this.#box.addEventListener('pointercancel', (e) => this.#up(e));
    this.#box.addEventListener('keydown', (e) => this.#key(e));
  }

  get ready() {
    return this.rect.s > 0;
  }

  /** Shows `image` (any canvas image source of `w`x`h`) with the square `rect` (default: the
   * largest centred one); `silent` skips `onChange` (a photo slot shown again). */
  setSource(image, w, h, name, rect = null, silent = false) {
    this.#canvas.width = w;
    this.#canvas.height = h;
    this.#canvas.getContext('2d').drawImage(image, 0, 0);
    this.#canvas.classList.toggle('small', w < 288); // shown enlarged: keep the pixels sharp
    this.name = name;
    const s = Math.min(w, h);
    this.#root.hidden = false;
    this.set(rect ?? { x: Math.floor((w - s) / 2), y: Math.floor((h - s) / 2), s });
    if (!silent) this.#onChange(this.rect);
  }

  /** The shown image (the canvas itself: copy it to keep it). */
  get source() {
    return this.#canvas;
  }

  /** Moves the square to `r` (clamped to the image, at least `min` pixels). */
  set(r) {
    const W = this.#canvas.width, H = this.#canvas.height;
    const min = Math.min(8, W, H);
    const s = Math.round(Math.max(min, Math.min(r.s, W, H)));
    const x = Math.round(Math.max(0, Math.min(r.x, W - s)));
    const y = Math.round(Math.max(0, Math.min(r.y, H - s)));
    this.rect = { x, y, s };
    Object.assign(this.#box.style, {
      left: `${(100 * x) / W}%`, top: `${(100 * y) / H}%`, width: `${(100 * s) / W}%`, height: `${(100 * s) / H}%`,
    });
    Object.assign(this.#box.dataset, { x: String(x), y: String(y), s: String(s) });
  }

  /** The crop as `w`x`h` RGBA, resized to fit (small crops scaled up, smoothly), transparent
   * pixels on black. With `pad`, crops no larger than that are centred unscaled on black
   * instead (as MNIST digits are padded in training; the page asks for it on grey models). */
  pixels(w, h, pad = false) {
    const { x, y, s } = this.rect;
    const c = new OffscreenCanvas(w, h);
    const ctx = c.getContext('2d', { willReadFrequently: true });
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, w, h);
    if (pad && s <= w && s <= h) {
      ctx.drawImage(this.#canvas, x, y, s, s, Math.floor((w - s) / 2), Math.floor((h - s) / 2), s, s);
    } else {
      ctx.imageSmoothingQuality = 'high';
      ctx.drawImage(this.#canvas, x, y, s, s, 0, 0, w, h);
    }
    return new Uint8Array(ctx.getImageData(0, 0, w, h).data.buffer);
  }

  /** Source pixels per CSS pixel of the shown image. */
  #scale() {
    return this.#canvas.width / this.#canvas.getBoundingClientRect().width;
  }

  #down(e) {
    e.preventDefault();
    this.#box.setPointerCapture(e.pointerId);
    const mode = e.target.classList.contains('crop-handle') ? 'resize' : 'move';
    this.#drag = { mode, x0: e.clientX, y0: e.clientY, rect0: { ...this.rect } };
    this.#box.classList.add('dragging');
  }

  #move(e) {
    if (!this.#drag) return;
    const k = this.#scale();
    const dx = (e.clientX - this.#drag.x0) * k, dy = (e.clientY - this.#drag.y0) * k;
    const r = this.#drag.rect0;
    if (this.#drag.mode === 'move') this.set({ x: r.x + dx, y: r.y + dy, s: r.s });
    else {
      const W = this.#canvas.width, H = this.#canvas.height;
      this.set({ x: r.x, y: r.y, s: Math.min(r.s + Math.max(dx, dy), W - r.x, H - r.y) });
    }
  }

  #up() {
    if (!this.#drag) return;
    const before = this.#drag.rect0;
    this.#drag = null;
    this.#box.classList.remove('dragging');
    if (before.x !== this.rect.x || before.y !== this.rect.y || before.s !== this.rect.s) this.#onChange(this.rect);
  }

  #key(e) {
    const d = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[e.key];
    if (!d) return;
    e.preventDefault();
    const step = Math.max(1, Math.round(this.rect.s / 16));
    const r = this.rect;
    if (e.shiftKey) this.set({ ...r, s: r.s + step * (d[0] + d[1]) });
    else this.set({ ...r, x: r.x + step * d[0], y: r.y + step * d[1] });
    this.#onChange(this.rect);
  }
}

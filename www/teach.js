// "Teach a new direction": mark images (any sample or photo, chosen in the edit panel) as with
// or without something; the new slider is mean(z | with) − mean(z | without), the official
// recipe, computed here in the browser, and can be saved as an attributes file (safetensors).
import { addTaughtSlider } from './editor.js';
import { endpoint, job } from './page.js';
import { $ } from './ui.js';

const marked = { with: [], without: [] };

function showCounts() {
  $('teach-counts').textContent = `${marked.with.length} with, ${marked.without.length} without`;
  $('teach-make').disabled = !(marked.with.length && marked.without.length);
}

const meanOf = (zs) => {
  const m = new Float64Array(zs[0].length);
  for (const z of zs) for (let i = 0; i < m.length; i++) m[i] += z[i] / zs.length;
  return m;
};

/** mean(with) − mean(without). */
export const direction = (withZ, withoutZ) => {
  const a = meanOf(withZ), b = meanOf(withoutZ);
  return a.map((v, i) => v - b[i]);
};

/** A safetensors file of one F32 tensor `attr.<name>` (what `trainer attributes` writes). */
export function directionFile(name, d) {
  const data = new Float32Array(d);
  const header = { [`attr.${name}`]: { dtype: 'F32', shape: [d.length], data_offsets: [0, data.byteLength] }, __metadata__: { source: 'glowgpu page: taught direction' } };
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  out.set(new Uint8Array(data.buffer), 8 + head.length);
  return out;
}

let last = null; // the last taught direction { name, d }

async function mark(kind) {
  const key = $('edit-src').value;
  const z = await job('edit', () => endpoint(key));
  if (!z) return;
  marked[kind].push(Float64Array.from(z));
  showCounts();
}

function make() {
  const name = ($('teach-name').value.trim() || 'taught').replace(/[^\w-]+/g, '_');
  last = { name, d: direction(marked.with, marked.without) };
  addTaughtSlider(name, last.d);
  $('teach-save').disabled = false;
  $('teach-status').textContent = `"${name}" made from ${marked.with.length} with and ${marked.without.length} without: a new slider above.`;
}

function save() {
  if (!last) return;
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([directionFile(last.name, last.d)], { type: 'application/octet-stream' }));
  a.download = `${last.name}.attributes.safetensors`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/** A new model: the marks belong to the old one. */
export function resetTeaching() {
  marked.with = [];
  marked.without = [];
  last = null;
  $('teach-save').disabled = true;
  $('teach-status').textContent = '';
  showCounts();
}

export function wireTeaching() {
  $('teach-with').addEventListener('click', () => mark('with'));
  $('teach-without').addEventListener('click', () => mark('without'));
  $('teach-make').addEventListener('click', () => make());
  $('teach-save').addEventListener('click', () => save());
  showCounts();
}

// The dedicated module worker that runs the model (www/engine.js) off the main thread, so the
// page stays responsive while WebGPU or the CPU fallback works. Requests: { id, method, args };
// replies: { id, value } or { id, error }; events (progress, device recovery) carry no id.
import { Engine } from './engine.js';

const engine = new Engine((event) => postMessage(event));

/** Buffers of a result that can move to the page instead of being copied. */
const transferables = (v) => (ArrayBuffer.isView(v) && v.buffer.byteLength === v.byteLength ? [v.buffer] : []);

onmessage = async ({ data: { id, method, args } }) => {
  try {
    const value = await engine.handle(method, args);
    postMessage({ id, value }, transferables(value));
  } catch (e) {
    postMessage({ id, error: e?.message ?? String(e) });
  }
};

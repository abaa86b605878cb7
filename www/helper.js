// A helper worker of the CPU path (www/pool.js): its own CPU copy of the model, decoding the
// share of a batch it is given. Requests: { id, method: 'load' | 'decodeMany', args }.
import { initWasm } from './glow.js';

let app = null;

async function handle(method, args) {
  if (method === 'load') {
    const { GlowApp } = await initWasm(); // the plain build: one thread per helper
    const next = await GlowApp.load(args[0], true);
    app?.free();
    app = next;
    return app.latent_len();
  }
  if (method === 'decodeMany') return app.decode_many(args[0], args[1]);
  throw new Error(`unknown helper call ${method}`);
}

onmessage = async ({ data: { id, method, args } }) => {
  try {
    const value = await handle(method, args);
    postMessage({ id, value }, ArrayBuffer.isView(value) ? [value.buffer] : []);
  } catch (e) {
    postMessage({ id, error: e?.message ?? String(e) });
  }
};

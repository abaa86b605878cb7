// The wasm package: loaded once, where the model runs (the worker, or the main thread as a
// fallback); see www/engine.js.
import init, { GlowApp } from './pkg/glowgpu.js';

export { GlowApp };

let wasmReady = null;

/** Loads the wasm module once. */
export function initWasm() {
  wasmReady ??= init();
  return wasmReady;
}

// Serves the repository root cross-origin isolated (COOP/COEP: ORT-web's wasm threads and the
// page's threaded build need it; tests/e2e/server.mjs)
// and runs benches/web/ort.html in headless Chromium; prints a Markdown table. Needs
// target/ort/face_b{1,16}.onnx (benches/torch/glow_torch.py --config face --what onnx) and
// onnxruntime-web under target/ort-web (npm install --prefix target/ort-web onnxruntime-web).
import { chromium } from 'playwright-core';
import { staticServer } from '../../tests/e2e/server.mjs';

const server = await staticServer(); // cross-origin isolated
const ctx = await chromium.launchPersistentContext(`/tmp/glow-ort-profile-${process.pid}`, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--no-first-run'] });
const page = await ctx.newPage();
page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
await page.goto(`http://127.0.0.1:${server.address().port}/benches/web/ort.html?${process.argv[2] || ''}`);
const r = await (await page.waitForFunction(() => window.benchResult, null, { timeout: 3_000_000, polling: 1000 })).jsonValue();
await ctx.close();
server.close();
if (r.error) { console.error(r.error); process.exit(1); }
const c = r.config;
console.log(`${c.image_width}x${c.image_height}x${c.image_channels} L${c.levels} K${c.depth} w${c.hidden}; cross-origin isolated: ${r.isolated}, ORT threads ${r.threads}, ${r.cores} logical cores`);
const names = Object.keys(r.results[0].ms);
console.log(`| batch | ${names.join(' | ')} |`);
console.log(`|---|${names.map(() => '---|').join('')}`);
for (const x of r.results) console.log(`| ${x.batch} | ${names.map((k) => x.ms[k].toFixed(1)).join(' | ')} |`);

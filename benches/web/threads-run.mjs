// Runs benches/web/threads.html in headless Chromium against tests/e2e/server.mjs (cross-origin
// isolated) and prints a Markdown table:
//   node benches/web/threads-run.mjs ['model=target/bench-models/c32w512.safetensors&batches=1,16&rounds=5']
// Needs the page's packages (scripts/build-page.sh).
import { chromium } from 'playwright-core';
import { staticServer } from '../../tests/e2e/server.mjs';

const server = await staticServer(); // cross-origin isolated
const port = server.address().port;
const ctx = await chromium.launchPersistentContext(`/tmp/glow-threads-profile-${process.pid}`, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--no-first-run'] });
try {
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  await page.goto(`http://127.0.0.1:${port}/benches/web/threads.html?${process.argv[2] || ''}`);
  const r = await (await page.waitForFunction(() => window.benchResult, null, { timeout: 3_000_000, polling: 1000 })).jsonValue();
  if (r.error) throw new Error(r.error);
  console.log(`${r.model}; cross-origin isolated: ${r.isolated}, ${r.cores} logical cores`);
  const names = Object.keys(r.results[0].ms);
  console.log(`| batch | ${names.join(' | ')} | same images |`);
  console.log(`|---|${names.map(() => '---|').join('')}---|`);
  for (const x of r.results) console.log(`| ${x.batch} | ${names.map((k) => x.ms[k].toFixed(1)).join(' | ')} | ${x.same ? 'yes' : 'NO'} |`);
} finally {
  await ctx.close();
  server.close();
}

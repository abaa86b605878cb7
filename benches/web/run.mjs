// Drives benches/web/cpu.html in headless Chromium and prints a Markdown table (benches/web/run.sh).
import { chromium } from 'playwright-core';

const base = process.env.BASE_URL;
const query = process.argv[2] || '';
const ctx = await chromium.launchPersistentContext(process.env.USER_DATA_DIR || '/tmp/glow-bench-profile', {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update'],
});
const page = await ctx.newPage();
page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
await page.goto(`${base}/benches/web/cpu.html?${query}`);
const r = await (await page.waitForFunction(() => window.benchResult, null, { timeout: 3_000_000, polling: 1000 })).jsonValue();
await ctx.close();
if (r.error) {
  console.error(r.error);
  process.exit(1);
}
console.log(`${r.ua}; ${r.cores} logical cores`);
const names = Object.keys(r.results[0].ms);
console.log(`| model | batch | ${names.join(' | ')} | speed-up | same images |`);
console.log(`|---|---|${names.map(() => '---|').join('')}---|---|`);
for (const x of r.results) {
  const c = x.config;
  const ms = names.map((k) => x.ms[k]);
  console.log(`| ${c.image_width}x${c.image_height}x${c.image_channels} L${c.levels} K${c.depth} w${c.hidden} | ${x.batch} | ${ms.map((v) => v.toFixed(1)).join(' | ')} | ` +
    `${(ms[0] / Math.min(...ms)).toFixed(1)}x | ${names.every((k) => x.sameImagesAsSimd1[k]) ? 'yes' : JSON.stringify(x.sameImagesAsSimd1)} |`);
}

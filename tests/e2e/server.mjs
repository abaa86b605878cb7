// A static server of the repository root on a free 127.0.0.1 port (the offline case stops it),
// cross-origin isolated as scripts/http-server.py serves it, or not (`{ isolated: false }`).
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css',
  '.wasm': 'application/wasm', '.png': 'image/png', '.json': 'application/json', '.bin': 'application/octet-stream' };

const ISOLATED = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin' };

export function staticServer({ isolated = true } = {}) {
  const root = process.cwd();
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^\/+/, '');
    const file = join(root, path === '' || path.endsWith('/') ? `${path}index.html` : path);
    let st;
    try {
      st = statSync(file);
    } catch {
      st = null;
    }
    if (!file.startsWith(root) || !st?.isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': st.size,
      ...(isolated ? ISOLATED : {}) });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

#!/usr/bin/env python3
"""A static server of the repository root for the web page (all inference runs in the browser).

    scripts/http-server.py PORT [--plain] [--quiet]

Every response carries COOP/COEP (`Cross-Origin-Opener-Policy: same-origin`,
`Cross-Origin-Embedder-Policy: require-corp`), which makes the page cross-origin isolated: browsers
give shared memory (SharedArrayBuffer) only to such pages, and the page's threaded wasm build
(www/pkg-threads/) needs it. `--plain` leaves the headers out (the page then runs its plain
build; the tests check that fallback). `.wasm` is served as application/wasm
(WebAssembly.instantiateStreaming requires it). Binds 127.0.0.1 only.
"""
import http.server
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    flags = {a for a in argv if a.startswith("--")}
    unknown = flags - {"--plain", "--quiet"}
    if len(args) != 1 or not args[0].isdigit() or not 0 <= int(args[0]) <= 65535 or unknown:
        sys.exit("usage: scripts/http-server.py PORT [--plain] [--quiet]")
    isolated = "--plain" not in flags
    quiet = "--quiet" in flags

    class Handler(http.server.SimpleHTTPRequestHandler):
        extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".wasm": "application/wasm",
                          ".js": "text/javascript", ".mjs": "text/javascript"}

        def __init__(self, *a, **k):
            super().__init__(*a, directory=ROOT, **k)

        def end_headers(self):
            if isolated:
                self.send_header("Cross-Origin-Opener-Policy", "same-origin")
                self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
                self.send_header("Cross-Origin-Resource-Policy", "same-origin")
            super().end_headers()

        def log_message(self, *a):
            if not quiet:
                super().log_message(*a)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(args[0])), Handler)
    print(f"serving {ROOT} on http://127.0.0.1:{server.server_address[1]}/"
          f" ({'cross-origin isolated' if isolated else 'not isolated'})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main(sys.argv[1:])

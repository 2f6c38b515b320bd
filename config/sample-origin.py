#!/usr/bin/env python3
"""A tiny origin to try Shellac against: python3 config/sample-origin.py [PORT]

  /              a page cached for 10 s (Cache-Control: max-age=10)
  /slow          the same after 1 s (shows request coalescing)
  /private       Cache-Control: private (never cached, never shared)
  /cookie        sets a cookie (hit-for-miss: not cached)
  /nocache       no freshness information (not reused unless -p default_ttl is set)
Every request is printed, so you can see which ones reach the origin.
"""
import sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROUTES = {
    "/": ("max-age=10", {}),
    "/slow": ("max-age=10", {}),
    "/private": ("private", {}),
    "/cookie": ("max-age=10", {"Set-Cookie": "session=abc"}),
    "/nocache": (None, {}),
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        path = self.path.split("?")[0]
        cache_control, extra = ROUTES.get(path, ("max-age=10", {}))
        if path == "/slow":
            time.sleep(1)
        body = f"{path} rendered at {time.strftime('%H:%M:%S')}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        if cache_control:
            self.send_header("Cache-Control", cache_control)
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        print("origin:", fmt % args, flush=True)


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    print(f"sample origin on http://127.0.0.1:{port}/", flush=True)
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()

#!/usr/bin/env python3
"""Deterministic origin for run.sh: each answer depends on its URL's query (cc= Cache-Control,
vary=, etag=, status=, setcookie=, expires=, lm=, age=, chunked=, gzip=: gzip when asked for) and on how many times the path was asked for,
which the body shows (so a hit and a miss differ). A matching If-None-Match gets a 304.

  origin.py PORT LOGFILE
"""
import sys, json, threading, gzip
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs
LOG = open(sys.argv[2], "a", buffering=1)
COUNT = {}
LOCK = threading.Lock()
ECHO = ("cookie", "x-lang", "authorization", "if-none-match", "x-device")
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_HEAD(self): self.answer(False)
    def do_GET(self): self.answer(True)
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0") or 0)
        self.rfile.read(n)
        self.answer(True)
    do_PUT = do_POST
    do_DELETE = do_GET
    def answer(self, body_too):
        u = urlparse(self.path)
        q = parse_qs(u.query)
        with LOCK:
            COUNT[u.path] = COUNT.get(u.path, 0) + 1
            n = COUNT[u.path]
        seen = {k.lower(): v for k, v in self.headers.items() if k.lower() in ECHO}
        LOG.write(f"{self.command} {self.path} {json.dumps(seen, sort_keys=True)}\n")
        status = int(q.get("status", ["200"])[0])
        etag = q.get("etag", [None])[0]
        if etag and self.headers.get("If-None-Match") == etag and self.command in ("GET", "HEAD"):
            status = 304
        body = json.dumps({"m": self.command, "p": self.path, "n": n, "seen": seen}, sort_keys=True).encode()
        gzipped = "gzip" in q and "gzip" in (self.headers.get("Accept-Encoding") or "")
        if gzipped:
            body = gzip.compress(body, mtime=0)
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        for key, header in (("cc", "Cache-Control"), ("setcookie", "Set-Cookie"), ("vary", "Vary"), ("expires", "Expires"), ("lm", "Last-Modified")):
            for v in q.get(key, []): self.send_header(header, v)
        if etag: self.send_header("ETag", etag)
        if gzipped: self.send_header("Content-Encoding", "gzip")
        for v in q.get("age", []): self.send_header("Age", v)
        if status in (204, 304):
            self.end_headers(); return
        if "chunked" in q and body_too:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            half = len(body) // 2
            for part in (body[:half], body[half:]):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body_too: self.wfile.write(body)
    def log_message(self, *a): pass
class S(ThreadingHTTPServer):
    daemon_threads = True
S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()

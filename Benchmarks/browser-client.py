#!/usr/bin/env python3
"""N sequential keep-alive GETs on one connection, with the header set a desktop browser sends
(User-Agent, Accept, Accept-Language, Accept-Encoding, Connection) and an optional Cookie line;
each response is read by its Content-Length. Loopback only.

  browser-client.py PORT N PATH [COOKIE]
"""
import socket
import sys

port, n, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
cookie = sys.argv[4] if len(sys.argv) > 4 else ""
lines = [
    f"GET {path} HTTP/1.1",
    "Host: localhost",
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language: en-GB,en;q=0.5",
    "Accept-Encoding: gzip, deflate, br",
] + ([f"Cookie: {cookie}"] if cookie else []) + ["Connection: keep-alive"]
request = ("\r\n".join(lines) + "\r\n\r\n").encode()

s = socket.create_connection(("127.0.0.1", port), timeout=30)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
pending = b""
for _ in range(n):
    s.sendall(request)
    while b"\r\n\r\n" not in pending:
        chunk = s.recv(65536)
        if not chunk:
            sys.exit("connection closed")
        pending += chunk
    head, _, pending = pending.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(pending) < length:
        chunk = s.recv(65536)
        if not chunk:
            sys.exit("connection closed")
        pending += chunk
    pending = pending[length:]
print(f"{n} requests")

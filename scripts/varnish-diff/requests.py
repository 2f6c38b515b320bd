#!/usr/bin/env python3
"""The same random request sequence to Varnish and to Shellac, one request at a time; prints each
request whose status, body or chosen headers differ, then how many did.

  requests.py SEED COUNT VARNISH_PORT SHELLAC_PORT [POST_WEIGHT]

Requests (one in seven HTTP/1.0) pick a path from PATHS (each asks origin.py for one behaviour: a lifetime, a Vary, an
ETag, a status, a Set-Cookie) and random request headers (cookies, languages, Accept-Encoding,
Authorization, validators). POST_WEIGHT (default 0) adds POSTs: Shellac invalidates a URL after a
successful unsafe request (RFC 9111 4.4), Varnish does not, so they diverge by design. Also by
design: a 304 carries no Content-Type (RFC 9110 15.4.5), and If-None-Match: * on a stored
response is a 304 (RFC 9110 13.1.2; Varnish answers 200). Ranges are sent only with GET and
only single byte ranges (Shellac ignores a Range on HEAD, with several ranges or another unit,
as RFC 9110 14.2 allows; Varnish answers 206 or 416), and a 416 is compared by its Content-Range
(Varnish adds the object's fields to it). Synthetic pages are compared up to
their first <h3> (the request id line differs).
"""
import sys, random, socket
seed, n, vport, sport = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rnd = random.Random(seed)
PATHS = [
    "/a?cc=max-age%3D300",
    "/b?cc=max-age%3D300&vary=X-Lang",
    "/c?cc=max-age%3D300&vary=Accept-Encoding",
    "/d?cc=private%2C+max-age%3D300",
    "/e?cc=no-store",
    "/f?cc=max-age%3D300&setcookie=s%3D1",
    "/g?cc=max-age%3D300&etag=%22g1%22",
    "/i?cc=max-age%3D300&status=404",
    "/j?cc=max-age%3D300&status=500",
    "/k?cc=s-maxage%3D300%2C+max-age%3D0",
    "/l?cc=max-age%3D300&vary=Cookie",
    "/m?cc=max-age%3D300&status=301",
    "/n?cc=max-age%3D300&vary=%2A",
    "/o.css?cc=max-age%3D300&utm_source=x",
    "/p?expires=Thu%2C+01+Jan+2037+00%3A00%3A00+GMT",
    "/q?cc=max-age%3D300&status=204",
    "/r?cc=max-age%3D300&vary=X-Lang%2C+Accept-Encoding&etag=%22r1%22",
    "/s?cc=max-age%3D300&lm=Thu%2C+01+Jan+2026+00%3A00%3A00+GMT",
    "/t?cc=max-age%3D300%2C+must-revalidate&etag=%22t1%22",
    "/u?cc=max-age%3D300&status=302",
    "/v?expires=Thu%2C+01+Jan+2015+00%3A00%3A00+GMT",
    "/w?cc=max-age%3D300&age=30",
    "/x?cc=max-age%3D300&chunked=1",
    "/y?cc=max-age%3D300&status=203",
    "/z?cc=max-age%3D300&gzip=1&vary=Accept-Encoding",
]
def request(port, method, path, headers, body, version="1.1"):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    text = f"{method} {path} HTTP/{version}\r\nHost: example.com\r\nConnection: close\r\n"
    for k, v in headers: text += f"{k}: {v}\r\n"
    if body is not None: text += f"Content-Length: {len(body)}\r\n"
    s.sendall((text + "\r\n").encode() + (body or b""))
    data = b""
    while True:
        try:
            c = s.recv(65536)
        except socket.timeout:
            break
        if not c: break
        data += c
    s.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0].split(" ")[1] if lines and len(lines[0].split(" ")) > 1 else "?"
    hs = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        hs.setdefault(k.strip().lower(), []).append(v.strip())
    if "chunked" in ",".join(hs.get("transfer-encoding", [])):
        out = b""; r = rest
        while r:
            size, _, r = r.partition(b"\r\n")
            sz = int(size.split(b";")[0] or b"0", 16)
            if sz == 0: break
            out += r[:sz]; r = r[sz + 2:]
        rest = out
    return status, hs, rest
KEEP = ("content-range", "x-hits", "x-had-vary", "content-type", "cache-control", "etag", "vary", "set-cookie", "content-encoding", "x-cache", "location", "expires", "last-modified")
diffs = 0
for i in range(n):
    path = rnd.choice(PATHS)
    method = rnd.choices(["GET", "HEAD", "POST", "PURGE"], [70, 12, int(sys.argv[5]) if len(sys.argv) > 5 else 0, 8])[0]
    headers = []
    if rnd.random() < 0.25: headers.append(("Cookie", rnd.choice(["a=1", "sessionid=2", "_ga=3", "_ga=3; sessionid=4", "utm_x=1"])))
    if rnd.random() < 0.5: headers.append(("X-Lang", rnd.choice(["en", "fr"])))
    if rnd.random() < 0.6: headers.append(("Accept-Encoding", rnd.choice(["gzip", "gzip, deflate, br", "br", "identity"])))
    if rnd.random() < 0.15: headers.append(("Authorization", "Basic eDp5"))
    if rnd.random() < 0.3: headers.append(("X-Device", rnd.choice(["m", "d"])))
    if rnd.random() < 0.2: headers.append(("If-None-Match", rnd.choice(['"g1"', '"h1"', '"r1"', 'W/"g1"', '"zz"', "*"])))
    if rnd.random() < 0.1: headers.append(("If-Modified-Since", rnd.choice(["Thu, 01 Jan 2037 00:00:00 GMT", "Thu, 01 Jan 2026 00:00:00 GMT", "Wed, 01 Jan 2025 00:00:00 GMT"])))
    if rnd.random() < 0.1: headers.append(("Range", rnd.choice(["bytes=0-9", "bytes=5-", "bytes=-7", "bytes=100000-"])))
    if method != "GET": headers = [h for h in headers if h[0] != "Range"]
    body = b"x=1" if method == "POST" else None
    version = "1.0" if rnd.random() < 0.15 else "1.1"
    rv = request(vport, method, path, headers, body, version)
    rs = request(sport, method, path, headers, body, version)
    pick = lambda r: (r[0], {k: r[1].get(k) for k in KEEP if k in r[1] and not (r[0] == "304" and k == "content-type")
                             and not (r[0] == "416" and k != "content-range")}, r[2].split(b"<h3>")[0])
    if pick(rv) != pick(rs):
        diffs += 1
        print(f"#{i} {method} {path} HTTP/{version} {headers}")
        print(f"   varnish: {pick(rv)[0]} {pick(rv)[1]} {pick(rv)[2][:160]!r}")
        print(f"   shellac: {pick(rs)[0]} {pick(rs)[1]} {pick(rs)[2][:160]!r}")
print(f"{diffs} of {n} differ")

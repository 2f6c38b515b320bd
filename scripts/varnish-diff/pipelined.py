#!/usr/bin/env python3
"""Batches of one to six requests pipelined on one keep-alive connection, the same batches to
Varnish and to Shellac; prints every batch whose answers differ (status, body, chosen headers;
a 304's Content-Type left out, as in requests.py), then how many did.

  pipelined.py SEED BATCHES VARNISH_PORT SHELLAC_PORT

Pipelining puts one request's VCL (a ban, a purge) between another's fetch and its end.
"""
import sys, random, socket
seed, rounds, vport, sport = map(int, sys.argv[1:5])
rnd = random.Random(seed)
PATHS = ["/a?cc=max-age%3D300", "/e?cc=no-store", "/i?cc=max-age%3D300&status=404", "/q?cc=max-age%3D300&status=204",
         "/m?cc=max-age%3D300&status=301", "/x?cc=max-age%3D300&chunked=1", "/g?cc=max-age%3D300&etag=%22g1%22",
         "/z?cc=max-age%3D300&gzip=1&vary=Accept-Encoding", "/b?cc=max-age%3D300&vary=X-Lang"]
def read_responses(s, methods):
    data = b""; out = []; s.settimeout(3)
    i = 0
    while i < len(methods):
        while b"\r\n\r\n" not in data:
            c = s.recv(65536)
            if not c: return out + [("EOF", {}, b"")]
            data += c
        head, _, data = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = lines[0].split(" ")[1]
        hs = {}
        for l in lines[1:]:
            k, _, v = l.partition(":"); hs[k.strip().lower()] = v.strip()
        body = b""
        if methods[i] == "HEAD" or status in ("204", "304"):
            pass
        elif "content-length" in hs:
            n = int(hs["content-length"])
            while len(data) < n:
                c = s.recv(65536)
                if not c: break
                data += c
            body, data = data[:n], data[n:]
        elif hs.get("transfer-encoding") == "chunked":
            while True:
                while b"\r\n" not in data: data += s.recv(65536)
                size, _, data = data.partition(b"\r\n"); n = int(size, 16)
                while len(data) < n + 2: data += s.recv(65536)
                body += data[:n]; data = data[n + 2:]
                if n == 0: break
        out.append((status, {k: hs.get(k) for k in ("content-type", "etag", "content-encoding", "vary", "location") if not (status == "304" and k == "content-type")}, body))
        i += 1
    return out
diffs = 0
for r in range(rounds):
    k = rnd.randint(1, 6)
    reqs = []; methods = []
    for _ in range(k):
        m = rnd.choice(["GET", "GET", "GET", "HEAD"])
        p = rnd.choice(PATHS)
        h = ""
        if rnd.random() < 0.4: h += "Accept-Encoding: gzip\r\n"
        if rnd.random() < 0.3: h += "X-Lang: fr\r\n"
        if rnd.random() < 0.2: h += 'If-None-Match: "g1"\r\n'
        reqs.append(f"{m} {p} HTTP/1.1\r\nHost: example.com\r\n{h}\r\n".encode()); methods.append(m)
    res = []
    for port in (vport, sport):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"".join(reqs))
        try:
            res.append(read_responses(s, methods))
        except Exception as e:
            res.append([("ERR " + repr(e), {}, b"")])
        s.close()
    if res[0] != res[1]:
        diffs += 1
        print("round", r, methods, [q.split(b"\r\n")[0] for q in reqs])
        for a, b in zip(res[0], res[1]):
            if a != b: print("   V:", a[0], a[1], a[2][:80]); print("   S:", b[0], b[1], b[2][:80])
print(diffs, "of", rounds, "differ")

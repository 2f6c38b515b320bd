#!/usr/bin/env python3
"""The floor of the coalescing scenario: a stand-in for a perfect proxy.

  Benchmarks/burst-floor.py PORT [N] [DELAY_MS] [ROUNDS]

Accepts N connections, reads one request from each, and DELAY_MS after the first request
arrived writes a prepared 1 KiB response to every connection in one tight loop, then closes
them; ROUNDS times. Point ../shared/bench/burst.py at it to see what the burst client itself
adds on this machine: no proxy can answer a coalesced burst sooner than this one does.
Loopback only; stops after ROUNDS rounds or 30 s without a connection.
"""
import selectors
import socket
import sys
import time

port = int(sys.argv[1])
n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
delay = (int(sys.argv[3]) if len(sys.argv) > 3 else 200) / 1000
rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 5
response = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1024\r\n"
            b"Cache-Control: max-age=60\r\nConnection: close\r\n\r\n" + b"o" * 1024)

listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
listener.listen(1024)
for _ in range(rounds):
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    connections, requests, first = [], 0, None
    while requests < n:
        ready = selector.select(timeout=30)
        if not ready:
            sys.exit("no connections for 30 s")
        for key, _ in ready:
            if key.fileobj is listener:
                connection, _ = listener.accept()
                connections.append(connection)
                selector.register(connection, selectors.EVENT_READ)
            else:
                key.fileobj.recv(4096)
                selector.unregister(key.fileobj)
                requests += 1
                first = first or time.monotonic()
    selector.close()
    time.sleep(max(0.0, first + delay - time.monotonic()))
    for connection in connections:
        connection.sendall(response)
    for connection in connections:
        connection.close()

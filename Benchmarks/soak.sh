#!/usr/bin/env bash
# Whether memory levels off under a long mixed load, with a small store: shellacd (config/
# default.vcl) in front of a loopback nginx origin, taking at once
#   - wrk: misses over 400,000 URLs of 1 KiB and 2,000 of 100 KiB (the store evicts all the
#     time), Vary, revalidations, ranges, gzip and identity, passes with cookies, no-store URLs
#     each new (hit-for-miss markers), POSTs the origin refuses before reading their bodies,
#     PURGE and BAN requests;
#   - clients that misbehave: leave mid-body (some with a reset), send half a head, garbage,
#     pipeline and reset, abandon an upload;
#   - the admin channel: bans, purges, tag purges and stats five times a second.
# Prints RSS every 15 s, then wrk's summary and the counters.
#   Benchmarks/soak.sh            (DURATION=180 seconds, STORE=32m)
# SHELLACD=path runs that binary instead of building this tree's. Loopback only; every load is
# bounded in time; stops what it starts.
set -euo pipefail
cd "$(dirname "$0")/.."
source Benchmarks/processes.sh
prepare wrk:wrk
BASE=${BASE_PORT:-38100}
ORIGIN_PORT=$BASE SHELLAC_PORT=$((BASE + 1)) ADMIN_PORT=$((BASE + 2))
DURATION=${DURATION:-180} STORE=${STORE:-32m}
ADM="$(dirname "$BIN")/shellacadm"
[ -x "$ADM" ] || ADM="$(bash scripts/build-release.sh shellacadm)/shellacadm"

mkdir -p "$WORK/www/static" "$WORK/tmp" "$WORK/adm"
head -c 1024 /dev/zero | tr '\0' 'a' >"$WORK/www/static/1k"
head -c 102400 /dev/zero | tr '\0' 'b' >"$WORK/www/static/100k"
seq 1 2000 >"$WORK/www/static/text.txt"
origin_conf "$ORIGIN_PORT" "location /static/ { add_header Cache-Control \"max-age=3600\"; add_header Surrogate-Key \"s1 s2\"; }
    location /short/ { alias $WORK/www/static/; add_header Cache-Control \"max-age=1\"; }
    location /vary/ { alias $WORK/www/static/; add_header Cache-Control \"max-age=3600\"; add_header Vary \"Accept-Language\"; }
    location /nostore/ { alias $WORK/www/static/; add_header Cache-Control \"no-store\"; }
    location /cookie/ { alias $WORK/www/static/; add_header Set-Cookie \"a=b\"; add_header Cache-Control \"max-age=60\"; }
    location /gz/ { alias $WORK/www/static/; gzip on; gzip_min_length 10; gzip_types text/plain; gzip_proxied any; add_header Cache-Control \"max-age=3600\"; }"
sed -e "s/\"8000\"/\"$ORIGIN_PORT\"/" config/default.vcl >"$WORK/soak.vcl"

cat >"$WORK/mix.lua" <<'EOF'
math.randomseed(os.time())
local langs = {"en", "de", "fr", "es", "it", "nl", "pt", "sv"}
request = function()
  local r = math.random(100)
  local n = math.random(400000)
  if r <= 30 then return wrk.format("GET", "/static/1k?n=" .. n)
  elseif r <= 40 then return wrk.format("GET", "/static/100k?n=" .. math.random(2000))
  elseif r <= 50 then return wrk.format("GET", "/short/1k?n=" .. math.random(5000), {["If-None-Match"] = "\"x\""})
  elseif r <= 58 then return wrk.format("GET", "/vary/1k?n=" .. math.random(20000), {["Accept-Language"] = langs[math.random(8)]})
  elseif r <= 66 then return wrk.format("GET", "/nostore/1k?n=" .. n)
  elseif r <= 70 then return wrk.format("POST", "/nostore/1k", {["Content-Type"] = "text/plain"}, string.rep("p", math.random(5000)))
  elseif r <= 74 then return wrk.format("GET", "/cookie/1k?n=" .. n, {["Cookie"] = "sid=" .. n})
  elseif r <= 80 then return wrk.format("GET", "/gz/text.txt?n=" .. math.random(3000), {["Accept-Encoding"] = (r % 2 == 0) and "gzip" or "identity"})
  elseif r <= 85 then return wrk.format("GET", "/static/100k?n=" .. math.random(2000), {["Range"] = "bytes=100-2000"})
  elseif r <= 88 then return wrk.format("PURGE", "/static/1k?n=" .. n)
  elseif r <= 90 then return wrk.format("BAN", "/", {["X-Ban-Url"] = "^/static/1k\\?n=" .. n .. "$"})
  elseif r <= 95 then return wrk.format("GET", "/static/1k?utm_source=x&b=" .. n .. "&a=" .. math.random(10))
  else return wrk.format("GET", "/cookie/1k?n=" .. n) end
end
EOF
cat >"$WORK/misbehave.py" <<'EOF'
import random, socket, struct, sys, time
port, seconds = int(sys.argv[1]), float(sys.argv[2])
end = time.monotonic() + seconds
counts = {}
def reset(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
while time.monotonic() < end:
    kind = random.choice(["midbody", "midbody-reset", "half-head", "garbage", "pipeline-reset", "upload-reset"])
    counts[kind] = counts.get(kind, 0) + 1
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        if kind.startswith("midbody"):
            s.sendall(b"GET /static/100k?n=%d HTTP/1.1\r\nHost: x\r\n\r\n" % random.randrange(3000))
            s.recv(1000)
            reset(s) if kind.endswith("reset") else s.close()
        elif kind == "half-head":
            s.sendall(b"GET /static/1k HTTP/1.1\r\nHost: x\r\nX-A: ")
            s.close()
        elif kind == "garbage":
            s.sendall(bytes(random.randrange(256) for _ in range(200)) + b"\r\n\r\n")
            s.recv(1000)
            s.close()
        elif kind == "pipeline-reset":
            s.sendall(b"".join(b"GET /nostore/1k?p=%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(5)))
            s.recv(100)
            reset(s)
        else:
            s.sendall(b"POST /nostore/1k HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"x" * 5000)
            reset(s)
    except OSError:
        counts["oserror"] = counts.get("oserror", 0) + 1
print(" ".join(f"{k}={v}" for k, v in sorted(counts.items())))
EOF

start origin nginx -e "$WORK/origin.err" -p "$WORK" -c "$WORK/origin.conf"
up "$ORIGIN_PORT" "${PIDS[-1]}"
start shellac "$BIN" -a "127.0.0.1:$SHELLAC_PORT" -f "$WORK/soak.vcl" -s "malloc,$STORE" \
  -T "127.0.0.1:$ADMIN_PORT" -n "$WORK/adm"
SHELLAC_PID=${PIDS[-1]}
up "$SHELLAC_PORT" "$SHELLAC_PID"
adm() { "$ADM" -T "127.0.0.1:$ADMIN_PORT" -S "$WORK/adm/_.secret" "$@"; }

(
  end=$((SECONDS + DURATION)) i=0
  while [ "$SECONDS" -lt "$end" ]; do
    i=$((i + 1))
    adm ban req.url '~' "^/short/1k\\?n=$((RANDOM % 5000))\$" >/dev/null || true
    [ $((i % 20)) -eq 0 ] && { adm purge.tag s2 >/dev/null || true; }
    [ $((i % 7)) -eq 0 ] && { adm purge "/vary/1k?n=$((RANDOM % 20000))" >/dev/null || true; }
    adm stats >/dev/null || true
    sleep 0.2
  done
) &
ADMIN_LOOP=$!
timeout $((DURATION + 30)) python3 "$WORK/misbehave.py" "$SHELLAC_PORT" "$DURATION" >"$WORK/misbehave.out" 2>&1 &
MISBEHAVE=$!
timeout $((DURATION + 30)) wrk -t1 -c50 -d"${DURATION}s" -s "$WORK/mix.lua" "http://127.0.0.1:$SHELLAC_PORT/" \
  >"$WORK/wrk.out" 2>&1 &
WRK=$!
echo "seconds  RSS MiB  open fds"
for i in $(seq 0 15 "$DURATION"); do
  kill -0 "$SHELLAC_PID" 2>/dev/null || { echo "shellacd exited:" >&2; tail -n 20 "$WORK/shellac.out" >&2; exit 1; }
  printf '%7d  %7d  %8d\n' "$i" $(($(awk '/^VmRSS/ { print $2 }' "/proc/$SHELLAC_PID/status") / 1024)) \
    "$(ls "/proc/$SHELLAC_PID/fd" | wc -l)"
  if [ "$i" -lt "$DURATION" ]; then sleep 15; fi
done
wait "$WRK" "$MISBEHAVE" "$ADMIN_LOOP" || true
echo; grep -E "requests in|Requests/sec|errors|Non-2xx" "$WORK/wrk.out" || true
echo "misbehaving clients: $(cat "$WORK/misbehave.out")"
echo; adm stats | awk '$2 != 0'

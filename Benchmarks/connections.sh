#!/usr/bin/env bash
# What a connection costs, Shellac beside Varnish 7 and nginx (proxy_cache) in the same run, each
# in front of the same loopback nginx origin; every figure is the server's CPU time (all its
# processes) per request, and the sequential rate:
#   new       cached 1 KiB hits, each on a new connection (Connection: close), one at a time
#   new-idle  the same while 10,000 other keep-alive connections sit idle
#   backend   1 KiB passes on one keep-alive client connection through an origin that closes
#             its connection after every response (as app servers without keep-alive do)
#   Benchmarks/connections.sh [CASE ...]       (default: all three)
# SHELLACD=path runs that binary instead of building this tree's. ROUNDS (5) rounds of N (10000)
# requests; the median is printed. Clients connect from several 127.0.0.x addresses, so the
# servers' TIME_WAIT sockets do not run the loopback out of ports. Loopback only; bounded; stops
# what it starts.
set -euo pipefail
cd "$(dirname "$0")/.."
source Benchmarks/processes.sh
prepare
BASE=${BASE_PORT:-37900}
ORIGIN_PORT=$BASE CLOSING_PORT=$((BASE + 1)) SHELLAC_PORT=$((BASE + 2)) VARNISH_PORT=$((BASE + 3))
NGINX_PORT=$((BASE + 4))
ROUNDS=${ROUNDS:-5} N=${N:-10000} IDLE=${IDLE:-10000}
CASES=("$@")
[ "${#CASES[@]}" -gt 0 ] || CASES=(new new-idle backend)

mkdir -p "$WORK/www/static" "$WORK/tmp" "$WORK/nginx-cache"
head -c 1024 /dev/zero | tr '\0' 'a' >"$WORK/www/static/1k"
origin_conf "$ORIGIN_PORT" "location /static/ { add_header Cache-Control \"max-age=3600\"; }
    location /nostore/ { alias $WORK/www/static/; add_header Cache-Control \"no-store\"; }"
sed -e "s/listen 127.0.0.1:$ORIGIN_PORT;/listen 127.0.0.1:$CLOSING_PORT; keepalive_timeout 0;/" \
    -e "s|pid $WORK/origin.pid;|pid $WORK/closing.pid;|" "$WORK/origin.conf" >"$WORK/closing.conf"
cat >"$WORK/nginx-proxy.conf" <<EOF
daemon off;
worker_processes auto;
pid $WORK/nginx-proxy.pid;
events { worker_connections 16384; }
http {
  access_log off;
  client_body_temp_path $WORK/tmp/cb; proxy_temp_path $WORK/tmp/px;
  fastcgi_temp_path $WORK/tmp/fc; uwsgi_temp_path $WORK/tmp/uw; scgi_temp_path $WORK/tmp/sc;
  proxy_cache_path $WORK/nginx-cache levels=1:2 keys_zone=c:16m inactive=1h use_temp_path=off;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  server {
    listen 127.0.0.1:$NGINX_PORT backlog=4096;
    location /static/ { proxy_pass http://127.0.0.1:$ORIGIN_PORT; proxy_cache c; }
    location /nostore/ { proxy_pass http://127.0.0.1:$CLOSING_PORT; }
  }
}
EOF
cat >"$WORK/site.vcl" <<EOF
vcl 4.1;
backend origin { .host = "127.0.0.1"; .port = "$ORIGIN_PORT"; }
backend closing { .host = "127.0.0.1"; .port = "$CLOSING_PORT"; }
sub vcl_recv { if (req.url ~ "^/nostore/") { set req.backend_hint = closing; } }
EOF
cat >"$WORK/probe.py" <<'EOF'
import resource, socket, sys, time
mode, port, n, path, source = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
def read_response(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk: raise SystemExit("closed early")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")))
    while len(body) < length:
        body += s.recv(65536)
    if not head.startswith(b"HTTP/1.1 200"): raise SystemExit(head.split(b"\r\n")[0].decode())
def connect(source_ip):
    s = socket.socket()
    s.setsockopt(socket.SOL_IP, 24, 1)  # IP_BIND_ADDRESS_NO_PORT: the port is picked at connect
    s.bind((source_ip, 0))
    s.connect(("127.0.0.1", port))
    return s
if mode == "hold":  # n idle keep-alive connections after one request each, until stdin closes
    held = []
    for i in range(n):
        s = connect(f"127.0.{10 + i // 20000}.{source}")
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: a\r\n\r\n".encode())
        held.append(s)
    for s in held: read_response(s)
    print("held", flush=True)
    sys.stdin.read()
elif mode == "new":  # n requests, each on a new connection
    start = time.monotonic()
    for i in range(n):
        s = connect(f"127.0.{1 + i // 20000}.{source}")
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".encode())
        read_response(s)
        s.close()
    print(f"{n / (time.monotonic() - start):.0f}")
else:  # n requests on one keep-alive connection
    s = connect(f"127.0.0.{source}")
    start = time.monotonic()
    for i in range(n):
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: a\r\n\r\n".encode())
        read_response(s)
    print(f"{n / (time.monotonic() - start):.0f}")
EOF

start origin nginx -e "$WORK/origin.err" -p "$WORK" -c "$WORK/origin.conf"
up "$ORIGIN_PORT" "${PIDS[-1]}"
start closing nginx -e "$WORK/closing.err" -p "$WORK" -c "$WORK/closing.conf"
up "$CLOSING_PORT" "${PIDS[-1]}"

CLK_TCK=$(getconf CLK_TCK)
session_ticks() {  # utime+stime, in clock ticks, of every process in the session $SID
  local f line t=0
  for f in /proc/[0-9]*/stat; do
    read -r line <"$f" 2>/dev/null || continue
    set -- ${line##*) }   # fields from "state" on: $4 session, $12 utime, $13 stime
    [ "$4" = "$SID" ] && t=$((t + ${12} + ${13}))
  done
  echo "$t"
}
start_target() {  # NAME: starts it, sets PORT and SID
  case $1 in
    shellac)
      start shellac "$BIN" -a "127.0.0.1:$SHELLAC_PORT" -f "$WORK/site.vcl" -p threads=1 -p timeout_idle=60 \
        -n "$WORK/shellac"
      PORT=$SHELLAC_PORT ;;
    varnish)
      start varnish varnishd -F -j none -a "127.0.0.1:$VARNISH_PORT" -f "$WORK/site.vcl" -s malloc,64m \
        -p timeout_idle=60 -n "$WORK/varnish"
      PORT=$VARNISH_PORT ;;
    nginx)
      start nginx nginx -e "$WORK/nginx.err" -p "$WORK" -c "$WORK/nginx-proxy.conf"
      PORT=$NGINX_PORT ;;
  esac
  SID=${PIDS[-1]}
  up "$PORT" "$SID"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
SOURCE=2
measure() {  # MODE PATH: ROUNDS rounds; prints "rate cpu_us" medians
  local mode=$1 path=$2 r t0 t1 rate rates=() cpus=()
  for r in $(seq 1 "$ROUNDS"); do
    SOURCE=$((SOURCE + 1))
    t0=$(session_ticks)
    rate=$(timeout 120 python3 "$WORK/probe.py" "$mode" "$PORT" "$N" "$path" "$SOURCE")
    t1=$(session_ticks)
    rates+=("$rate")
    cpus+=("$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$N" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')")
  done
  echo "$(printf '%s\n' "${rates[@]}" | median) $(printf '%s\n' "${cpus[@]}" | median)"
}

printf '%-9s %-8s %12s %14s\n' case target "requests/s" "cpu us/request"
for case in "${CASES[@]}"; do
  for target in shellac varnish nginx; do
    start_target "$target"
    case $case in
      new)
        curl -s -o /dev/null "http://127.0.0.1:$PORT/static/1k"
        read -r rate cpu < <(measure new /static/1k) ;;
      new-idle)
        curl -s -o /dev/null "http://127.0.0.1:$PORT/static/1k"
        SOURCE=$((SOURCE + 1))
        coproc HOLD { timeout 300 python3 "$WORK/probe.py" hold "$PORT" "$IDLE" /static/1k "$SOURCE"; }
        read -r _ <&"${HOLD[0]}"
        read -r rate cpu < <(measure new /static/1k)
        eval "exec ${HOLD[1]}>&-"
        wait "$HOLD_PID" 2>/dev/null || true ;;
      backend)
        read -r rate cpu < <(measure keep /nostore/1k) ;;
    esac
    printf '%-9s %-8s %12s %14s\n' "$case" "$target" "$rate" "$cpu"
    kill -TERM -- "-${PIDS[-1]}" 2>/dev/null || true
    sleep 1
  done
done

#!/usr/bin/env bash
# Abusive and slow clients, Shellac beside Varnish 7 in the same run, each server fresh for each
# case and in front of the same loopback nginx origin:
#   flood     a connection flood against a descriptor limit (ulimit -n 256, 400 connections held
#             4 s): the server's CPU while flooded, and whether it answers once the flood ends
#   pipeline  one connection pipelining requests for a 100 KiB object for 5 s without reading a
#             byte of the answers: the server's memory growth
#   pipe      a 200 MB download through return(pipe) to a client that reads nothing for 3 s: the
#             server's memory growth
#   slowread  a 20 MB cached object read at 1 MB/s (far longer than the idle timeout): bytes received
#   Benchmarks/slow-clients.sh [CASE ...]     (default: all four)
# SHELLACD=path runs that binary instead of building this tree's (to compare with an older build).
# Loopback only; every load is bounded in time; stops what it starts.
set -euo pipefail
cd "$(dirname "$0")/.."
source Benchmarks/processes.sh
prepare
BASE=${BASE_PORT:-37800}
ORIGIN_PORT=$BASE PROXY_PORT=$((BASE + 1))
limited() {  # NAME LIMIT CMD...: start CMD under ulimit -n LIMIT
  local name=$1 limit=$2; shift 2
  start "$name" bash -c "ulimit -n $limit; exec \"\$@\"" bash "$@"
}
stop_last() { kill -TERM -- "-${PIDS[-1]}" 2>/dev/null || true; sleep 1; }
server_pid() {  # the process serving the port: Varnish's child, or shellacd itself
  local leader=${PIDS[-1]} child
  child=$(pgrep -P "$leader" | tail -n 1 || true)
  while [ -n "$child" ]; do leader=$child; child=$(pgrep -P "$leader" | tail -n 1 || true); done
  echo "$leader"
}

mkdir -p "$WORK/www/static" "$WORK/tmp"
head -c 102400 /dev/zero | tr '\0' 'b' >"$WORK/www/static/100k"
head -c 20000000 /dev/zero >"$WORK/www/static/20m"
head -c 200000000 /dev/zero >"$WORK/www/static/200m"
origin_conf "$ORIGIN_PORT" "location /static/ { add_header Cache-Control \"max-age=3600\"; }
    location /pipe/ { alias $WORK/www/static/; }"
cat >"$WORK/site.vcl" <<EOF
vcl 4.1;
backend origin { .host = "127.0.0.1"; .port = "$ORIGIN_PORT"; }
sub vcl_recv { if (req.url ~ "^/pipe/") { return (pipe); } }
EOF
cat >"$WORK/probe.py" <<'EOF'
import resource, socket, sys, time
case, port, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def rss():
    return int(next(l for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS")).split()[1])
def cpu_ticks():
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])
if case == "flood":
    held = []
    for _ in range(400):
        held.append(socket.create_connection(("127.0.0.1", port), timeout=2))
    time.sleep(1.5)
    t0 = cpu_ticks(); time.sleep(2); ticks = cpu_ticks() - t0
    for s in held: s.close()
    time.sleep(0.5)
    c = socket.create_connection(("127.0.0.1", port), timeout=3)
    c.sendall(b"GET /static/100k HTTP/1.1\r\nHost: a\r\n\r\n")
    answered = c.recv(64).startswith(b"HTTP/1.1 200")
    print(f"CPU while flooded {ticks / 2 / 100:.2f} cores, answers afterwards: {'yes' if answered else 'no'}")
elif case == "pipeline":
    s = socket.create_connection(("127.0.0.1", port))
    s.setblocking(False)
    requests = b"GET /static/100k HTTP/1.1\r\nHost: a\r\n\r\n" * 100
    r0, sent, t0 = rss(), 0, time.monotonic()
    while time.monotonic() - t0 < 5:
        try:
            sent += s.send(requests)
        except BlockingIOError:
            time.sleep(0.001)
    print(f"{sent // 38} requests sent in 5 s, none read: memory {r0 // 1024} -> {rss() // 1024} MiB")
elif case == "pipe":
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    r0 = rss()
    s.sendall(b"GET /pipe/200m HTTP/1.1\r\nHost: a\r\n\r\n")
    time.sleep(3)
    print(f"200 MB piped, nothing read for 3 s: memory {r0 // 1024} -> {rss() // 1024} MiB")
EOF

flood() {  # NAME PORT CMD...
  local name=$1 port=$2; shift 2
  limited "$name-flood" 256 "$@"; up "$port" "${PIDS[-1]}"
  curl -s -o /dev/null "http://127.0.0.1:$port/static/100k"
  printf '%-8s flood     ' "$name"; timeout 30 python3 "$WORK/probe.py" flood "$port" "$(server_pid)" || echo "failed"
  stop_last
}
probe() {  # CASE NAME PORT CMD...
  local case=$1 name=$2 port=$3; shift 3
  limited "$name-$case" 4096 "$@"; up "$port" "${PIDS[-1]}"
  curl -s -o /dev/null "http://127.0.0.1:$port/static/100k"
  printf '%-8s %-9s ' "$name" "$case"; timeout 30 python3 "$WORK/probe.py" "$case" "$port" "$(server_pid)" || echo "failed"
  stop_last
}
slowread() {  # NAME PORT CMD...
  local name=$1 port=$2; shift 2
  limited "$name-slowread" 4096 "$@"; up "$port" "${PIDS[-1]}"
  curl -s -o /dev/null "http://127.0.0.1:$port/static/20m"
  printf '%-8s slowread  ' "$name"
  curl -s -o /dev/null --max-time 40 --limit-rate 1M -w "%{size_download} of 20000000 bytes at 1 MB/s in %{time_total} s\n" \
    "http://127.0.0.1:$port/static/20m" || echo
  stop_last
}

start origin nginx -e "$WORK/origin.err" -p "$WORK" -c "$WORK/origin.conf"
up "$ORIGIN_PORT" "${PIDS[-1]}"
CASES=${*:-flood pipeline pipe slowread}
n=0
for case in $CASES; do
  for server in varnish shellac; do
    n=$((n + 1))
    if [ "$server" = varnish ]; then
      cmd=(varnishd -F -j none -a "127.0.0.1:$PROXY_PORT" -f "$WORK/site.vcl" -s malloc,256m -n "$WORK/v$n")
    else
      cmd=("$BIN" -a "127.0.0.1:$PROXY_PORT" -f "$WORK/site.vcl" -s malloc,256m -p threads=1 --log-level warning)
    fi
    case $case in
      flood) flood "$server" "$PROXY_PORT" "${cmd[@]}" ;;
      pipeline|pipe) probe "$case" "$server" "$PROXY_PORT" "${cmd[@]}" ;;
      slowread) slowread "$server" "$PROXY_PORT" "${cmd[@]}" ;;
      *) echo "unknown case: $case (flood, pipeline, pipe, slowread)" >&2; exit 2 ;;
    esac
  done
done

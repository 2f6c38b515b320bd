#!/usr/bin/env bash
# Memory per cached object, Shellac beside Varnish 7 in the same run: the growth of each server's
# resident memory (RSS, its child processes included) while it stores N distinct objects of one
# body size from a loopback nginx origin, divided by the objects it holds, and what is left per
# object after the body itself. Also prints each server's own count of the bytes it stores
# (Varnish's SMA g_bytes, Shellac's shellac_bytes_stored), which leaves out allocator overhead.
#   Benchmarks/memory.sh [SIZE:COUNT ...]     (default: 1k:100000 100k:5000)
# SIZE is 1k or 100k. Loopback only; every fill is bounded in time; stops what it starts.
set -euo pipefail
cd "$(dirname "$0")/.."
source Benchmarks/processes.sh
prepare wrk:wrk
BASE=${BASE_PORT:-37700}
ORIGIN_PORT=$BASE VARNISH_PORT=$((BASE + 1)) SHELLAC_PORT=$((BASE + 2)) METRICS_PORT=$((BASE + 3))
rss_kb() {  # PID: its RSS plus its direct children's
  local t c
  t=$(awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0)
  for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    t=$((t + $(awk '/^VmRSS/ { print $2 }' "/proc/$c/status" 2>/dev/null || echo 0)))
  done
  echo "$t"
}

mkdir -p "$WORK/www/static" "$WORK/tmp"
head -c 1024 /dev/zero | tr '\0' 'a' >"$WORK/www/static/1k"
head -c 102400 /dev/zero | tr '\0' 'b' >"$WORK/www/static/100k"
origin_conf "$ORIGIN_PORT" "location ~ ^/(1k|100k)/ { rewrite ^/([^/]+)/ /static/\$1 break; add_header Cache-Control \"max-age=3600\"; }"
cat >"$WORK/fill.lua" <<'EOF'
-- distinct URLs /SIZE/1 .. /SIZE/N, wrapping; one wrk thread
local i, n, size = 0, 100, "1k"
function init(args) size = args[1]; n = tonumber(args[2]) end
function request()
  i = i + 1
  if i > n then i = 1 end
  return wrk.format("GET", "/" .. size .. "/" .. i)
end
EOF
cat >"$WORK/default.vcl" <<EOF
vcl 4.1;
backend origin { .host = "127.0.0.1"; .port = "$ORIGIN_PORT"; }
EOF
start origin nginx -e "$WORK/origin.err" -p "$WORK" -c "$WORK/origin.conf"
up "$ORIGIN_PORT" "${PIDS[0]}"

fill() {  # PORT SIZE COUNT: request each URL at least once, in at most six 20 s runs
  local port=$1 size=$2 count=$3 total=0 n i
  for i in 1 2 3 4 5 6; do
    timeout 30 wrk -t1 -c16 -d20s -s "$WORK/fill.lua" "http://127.0.0.1:$port/" -- "$size" "$count" \
      >"$WORK/fill.txt" 2>&1 || true
    n=$(awk '/requests in/ { print $1 }' "$WORK/fill.txt")
    total=$((total + ${n:-0}))
    [ "$total" -ge $((count + count / 10)) ] && break
  done
}
report() {  # SERVER SIZE-BYTES OBJECTS RSS-BEFORE-KB RSS-AFTER-KB STORED-BYTES
  awk -v s="$1" -v b="$2" -v n="$3" -v r0="$4" -v r1="$5" -v g="$6" 'BEGIN {
    per = (r1 - r0) * 1024 / n
    printf "%-8s %7d B bodies  objects %6d  RSS %4d -> %4d MiB  %7.0f B/object  beyond the body %5.0f B  (own count %6.0f B/object)\n",
      s, b, n, r0 / 1024, r1 / 1024, per, per - b, g / n }'
}
grow() {  # PORT PID SIZE COUNT: one object stored first, then COUNT; sets BEFORE and AFTER (RSS, KiB)
  up "$1" "$2"
  curl -s -o /dev/null "http://127.0.0.1:$1/$3/0"
  sleep 1
  BEFORE=$(rss_kb "$2")
  fill "$1" "$3" "$4"
  sleep 1
  AFTER=$(rss_kb "$2")
}
measure() {  # SIZE COUNT
  local size=$1 count=$2 bytes pid objs stored
  bytes=$([ "$size" = 100k ] && echo 102400 || echo 1024)

  start "varnish-$size" varnishd -F -j none -a "127.0.0.1:$VARNISH_PORT" -f "$WORK/default.vcl" \
    -s malloc,2g -n "$WORK/varnish-$size"
  pid=${PIDS[-1]}
  grow "$VARNISH_PORT" "$pid" "$size" "$count"
  objs=$(varnishstat -n "$WORK/varnish-$size" -1 -f MAIN.n_object | awk '{ print $2 }')
  stored=$(varnishstat -n "$WORK/varnish-$size" -1 -f SMA.s0.g_bytes | awk '{ print $2 }')
  kill -TERM -- "-$pid"; sleep 1
  report varnish "$bytes" "$objs" "$BEFORE" "$AFTER" "$stored"

  start "shellac-$size" "$BIN" -a "127.0.0.1:$SHELLAC_PORT" -b "127.0.0.1:$ORIGIN_PORT" -s malloc,2g \
    -p threads=1 --metrics-listen "127.0.0.1:$METRICS_PORT" --log-level warning
  pid=${PIDS[-1]}
  grow "$SHELLAC_PORT" "$pid" "$size" "$count"
  curl -s "http://127.0.0.1:$METRICS_PORT/metrics" >"$WORK/metrics.txt"
  objs=$(awk '/^shellac_objects / { printf "%d", $2 }' "$WORK/metrics.txt")
  stored=$(awk '/^shellac_bytes_stored / { printf "%d", $2 }' "$WORK/metrics.txt")
  kill -TERM -- "-$pid"; sleep 1
  report shellac "$bytes" "$objs" "$BEFORE" "$AFTER" "$stored"
}
echo "# $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg); each server alone while it fills"
for spec in ${*:-1k:100000 100k:5000}; do
  case ${spec%%:*} in 1k|100k) ;; *) echo "size must be 1k or 100k: $spec" >&2; exit 2 ;; esac
  measure "${spec%%:*}" "${spec##*:}"
done

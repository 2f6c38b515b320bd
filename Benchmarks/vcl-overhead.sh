#!/usr/bin/env bash
# The cost of running a realistic VCL on the hit path: two shellacd side by side against one
# origin, one with `-b` (the builtin VCL only), one with config/default.vcl, and wrk rounds
# alternating between them. Prints req/s per round and the median ratio default.vcl / -b.
#   Benchmarks/vcl-overhead.sh [ROUNDS] [SECONDS]      (defaults: 5 rounds of 5 s)
# VCL=path/to/file.vcl measures another file instead (its backend on port 8000 is redirected).
# Loopback only; every process started here is stopped by PID at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
SECONDS_PER_ROUND=${2:-5}
BASE=${BASE_PORT:-27300}
ORIGIN=$BASE; PLAIN=$((BASE + 1)); WITH_VCL=$((BASE + 2))
bash scripts/ensure-deps.sh
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 1; }
swift build -c release --product shellacd >/dev/null
BIN="$(swift build -c release --show-bin-path)/shellacd"
WORK=$(mktemp -d)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
PIN_SERVER=(); PIN_LOAD=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then PIN_SERVER=(taskset -c 0); PIN_LOAD=(taskset -c 1); fi

ORIGIN_DELAY_MS=0 python3 ../shared/bench/origin.py "$ORIGIN" "$WORK/origin.log" >/dev/null 2>&1 & PIDS+=($!)
sed "s/\.port = \"8000\"/.port = \"$ORIGIN\"/" "${VCL:-config/default.vcl}" > "$WORK/default.vcl"
"${PIN_SERVER[@]}" "$BIN" -a 127.0.0.1:$PLAIN -b 127.0.0.1:$ORIGIN -p threads=1 --log-level warning & PIDS+=($!)
"${PIN_SERVER[@]}" "$BIN" -a 127.0.0.1:$WITH_VCL -f "$WORK/default.vcl" -p threads=1 --log-level warning & PIDS+=($!)
URL_PATH="/bench?size=1024&ms=0&cc=max-age=3600"
for port in $PLAIN $WITH_VCL; do
    for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$port$URL_PATH" && break; sleep 0.1; done
done

rate() { "${PIN_LOAD[@]}" wrk -t1 -c32 -d"${SECONDS_PER_ROUND}s" "http://127.0.0.1:$1$URL_PATH" \
    | awk '/Requests\/sec/ { print $2 }'; }
printf "%-6s %12s %16s %8s\n" round "-b req/s" "default.vcl req/s" ratio
RATIOS=()
for round in $(seq "$ROUNDS"); do
    a=$(rate $PLAIN); b=$(rate $WITH_VCL)
    r=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }')
    RATIOS+=("$r")
    printf "%-6s %12s %16s %8s\n" "$round" "$a" "$b" "$r"
done
printf "median ratio default.vcl / -b: %s\n" "$(printf "%s\n" "${RATIOS[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"

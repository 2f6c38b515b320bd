#!/usr/bin/env bash
# The cost of running a realistic VCL on the hit path: two shellacd side by side against one
# origin, one with `-b` (the builtin VCL only), one with config/default.vcl, and wrk rounds
# alternating between them (which one goes first alternates too). Prints req/s and the server's
# CPU time per request (user + system, from /proc: steadier than req/s on a shared machine) per
# round, and the median ratios.
#   Benchmarks/vcl-overhead.sh [ROUNDS] [SECONDS]      (defaults: 5 rounds of 5 s)
# VCL=path/to/file.vcl measures another file instead (its backend on port 8000 is redirected);
# URL_PATH=/path?query sets the URL requested (default: one whose query is already sorted).
# Loopback only; every process started here is stopped by PID at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
SECONDS_PER_ROUND=${2:-5}
BASE=${BASE_PORT:-27300}
ORIGIN=$BASE; PLAIN=$((BASE + 1)); WITH_VCL=$((BASE + 2))
bash scripts/ensure-deps.sh
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 1; }
BIN="$(bash scripts/build-release.sh shellacd)/shellacd"
WORK=$(mktemp -d)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
PIN_SERVER=(); PIN_LOAD=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then PIN_SERVER=(taskset -c 0); PIN_LOAD=(taskset -c 1); fi

ORIGIN_DELAY_MS=0 python3 ../shared/bench/origin.py "$ORIGIN" "$WORK/origin.log" >/dev/null 2>&1 & PIDS+=($!)
sed "s/\.port = \"8000\"/.port = \"$ORIGIN\"/" "${VCL:-config/default.vcl}" > "$WORK/default.vcl"
"${PIN_SERVER[@]}" "$BIN" -a 127.0.0.1:$PLAIN -b 127.0.0.1:$ORIGIN -p threads=1 --log-level warning & PIDS+=($!)
PLAIN_PID=$!
"${PIN_SERVER[@]}" "$BIN" -a 127.0.0.1:$WITH_VCL -f "$WORK/default.vcl" -p threads=1 --log-level warning & PIDS+=($!)
VCL_PID=$!
URL_PATH=${URL_PATH:-"/bench?cc=max-age=3600&ms=0&size=1024"}
for port in $PLAIN $WITH_VCL; do
    for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$port$URL_PATH" && break; sleep 0.1; done
done

TICKS=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# One wrk round against PORT (server PID): prints "req/s cpu-us-per-request".
round() {
    local before after out
    before=$(cpu_ticks "$2")
    out=$("${PIN_LOAD[@]}" wrk -t1 -c32 -d"${SECONDS_PER_ROUND}s" "http://127.0.0.1:$1$URL_PATH")
    after=$(cpu_ticks "$2")
    echo "$out" | awk -v t=$((after - before)) -v hz="$TICKS" '
        /requests in/ { n = $1 } /Requests\/sec/ { r = $2 }
        END { printf "%s %.2f\n", r, t / hz * 1e6 / n }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
printf "%-6s %10s %10s %10s %10s %8s %8s\n" round "-b req/s" "vcl req/s" "-b us/req" "vcl us/req" "req/s x" "cpu x"
RATES=(); CPUS=()
for r in $(seq "$ROUNDS"); do
    # The order alternates, so a machine growing busier or quieter during the run weighs on both.
    if [ $((r % 2)) -eq 1 ]; then
        read -r a acpu < <(round $PLAIN $PLAIN_PID)
        read -r b bcpu < <(round $WITH_VCL $VCL_PID)
    else
        read -r b bcpu < <(round $WITH_VCL $VCL_PID)
        read -r a acpu < <(round $PLAIN $PLAIN_PID)
    fi
    rate_ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }')
    cpu_ratio=$(awk -v a="$acpu" -v b="$bcpu" 'BEGIN { printf "%.3f", b / a }')
    RATES+=("$rate_ratio"); CPUS+=("$cpu_ratio")
    printf "%-6s %10s %10s %10s %10s %8s %8s\n" "$r" "$a" "$b" "$acpu" "$bcpu" "$rate_ratio" "$cpu_ratio"
done
echo "median req/s ratio (VCL / -b): $(printf "%s\n" "${RATES[@]}" | median)"
echo "median CPU-per-request ratio (VCL / -b): $(printf "%s\n" "${CPUS[@]}" | median)"

#!/usr/bin/env bash
# The cost of running a realistic VCL on the hit path. Three shellacd run side by side against
# one origin, all on one core: `-b` (the builtin VCL only), a control (a VCL that declares only
# the backend: the same work as `-b`), and config/default.vcl. Each round loads all three at the
# same time, one wrk each on the other core, so whatever the shared machine does to one round
# (other load, frequency, steal) it does to all three. Prints each server's CPU time per request
# (user + system, from /proc) per round, and the median ratios against `-b`: the control's shows
# how closely the method measures (two identical servers), the VCL's what the VCL costs.
#   Benchmarks/vcl-overhead.sh [ROUNDS] [SECONDS]      (defaults: 7 rounds of 5 s)
# VCL=path/to/file.vcl measures another file instead (its backend on port 8000 is redirected);
# URL_PATH=/path?query sets the URL requested (default: one whose query is already sorted).
# Loopback only; every process started here is stopped by PID at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-7}
SECONDS_PER_ROUND=${2:-5}
BASE=${BASE_PORT:-27300}
ORIGIN=$BASE
PORTS=($((BASE + 1)) $((BASE + 2)) $((BASE + 3)))   # -b, control, VCL
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
sed "s/\.port = \"8000\"/.port = \"$ORIGIN\"/" "${VCL:-config/default.vcl}" > "$WORK/measured.vcl"
printf 'vcl 4.1;\nbackend default { .host = "127.0.0.1"; .port = "%s"; }\n' "$ORIGIN" > "$WORK/control.vcl"
SERVER_ARGS=("-b 127.0.0.1:$ORIGIN" "-f $WORK/control.vcl" "-f $WORK/measured.vcl")
SERVERS=()
for i in 0 1 2; do
    # shellcheck disable=SC2086  # the arguments are two words on purpose
    "${PIN_SERVER[@]}" "$BIN" -a "127.0.0.1:${PORTS[$i]}" ${SERVER_ARGS[$i]} -p threads=1 --log-level warning &
    PIDS+=($!); SERVERS+=($!)
done
URL_PATH=${URL_PATH:-"/bench?cc=max-age=3600&ms=0&size=1024"}
for port in "${PORTS[@]}"; do
    for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$port$URL_PATH" && break; sleep 0.1; done
done

TICKS=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
printf "%-6s %9s %9s %9s %11s %11s %11s %9s %9s\n" round "-b req" "ctl req" "vcl req" \
    "-b us/req" "ctl us/req" "vcl us/req" "ctl x" "vcl x"
CONTROLS=(); MEASURED=()
for r in $(seq "$ROUNDS"); do
    before=(); after=(); loads=()
    for i in 0 1 2; do before+=("$(cpu_ticks "${SERVERS[$i]}")"); done
    for i in 0 1 2; do
        "${PIN_LOAD[@]}" wrk -t1 -c16 -d"${SECONDS_PER_ROUND}s" "http://127.0.0.1:${PORTS[$i]}$URL_PATH" \
            > "$WORK/wrk-$i.txt" & loads+=($!)
    done
    wait "${loads[@]}"
    for i in 0 1 2; do after+=("$(cpu_ticks "${SERVERS[$i]}")"); done
    line=$(for i in 0 1 2; do
        awk -v t=$((after[i] - before[i])) -v hz="$TICKS" '/requests in/ { printf "%d %.2f ", $1, t / hz * 1e6 / $1 }' \
            "$WORK/wrk-$i.txt"
    done)
    read -r na ca nc cc nv cv <<<"$line"
    control=$(awk -v a="$ca" -v b="$cc" 'BEGIN { printf "%.3f", b / a }')
    measured=$(awk -v a="$ca" -v b="$cv" 'BEGIN { printf "%.3f", b / a }')
    CONTROLS+=("$control"); MEASURED+=("$measured")
    printf "%-6s %9s %9s %9s %11s %11s %11s %9s %9s\n" "$r" "$na" "$nc" "$nv" "$ca" "$cc" "$cv" "$control" "$measured"
done
echo "median CPU-per-request ratio, control / -b (the method's own spread): $(printf "%s\n" "${CONTROLS[@]}" | median)"
echo "median CPU-per-request ratio, VCL / -b: $(printf "%s\n" "${MEASURED[@]}" | median)"

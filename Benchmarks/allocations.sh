#!/usr/bin/env bash
# Heap allocations per request, counted under callgrind (calls to malloc, calloc, realloc and
# the aligned allocators), checked against the ceilings in allocations.thresholds: a change that
# adds an allocation to a hit or a pass fails here. A count, not a time: steady on a busy machine.
# Each figure is the difference between two runs of sequential keep-alive requests (N1 and N2 on
# one connection, after one warm-up miss), so start-up work cancels out.
#   Benchmarks/allocations.sh [hit|vcl|pass ...]      (default: all three)
# Exit status 1 when a count is above its ceiling. Loopback only; stops what it starts.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
BIN_DIR=$(bash scripts/build-release.sh shellacd)
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  sleep 0.5
  rm -rf "$WORK"
}
trap cleanup EXIT
# valgrind 3.19 cannot read Swift's DWARF 5: measure a copy without debug information.
strip --strip-debug -o "$WORK/shellacd" "$BIN_DIR/shellacd"
BASE=${BASE_PORT:-37500}
ORIGIN_PORT=$BASE
PORT=$((BASE + 1))
N1=${N1:-300}
N2=${N2:-1300}
up() { local i; for i in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.2; done; return 1; }

setsid python3 ../shared/bench/origin.py "$ORIGIN_PORT" "$WORK/origin.log" >/dev/null 2>&1 &
PIDS+=($!)
up "$ORIGIN_PORT"
sed "s/\.port = \"8000\"/.port = \"$ORIGIN_PORT\"/" config/default.vcl > "$WORK/default.vcl"

# Calls made to the allocator in one callgrind output file.
count_allocations() {
  python3 - "$1" <<'EOF'
import re, sys
allocators = {"malloc", "calloc", "realloc", "posix_memalign", "aligned_alloc", "memalign"}
names, callee, total = {}, None, 0
for line in open(sys.argv[1], errors="replace"):
    if line.startswith(("fn=", "cfn=")):
        match = re.match(r"c?fn=\((\d+)\)(?: (.*))?", line.rstrip("\n"))
        if match.group(2):
            names[match.group(1)] = match.group(2)
        callee = names.get(match.group(1), "") if line.startswith("cfn=") else None
    elif line.startswith("calls=") and callee is not None:
        if callee.split(":")[-1].strip() in allocators:
            total += int(line.split()[0][len("calls="):])
        callee = None
print(total)
EOF
}

# run NAME PATH N SHELLACD-ARGUMENTS...: allocations of a server that answered N+1 requests.
run() {
  local name=$1 path=$2 n=$3 pid
  shift 3
  setsid valgrind --tool=callgrind --callgrind-out-file="$WORK/$name-$n.out" "$WORK/shellacd" \
    -a "127.0.0.1:$PORT" -n "$WORK/instance-$name-$n" "$@" -p threads=1 --log-level warning \
    >"$WORK/$name-$n.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  up "$PORT" || { tail "$WORK/$name-$n.log" >&2; exit 1; }
  timeout 300 python3 ../shared/bench/seqclient.py "$PORT" 1 "$path" >/dev/null
  timeout 600 python3 ../shared/bench/seqclient.py "$PORT" "$n" "$path" >/dev/null
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  count_allocations "$WORK/$name-$n.out"
}

HIT='/static/1k?ms=0&cc=max-age%3D3600'
PASS='/static/1k?ms=0&cc=no-store'
failed=0
for which in ${*:-hit vcl pass}; do
  case $which in
    hit) path=$HIT; args=(-b "127.0.0.1:$ORIGIN_PORT"); label="1 KiB hit, -b" ;;
    vcl) path=$HIT; args=(-f "$WORK/default.vcl"); label="1 KiB hit, default.vcl" ;;
    pass) path=$PASS; args=(-b "127.0.0.1:$ORIGIN_PORT"); label="1 KiB pass (no-store), -b" ;;
    *) echo "unknown measurement: $which (hit, vcl, pass)" >&2; exit 2 ;;
  esac
  first=$(run "$which" "$path" "$N1" "${args[@]}")
  second=$(run "$which" "$path" "$N2" "${args[@]}")
  per=$(awk -v a="$first" -v b="$second" -v n=$((N2 - N1)) 'BEGIN { printf "%.2f", (b - a) / n }')
  ceiling=$(awk -v k="$which" '$1 == k { print $2 }' Benchmarks/allocations.thresholds)
  verdict=$(awk -v p="$per" -v c="${ceiling:-0}" 'BEGIN { print (p <= c ? "ok" : "ABOVE") }')
  printf '%-28s %6s allocations/request (ceiling %s) %s\n' "$label" "$per" "${ceiling:-none}" "$verdict"
  [ "$verdict" = ok ] || failed=1
done
exit "$failed"

#!/usr/bin/env bash
# Differential run against Varnish: the same VCL, the same random request sequence and twin
# deterministic origins, one behind Varnish and one behind Shellac; prints every request whose
# answers differ (see requests.py for the differences that are by design). Needs varnishd.
#   scripts/varnish-diff/run.sh [VCL|-b] [SEED] [COUNT]     (default: -b 1 500)
# PIPELINED=1 sends COUNT batches of pipelined requests instead (pipelined.py).
# A VCL's backend is pointed at the origins by rewriting `.port = "8000"` (as config/default.vcl
# has it). Ports BASE_PORT..+3 on loopback (default 28170); stops what it starts.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE/../.."
VCL=${1:--b}; SEED=${2:-1}; COUNT=${3:-500}
BASE=${BASE_PORT:-28170}
BIN="$(bash scripts/build-release.sh shellacd 2>/dev/null)/shellacd"
WORK=$(mktemp -d)
chmod 755 "$WORK"  # varnishd reads the VCL as its own unprivileged user
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done
  sleep 0.5
  [ -n "${KEEP:-}" ] && echo "kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT
start() { setsid "$@" >>"$WORK/servers.log" 2>&1 & PIDS+=($!); }
start python3 "$HERE/origin.py" "$BASE" "$WORK/varnish-origin.log"
start python3 "$HERE/origin.py" "$((BASE + 1))" "$WORK/shellac-origin.log"
if [ "$VCL" = -b ]; then
  start varnishd -F -a "127.0.0.1:$((BASE + 2))" -b "127.0.0.1:$BASE" -n "$WORK/varnish" -s malloc,64m
  start "$BIN" -a "127.0.0.1:$((BASE + 3))" -b "127.0.0.1:$((BASE + 1))" --log-level warning
else
  sed "s/\.port = \"8000\"/.port = \"$BASE\"/" "$VCL" >"$WORK/varnish.vcl"
  sed "s/\.port = \"8000\"/.port = \"$((BASE + 1))\"/" "$VCL" >"$WORK/shellac.vcl"
  start varnishd -F -a "127.0.0.1:$((BASE + 2))" -f "$WORK/varnish.vcl" -n "$WORK/varnish" -s malloc,64m
  start "$BIN" -a "127.0.0.1:$((BASE + 3))" -f "$WORK/shellac.vcl" --log-level warning
fi
for port in "$BASE" "$((BASE + 1))" "$((BASE + 2))" "$((BASE + 3))"; do
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
done
if [ -n "${PIPELINED:-}" ]; then
  timeout 300 python3 "$HERE/pipelined.py" "$SEED" "$COUNT" "$((BASE + 2))" "$((BASE + 3))"
else
  timeout 300 python3 "$HERE/requests.py" "$SEED" "$COUNT" "$((BASE + 2))" "$((BASE + 3))" "${POST_WEIGHT:-0}"
fi

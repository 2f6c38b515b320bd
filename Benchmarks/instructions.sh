#!/usr/bin/env bash
# User-space instructions per request under callgrind (../shared/bench/instr.sh): a count, not a
# time, so it is steady on a busy machine. Measures a 1 KiB hit with `-b`, the same hit with
# config/default.vcl, and a pass (a no-store answer), each as the difference between two runs of
# sequential keep-alive requests. Takes a few minutes; loopback only, stops what it starts.
#   Benchmarks/instructions.sh [hit|vcl|pass ...]      (default: all three)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
BIN_DIR=$(bash scripts/build-release.sh shellacd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# valgrind 3.19 cannot read Swift's DWARF 5: measure a copy without debug information.
strip --strip-debug -o "$WORK/shellacd" "$BIN_DIR/shellacd"
BASE=${BASE_PORT:-37400}
measure() {  # NAME PORT-BASE PATH N1 N2 SHELLACD-ARGUMENTS...
  local name=$1 base=$2 path=$3 n1=$4 n2=$5
  shift 5
  local line
  line=$(BASE_PORT=$base bash ../shared/bench/instr.sh "$WORK/shellacd -a 127.0.0.1:\$CANDIDATE_PORT $* -p threads=1 --log-level warning" \
    "$path" "$n1" "$n2" 2>/dev/null | tail -n 1)
  printf '%-28s %s\n' "$name" "${line#instructions/request: }"
}
WHICH=${*:-hit vcl pass}
HIT='/static/1k?ms=0&cc=max-age%3D3600'
for which in $WHICH; do
  case $which in
    hit) measure "1 KiB hit, -b" "$BASE" "$HIT" 2000 12000 "-b 127.0.0.1:\$ORIGIN_PORT" ;;
    vcl)
      # instr.sh puts its origin on BASE+1; the VCL's backend is pointed there.
      sed "s/\.port = \"8000\"/.port = \"$((BASE + 11))\"/" config/default.vcl > "$WORK/default.vcl"
      measure "1 KiB hit, default.vcl" "$((BASE + 10))" "$HIT" 2000 12000 "-f $WORK/default.vcl" ;;
    pass) measure "1 KiB pass (no-store), -b" "$((BASE + 20))" '/static/1k?ms=0&cc=no-store' 200 700 \
            "-b 127.0.0.1:\$ORIGIN_PORT" ;;
    *) echo "unknown measurement: $which (hit, vcl, pass)" >&2; exit 2 ;;
  esac
done

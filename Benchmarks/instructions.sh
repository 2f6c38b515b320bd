#!/usr/bin/env bash
# User-space instructions per request under callgrind (../shared/bench/instr.sh): a count, not a
# time, so it is steady on a busy machine. Measures a 1 KiB hit with `-b`, the same hit with
# config/default.vcl, and a pass (a no-store answer), each as the difference between two runs of
# sequential keep-alive requests. `floor` measures the same pass through the bare SwiftNIO byte
# relay of Benchmarks/ForwardFloor (no HTTP work at all): what SwiftNIO itself costs a pass, which
# no proxy built on it goes below. `django` measures what a site's own VCL costs with the
# requests browsers send: config/examples/django.vcl (its cookie filter, vcl_deliver's unset of
# Server), a desktop browser's header set (Benchmarks/browser-client.py) with analytics cookies,
# once anonymous (filtered, then a hit) and once logged in (a sessionid: a pass).
# Takes a few minutes; loopback only, stops what it starts.
#   Benchmarks/instructions.sh [hit|vcl|pass|floor|django ...]      (default: hit vcl pass)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
WHICH=${*:-hit vcl pass}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# valgrind 3.19 cannot read Swift's DWARF 5: measure copies without debug information.
BIN_DIR=$(bash scripts/build-release.sh shellacd)
strip --strip-debug -o "$WORK/shellacd" "$BIN_DIR/shellacd"
if [[ " $WHICH " == *" floor "* ]]; then
  strip --strip-debug -o "$WORK/relay" "$(bash scripts/build-release.sh shellac-forward-floor)/shellac-forward-floor"
fi
BASE=${BASE_PORT:-37400}
measure_command() {  # NAME PORT-BASE PATH N1 N2 COMMAND
  local line
  line=$(BASE_PORT=$2 bash ../shared/bench/instr.sh "$6" "$3" "$4" "$5" 2>/dev/null | tail -n 1)
  printf '%-28s %s\n' "$1" "${line#instructions/request: }"
}
measure() {  # NAME PORT-BASE PATH N1 N2 SHELLACD-ARGUMENTS...
  local name=$1 base=$2 path=$3 n1=$4 n2=$5
  shift 5
  measure_command "$name" "$base" "$path" "$n1" "$n2" \
    "$WORK/shellacd -a 127.0.0.1:\$CANDIDATE_PORT $* -p threads=1 --log-level warning"
}
HIT='/static/1k?ms=0&cc=max-age%3D3600'
ANALYTICS='_ga=GA1.1.1234567890.1700000000; csrftoken=Qk3u9yXq0RJmVb6tXz1Lw8pNcY2aHf7E; _gid=GA1.2.987654321.1700000000'
# The same as instr.sh, with browser-client.py as the client: (instructions(N2) - instructions(N1))
# / (N2 - N1) of shellacd serving PATH with COOKIE, after a warm-up request.
measure_browser() {  # NAME PORT-BASE PATH N1 N2 COOKIE SHELLACD-ARGUMENTS...
  local name=$1 origin=$2 port=$(($2 + 1)) path=$3 n1=$4 n2=$5 cookie=$6 n t pid i totals=()
  shift 6
  setsid python3 ../shared/bench/origin.py "$origin" "$WORK/origin-$origin.log" >/dev/null 2>&1 &
  local origin_pid=$!
  for n in "$n1" "$n2"; do
    setsid valgrind --tool=callgrind --callgrind-out-file="$WORK/cg-$port-$n" "$WORK/shellacd" \
      -a "127.0.0.1:$port" "$@" -p threads=1 --log-level warning >"$WORK/server-$port-$n.log" 2>&1 &
    pid=$!
    for i in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
    timeout 600 python3 Benchmarks/browser-client.py "$port" 1 "$path" "$cookie" >/dev/null
    timeout 600 python3 Benchmarks/browser-client.py "$port" "$n" "$path" "$cookie" >/dev/null
    kill -TERM -- "-$pid"
    for i in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    t=$(awk '/^summary:/ { print $2 }' "$WORK/cg-$port-$n")
    totals+=("$t")
  done
  kill -TERM -- "-$origin_pid" 2>/dev/null || true
  printf '%-28s %s\n' "$name" "$(( (totals[1] - totals[0]) / (n2 - n1) ))"
}
for which in $WHICH; do
  case $which in
    hit) measure "1 KiB hit, -b" "$BASE" "$HIT" 2000 12000 "-b 127.0.0.1:\$ORIGIN_PORT" ;;
    vcl)
      # instr.sh puts its origin on BASE+1; the VCL's backend is pointed there.
      sed "s/\.port = \"8000\"/.port = \"$((BASE + 11))\"/" config/default.vcl > "$WORK/default.vcl"
      measure "1 KiB hit, default.vcl" "$((BASE + 10))" "$HIT" 2000 12000 "-f $WORK/default.vcl" ;;
    pass) measure "1 KiB pass (no-store), -b" "$((BASE + 20))" '/static/1k?ms=0&cc=no-store' 200 700 \
            "-b 127.0.0.1:\$ORIGIN_PORT" ;;
    floor) measure_command "1 KiB pass, bare relay" "$((BASE + 30))" '/static/1k?ms=0&cc=no-store' 200 700 \
             "$WORK/relay \$CANDIDATE_PORT \$ORIGIN_PORT 1" ;;
    django)
      sed "s/\.port = \"8000\"/.port = \"$((BASE + 40))\"/" config/examples/django.vcl > "$WORK/django.vcl"
      measure_browser "django.vcl, anonymous hit" "$((BASE + 40))" '/page?ms=0&cc=max-age%3D3600' 200 1200 \
        "$ANALYTICS" -f "$WORK/django.vcl"
      measure_browser "django.vcl, session pass" "$((BASE + 40))" '/account?ms=0&cc=max-age%3D3600' 200 1200 \
        "$ANALYTICS; sessionid=x8v2kq0p9m3n7b5c1z4l6j8h0g2f4d6s" -f "$WORK/django.vcl" ;;
    *) echo "unknown measurement: $which (hit, vcl, pass, floor, django)" >&2; exit 2 ;;
  esac
done

#!/usr/bin/env bash
# The pass scenario of the shared comparison with a bare SwiftNIO byte relay as the candidate
# (Benchmarks/ForwardFloor): what a proxy on SwiftNIO that does no HTTP work at all reaches
# against Varnish and nginx proxying the same origin, in the same run. Shellac's pass figures
# from Benchmarks/compare.sh read against it show what its HTTP work costs and what the event
# loop count alone allows. Arguments go to compare.sh, e.g.
#   Benchmarks/pass-floor.sh --repeats 3 --duration 5
# FLOOR_LOOPS sets the relay's event loops (default 1, as Shellac runs in compare.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
BIN="$(bash scripts/build-release.sh shellac-forward-floor)/shellac-forward-floor"
LOOPS=${FLOOR_LOOPS:-1}
exec bash ../shared/bench/compare.sh --candidate-name "relay-$LOOPS" --scenarios pass1k \
    --candidate "$BIN \$CANDIDATE_PORT \$ORIGIN_PORT $LOOPS" "$@"

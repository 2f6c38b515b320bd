#!/usr/bin/env bash
# Builds shellacd in release mode and runs the shared side-by-side comparison (Shellac, Varnish,
# nginx, the origin, on loopback) with it as the candidate. Arguments go to compare.sh, e.g.
#   Benchmarks/compare.sh --scenarios hit1k,hit100k --repeats 3
# The shared script installs varnish, nginx and wrk from Debian when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
BIN="$(bash scripts/build-release.sh shellacd)/shellacd"
exec bash ../shared/bench/compare.sh --candidate-name shellac \
    --candidate "$BIN -a 127.0.0.1:\$CANDIDATE_PORT -b 127.0.0.1:\$ORIGIN_PORT -s malloc,256m" "$@"

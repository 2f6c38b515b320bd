#!/usr/bin/env bash
# Builds shellacd in release mode and runs the shared side-by-side comparison (Shellac, Varnish,
# nginx, the origin, on loopback) with it as the candidate. Arguments go to compare.sh, e.g.
#   Benchmarks/compare.sh --scenarios hit1k,hit100k --repeats 3
# The shared script installs varnish, nginx and wrk from Debian when they are missing.
#
# Shellac runs SHELLAC_THREADS event loops here (default 1, not its usual one per core): on the
# two-core development machine wrk shares the cores with the proxy, and two busy event loops
# plus wrk's thread are three threads for two cores. Measured in alternating runs on a quiet machine,
# two loops left the hit1k p99 at 4.1-4.2 ms (Varnish 1.4-2.9 ms) where one loop gave 0.8 ms,
# and one loop served more hits (hit1k 120-127k against 106-115k); passes were about the same.
# SHELLAC_THREADS=0 measures the default (one loop per core).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
BIN="$(bash scripts/build-release.sh shellacd)/shellacd"
exec bash ../shared/bench/compare.sh --candidate-name shellac \
    --candidate "$BIN -a 127.0.0.1:\$CANDIDATE_PORT -b 127.0.0.1:\$ORIGIN_PORT -s malloc,256m -p threads=${SHELLAC_THREADS:-1}" "$@"

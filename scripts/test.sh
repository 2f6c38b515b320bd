#!/usr/bin/env bash
# Runs the test suite on a fresh machine: system packages first, then swift test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
swift test "$@"

#!/usr/bin/env bash
# Runs the test suite on a fresh machine: system packages first (PCRE2 and zlib for the build, varnish for
# the varnishadm interoperability test), then swift test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
bash scripts/ensure-test-deps.sh
swift test "$@"

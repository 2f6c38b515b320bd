#!/usr/bin/env bash
# Builds (release) and runs shellacd on a fresh machine: system packages first. Arguments go to
# shellacd, e.g. scripts/shellacd.sh -a 127.0.0.1:6081 -f config/default.vcl
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
BIN_DIR=$(bash scripts/build-release.sh shellacd)
exec "$BIN_DIR/shellacd" "$@"

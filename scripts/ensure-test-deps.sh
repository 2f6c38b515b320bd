#!/usr/bin/env bash
# Installs what the tests use beyond the build: Debian's varnish package, whose varnishadm the
# admin-channel tests drive shellacd with (the interoperability test). Its service is not
# started. Without root or apt-get, that one test is skipped and says so.
set -euo pipefail
if command -v varnishadm >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    # Keep the package's init scripts from starting a varnishd.
    created_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        created_policy=1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends varnish || true
    if [ "$created_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
fi
command -v varnishadm >/dev/null 2>&1 || echo "varnishadm not available: the varnishadm interoperability test is skipped" >&2

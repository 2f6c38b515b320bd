#!/usr/bin/env bash
# Installs the system packages Shellac builds against when they are missing: PCRE2's headers
# (VCL regexes), zlib's (gzip for beresp.do_gzip / do_gunzip) and pkg-config to find them.
# Debian's apt-get, as root.
set -euo pipefail
if pkg-config --exists libpcre2-8 zlib 2>/dev/null; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpcre2-dev zlib1g-dev pkg-config
else
    echo "PCRE2 or zlib headers are missing: install libpcre2-dev, zlib1g-dev and pkg-config (as root: apt-get install libpcre2-dev zlib1g-dev pkg-config)" >&2
    exit 1
fi

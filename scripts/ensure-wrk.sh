#!/usr/bin/env bash
# The HTTP benchmarks drive their servers with wrk (C, not Python, so the load generator does not eat the cores
# being measured). Debian's package, installed as root or through password-less sudo (scripts/apt-install.sh).
set -u
if command -v wrk >/dev/null; then exit 0; fi
bash "$(dirname "$0")/apt-install.sh" wrk
case $? in
  0) exit 0 ;;
  2) echo "wrk is missing and this machine cannot install it (not root, no password-less sudo): sudo apt-get install wrk" ;;
esac
exit 1

#!/usr/bin/env bash
# The HTTP benchmarks drive their servers with wrk (C, not Python, so the load generator does not eat the cores
# being measured). Install Debian's package when we can (root on Debian/Ubuntu), as ensure-browser.sh does.
set -u
if command -v wrk >/dev/null; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "installing Debian's wrk for the benchmarks..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk) >/tmp/contacts-sync-apt-wrk.log 2>&1 \
    || { echo "apt-get install wrk failed, see /tmp/contacts-sync-apt-wrk.log"; exit 1; }
  exit 0
fi
echo "wrk is missing and this is not root: install it with 'sudo apt-get install wrk'"
exit 1

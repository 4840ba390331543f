#!/usr/bin/env bash
# `scripts/apt-install.sh <package>`: install one of Debian's packages for the tests or the benchmarks, as root or
# through password-less sudo. Exit 0 when installed, 1 when it failed, 2 when this machine cannot install it.
set -u
pkg="$1"
log="/tmp/contacts-sync-apt-$pkg.log"
if ! command -v apt-get >/dev/null; then exit 2; fi
if [ "$(id -u)" = "0" ]; then sudo=""
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"
else exit 2
fi
echo "installing Debian's $pkg..."
($sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg") >"$log" 2>&1 \
  || { echo "apt-get install $pkg failed, see $log"; exit 1; }

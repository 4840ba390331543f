#!/usr/bin/env bash
# Browser tests drive Debian's chromium through Playwright (playwright's own browser download cannot work
# offline). Installed as root or through password-less sudo (scripts/apt-install.sh); otherwise say which tests
# will be skipped (in CI, where a missing browser is a failure, stop).
set -u
if [ -x /usr/bin/chromium ]; then exit 0; fi
bash "$(dirname "$0")/apt-install.sh" chromium
rc=$?
if [ $rc = 0 ]; then exit 0; fi
if [ "${CI:-}" = "true" ]; then echo "CI: /usr/bin/chromium is missing and could not be installed"; exit 1; fi
if [ $rc = 2 ]; then
  echo "NOTE: /usr/bin/chromium is missing and this is not root: browser tests (marked 'browser') will be skipped."
  echo "      install it with: sudo apt-get install chromium"
fi

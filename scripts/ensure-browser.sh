#!/usr/bin/env bash
# Browser tests drive Debian's chromium through Playwright (playwright's own browser download cannot work
# offline). Install it when we can (root on Debian/Ubuntu); otherwise say which tests will be skipped.
set -u
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "installing Debian's chromium for the browser tests..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/tmp/contacts-sync-apt.log 2>&1 \
    || { echo "apt-get install chromium failed, see /tmp/contacts-sync-apt.log"; [ "${CI:-}" = "true" ] && exit 1; }
  exit 0
fi
if [ "${CI:-}" = "true" ]; then echo "CI: /usr/bin/chromium is missing and cannot be installed (not root)"; exit 1; fi
echo "NOTE: /usr/bin/chromium is missing and this is not root: browser tests (marked 'browser') will be skipped."
echo "      install it with: sudo apt-get install chromium"

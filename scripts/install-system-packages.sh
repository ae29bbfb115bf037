#!/usr/bin/env bash
# Debian packages the platform and its tests need. Idempotent: installs only what is missing.
#   chromium          headless browser for the page tests (Playwright drives /usr/bin/chromium)
#   fonts-noto-cjk    Chinese glyphs in pages, screenshots and the generated documents (onecity/synth/corpus)
#   fonts-arphic-gbsn00lp  the Song face embedded in certificate printouts (onecity/credentials/printout.py)
set -euo pipefail

PACKAGES=(chromium fonts-noto-cjk fonts-arphic-gkai00mp fonts-lxgw-wenkai fonts-arphic-ukai fonts-arphic-gbsn00lp
  fonts-arphic-uming fonts-wqy-zenhei fonts-cwtex-fs)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present (${PACKAGES[*]})"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "system packages missing (${missing[*]}) and this is not a Debian system: install them yourself" >&2
  exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y --no-install-recommends "${missing[@]}" \
  || { $SUDO apt-get update && $SUDO apt-get install -y --no-install-recommends "${missing[@]}"; }

#!/bin/sh
# A CJK font for the weekly report's Traditional Chinese labels (Debian's fonts-noto-cjk, which
# bot/report/fonts.py looks for). Optional: never fails. Without it the Chinese-label test is
# skipped with a reason and a zh-TW report is drawn in English.
set -u

if [ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] \
    || fc-list 2>/dev/null | grep -q "Noto Sans CJK"; then
    echo "cjk font: found"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "cjk font: missing and apt-get unavailable; the Chinese-label test will be skipped" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
{ $SUDO apt-get update && $SUDO apt-get install -y --no-install-recommends fonts-noto-cjk; } \
    || echo "cjk font: apt-get could not install fonts-noto-cjk; the Chinese-label test will be skipped" >&2
exit 0

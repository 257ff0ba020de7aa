#!/usr/bin/env bash
# Build the self-contained one-folder MedAssist app with PyInstaller: dist/MedAssist/.
#
#   packaging/build.sh              build (about 10-20 min on 2 cores; torch dominates)
#   packaging/build.sh --check      build, then run the frozen self-test headless with the network unplugged
#
# Run from a clean clone on the target OS (Linux here; Windows/macOS steps: docs/delivery.md), in the
# Python environment that has MedAssist's dependencies (torch CPU build unless you want the CUDA one).
set -euo pipefail
cd "$(dirname "$0")/.."

python -m PyInstaller --version >/dev/null 2>&1 || python -m pip install "pyinstaller>=6"

nice -n 10 python -m PyInstaller --noconfirm \
  --distpath dist --workpath build/pyinstaller packaging/medassist.spec

app=dist/MedAssist
if [[ "$(uname -s)" == "Linux" ]]; then
  # system-wide install: copy dist/MedAssist to /opt/MedAssist, then these two files (see docs/delivery.md)
  cp packaging/linux/medassist.desktop "$app/medassist.desktop"
  cp resources/icons/medassist-256.png "$app/medassist.png"
fi
du -sh "$app"

if [[ "${1:-}" == "--check" ]]; then
  home=$(mktemp -d)
  # A fresh user folder and no network namespace: the frozen app must work with nothing to connect to.
  runner=()
  if unshare -rn true 2>/dev/null; then runner=(unshare -rn); else echo "unshare unavailable: network not isolated"; fi
  start=$(date +%s%N)
  MEDASSIST_HOME="$home" QT_QPA_PLATFORM=offscreen "${runner[@]}" "$app/medassist-cli" self-test
  echo "frozen self-test took $(( ($(date +%s%N) - start) / 1000000 )) ms"
  MEDASSIST_HOME="$home" QT_QPA_PLATFORM=offscreen MEDASSIST_STARTUP_TIMING=1 "${runner[@]}" "$app/MedAssist" --quit-after 1
  rm -rf "$home"
fi

#!/bin/sh
# Builds Tessera and runs the whole test suite (unit tests, end-to-end tests headless
# and under Xvfb). Ends with the line "N passed, N failed".
set -eu
cd "$(dirname "$0")/.."
sh tools/deps.sh
build=${TESSERA_BUILD:-build}
[ -f "$build/build.ninja" ] || meson setup "$build" ${TESSERA_MESON_ARGS:-}
ninja -C "$build"
status=0
meson test -C "$build" --print-errorlogs --no-rebuild || status=$?
python3 - "$build/meson-logs/testlog.json" <<'PY'
import json, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    result = json.loads(line)["result"]
    if result in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif result == "SKIP":
        skipped += 1
    else:
        failed += 1
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PY
exit $status

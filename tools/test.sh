#!/bin/sh
# Builds Tessera and runs the whole test suite (unit tests, end-to-end tests headless
# and under Xvfb) twice: in a plain build, and in a build with AddressSanitizer and
# UndefinedBehaviorSanitizer. Ends with the line "N passed, N failed".
set -eu
cd "$(dirname "$0")/.."
sh tools/deps.sh
status=0
logs=""
for variant in build build-sanitize; do
	if [ ! -f "$variant/build.ninja" ]; then
		case "$variant" in
		build) meson setup "$variant" ;;
		build-sanitize) meson setup "$variant" -Db_sanitize=address,undefined -Db_lundef=false ;;
		esac
	fi
	ninja -C "$variant"
	echo "== tests in $variant"
	meson test -C "$variant" --print-errorlogs --no-rebuild || status=1
	logs="$logs $variant/meson-logs/testlog.json"
done
python3 - $logs <<'PY'
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    for line in open(path):
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

#!/bin/sh
# Builds Tessera and runs the whole test suite (unit tests, end-to-end tests headless
# and under Xvfb, the misbehaving clients, a chaos soak, the fuzz corpus) twice: in a
# plain build, and in a build with AddressSanitizer and UndefinedBehaviorSanitizer
# (a leak LeakSanitizer finds fails it); the end-to-end tests run a second time with the
# epoll loop in the plain build (suite "epoll"). Then builds the fuzz targets with clang and
# libFuzzer and fuzzes each for a short while (build-fuzz, suite "fuzz").
# Ends with the line "N passed, N failed".
set -eu
cd "$(dirname "$0")/.."
sh tools/deps.sh tools/debian-packages-test.txt
status=0
logs=""
for variant in build build-sanitize build-fuzz; do
	if [ ! -f "$variant/build.ninja" ]; then
		case "$variant" in
		build) meson setup "$variant" ;;
		build-sanitize) meson setup "$variant" -Db_sanitize=address,undefined -Db_lundef=false ;;
		build-fuzz) CC=clang meson setup "$variant" -Dfuzz=true -Db_lundef=false ;;
		esac
	fi
	ninja -C "$variant"
	echo "== tests in $variant"
	suite=""
	case "$variant" in
	# The fuzz build only fuzzes: everything else ran in the two builds before it.
	build-fuzz) suite="--suite fuzz" ;;
	# The end-to-end tests' epoll variants (tests/e2e/meson.build) ran in the plain
	# build; the sanitizers see the epoll loop in the unit tests (test-loop).
	build-sanitize) suite="--no-suite epoll" ;;
	esac
	meson test -C "$variant" --print-errorlogs --no-rebuild $suite || status=1
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

#!/bin/sh
# Cleanup time and server memory with a client holding N rectangles (default 10000):
# starts a headless server, and RUNS times has tessera-crash create N rects and
# SIGKILL itself. Prints the server's RSS idle and with the rects, and the time the
# server took to free the dead client (measured inside the server: last_cleanup_us).
#   sh bench/cleanup-rss.sh [BUILD_DIR] [N] [RUNS]
set -eu
build=${1:-build}
n=${2:-10000}
runs=${3:-5}
dir=$(mktemp -d /tmp/tessera-bench-XXXXXX)
"$build/server/tessera" --headless --size 320x240 --socket "$dir/s" 2>"$dir/log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$dir"' EXIT
until "$build/tools/tessera-info" --socket "$dir/s" >/dev/null 2>&1; do sleep 0.05; done
"$build/tools/tessera-shot" --socket "$dir/s" "$dir/idle.png" # a first frame and readback
rss() { awk '/VmRSS/ { print $2 }' "/proc/$server/status"; }
echo "server RSS idle: $(rss) KiB"
for i in $(seq "$runs"); do
	"$build/demos/tessera-crash" --socket "$dir/s" --mode kill --objects "$n" \
		--linger-ms 1000 >"$dir/out" &
	crash=$!
	until grep -q ready "$dir/out" 2>/dev/null; do sleep 0.01; done
	"$build/tools/tessera-shot" --socket "$dir/s" "$dir/full.png"
	held=$(rss)
	wait $crash 2>/dev/null || true
	until json=$("$build/tools/tessera-info" --socket "$dir/s" --json) &&
		echo "$json" | grep -q '"objects": 0'; do
		sleep 0.01
	done
	echo "run $i: RSS with $n rects: $held KiB; $json"
done

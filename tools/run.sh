#!/bin/sh
# The main job: builds Tessera, starts the server (in a window when a display is there,
# headless otherwise), runs the demo clients, including crashing ones, and leaves
# screenshots of each stage in screenshots/.
#   sh tools/run.sh [--headless] [--seconds N]
set -eu
cd "$(dirname "$0")/.."
seconds=10
mode=""
while [ $# -gt 0 ]; do
	case "$1" in
	--headless) mode=--headless ;;
	--seconds) seconds=$2; shift ;;
	*) echo "usage: sh tools/run.sh [--headless] [--seconds N]" >&2; exit 2 ;;
	esac
	shift
done
if [ -z "$mode" ] && [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
	mode=--headless
fi
sh tools/deps.sh
build=${TESSERA_BUILD:-build}
[ -f "$build/build.ninja" ] || meson setup "$build"
ninja -C "$build"

run=$(mktemp -d /tmp/tessera-run-XXXXXX)
sock="$run/sock"
shots=screenshots
mkdir -p "$shots"
"$build/server/tessera" $mode --size 800x480 --socket "$sock" 2>"$run/server.log" &
server=$!
cleanup() {
	kill "$server" 2>/dev/null || true
	wait "$server" 2>/dev/null || true
	rm -rf "$run"
}
trap cleanup EXIT INT TERM
i=0
until "$build/tools/tessera-info" --socket "$sock" >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 200 ] || ! kill -0 "$server" 2>/dev/null; then
		echo "tessera did not start:" >&2
		cat "$run/server.log" >&2
		exit 1
	fi
	sleep 0.05
done
echo "tessera is up (${mode:-window}) on $sock"

"$build/demos/tessera-demo-rects" --socket "$sock" --seconds "$seconds" &
demo=$!
sleep 1
"$build/tools/tessera-shot" --socket "$sock" "$shots/1-demo.png"
"$build/demos/tessera-demo-text" --socket "$sock" --seconds 2 &
text=$!
sleep 1
"$build/tools/tessera-shot" --socket "$sock" "$shots/1-text.png"
wait "$text"
"$build/demos/tessera-demo-clock" --socket "$sock" --seconds 2 &
clock=$!
sleep 1
"$build/tools/tessera-shot" --socket "$sock" "$shots/1-clock.png"
wait "$clock"
"$build/demos/tessera-demo-dashboard" --socket "$sock" --seconds 3 &
dashboard=$!
sleep 2
"$build/tools/tessera-shot" --socket "$sock" "$shots/1-dashboard.png"
wait "$dashboard"
for crash in segv abort kill midmsg exit; do
	"$build/demos/tessera-crash" --socket "$sock" --mode "$crash" --objects 300 --tree \
		--texts 40 --animations 200 --linger-ms 700 > "$run/crash.out" &
	crasher=$!
	until grep -q ready "$run/crash.out" 2>/dev/null; do sleep 0.02; done
	"$build/tools/tessera-shot" --socket "$sock" "$shots/2-crash-$crash-alive.png"
	"$build/tools/tessera-info" --socket "$sock"
	wait "$crasher" 2>/dev/null || true
	"$build/tools/tessera-shot" --socket "$sock" "$shots/3-crash-$crash-gone.png"
	echo "after tessera-crash --mode $crash:"
	"$build/tools/tessera-info" --socket "$sock"
done
wait "$demo"
"$build/tools/tessera-shot" --socket "$sock" "$shots/4-end.png"
"$build/tools/tessera-info" --socket "$sock" --json
echo "screenshots written to $shots/"

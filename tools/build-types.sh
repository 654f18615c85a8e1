#!/bin/sh
# Builds Tessera once for each "compiler:buildtype" pair given, each in its own folder,
# to check that every one compiles without a warning (the project builds with
# -Werror, so a warning fails the build). Each build includes the tests (-Dtests=true),
# because some warnings (-Wmaybe-uninitialized, unused variables under NDEBUG) show up
# only at some optimisation levels or with one of the compilers.
#
#   sh tools/build-types.sh [-o ROOT] [COMPILER:BUILDTYPE ...] [-- MESON_SETUP_ARGS ...]
#
# COMPILER is what CC is set to (gcc, clang, gcc-13...); BUILDTYPE is a meson build
# type (plain, debug, debugoptimized, release, minsize). Without pairs it builds
# gcc:release clang:debug, the two CI builds. Every one, for a developer:
#
#   sh tools/build-types.sh gcc:debug gcc:debugoptimized gcc:release gcc:minsize \
#       clang:debug clang:release
#
# Build COMPILER-BUILDTYPE lives under ROOT, its output in ROOT/COMPILER-BUILDTYPE.log.
# With -o, a folder already set up there is reused (an incremental build; it keeps
# the options it was given before, unless given them again); without -o, ROOT is a
# new temporary folder, removed when every build succeeds. Arguments after -- go to
# meson for each build, e.g. -- -Db_ndebug=true (meson's release build type does not
# define NDEBUG by itself).
#
# Prints one line per build, and exits 1 if any failed, after the first errors of each.
set -eu

usage() {
	echo "usage: sh tools/build-types.sh [-o ROOT] [COMPILER:BUILDTYPE ...] [-- MESON_SETUP_ARGS ...]" >&2
	exit 2
}

root=""
pairs=""
while [ $# -gt 0 ]; do
	case "$1" in
	-o)
		[ $# -ge 2 ] || usage
		root=$2
		shift 2
		;;
	-h | --help) usage ;;
	--)
		shift
		break
		;;
	-*) usage ;;
	*:*)
		pairs="$pairs $1"
		shift
		;;
	*)
		echo "tools/build-types.sh: not COMPILER:BUILDTYPE: $1" >&2
		usage
		;;
	esac
done
[ -n "$pairs" ] || pairs="gcc:release clang:debug"

# Check every pair before building any.
for pair in $pairs; do
	cc=${pair%%:*}
	buildtype=${pair#*:}
	case "$buildtype" in
	plain | debug | debugoptimized | release | minsize) ;;
	*)
		echo "tools/build-types.sh: $pair: no build type \"$buildtype\"" >&2
		exit 2
		;;
	esac
	if [ -z "$cc" ] || ! command -v "$cc" >/dev/null 2>&1; then
		echo "tools/build-types.sh: $pair: no compiler \"$cc\"" >&2
		exit 2
	fi
done

temporary=false
if [ -z "$root" ]; then
	root=$(mktemp -d "${TMPDIR:-/tmp}/tessera-build-types.XXXXXX")
	temporary=true
fi
mkdir -p "$root"
root=$(cd "$root" && pwd)
cd "$(dirname "$0")/.."

failed=""
for pair in $pairs; do
	cc=${pair%%:*}
	buildtype=${pair#*:}
	name="$(basename "$cc")-$buildtype"
	dir="$root/$name"
	log="$root/$name.log"
	start=$(date +%s)
	step=setup
	configured=false
	ok=false
	if [ -f "$dir/build.ninja" ]; then
		# A folder set up before keeps its compiler (named in the folder's name) and
		# takes the options again. `meson configure`, not `meson setup --reconfigure`:
		# that ignores base options such as b_ndebug before meson 1.4 (meson #11732).
		meson configure "$dir" "-Dbuildtype=$buildtype" -Dtests=true "$@" >"$log" 2>&1 \
			&& configured=true
	else
		CC=$cc meson setup "$dir" "-Dbuildtype=$buildtype" -Dtests=true "$@" >"$log" 2>&1 \
			&& configured=true
	fi
	if $configured; then
		step=build
		# -k 0: every file that fails, not only the first.
		ninja -C "$dir" -k 0 >>"$log" 2>&1 && ok=true
	fi
	seconds=$(($(date +%s) - start))
	if $ok; then
		printf 'ok    %-22s %4ss\n' "$pair" "$seconds"
	else
		printf 'FAIL  %-22s %4ss  (%s failed; %s)\n' "$pair" "$seconds" "$step" "$log"
		failed="$failed $pair"
	fi
done

[ -z "$failed" ] || {
	for pair in $failed; do
		cc=${pair%%:*}
		log="$root/$(basename "$cc")-${pair#*:}.log"
		echo
		echo "== $pair: first errors ($log)"
		if grep -q -E '(error|warning):' "$log"; then
			grep -E '(error|warning):' "$log" | head -n 20
		else
			tail -n 20 "$log"
		fi
	done
	exit 1
}
if $temporary; then
	rm -rf "$root"
fi

#!/bin/sh
# The README promises that on a fresh Debian 12 machine its two commands do all the
# set-up. A developer's or CI's machine is never fresh: whatever it installed by hand, or
# pulled in as a Recommends, hides a package missing from tools/debian-packages*.txt
# (libxrandr-dev, a Recommends of libglfw3-dev, once did). This script checks the promise
# on a machine that really is fresh:
#
#   1. bootstraps a minimal Debian 12 (debootstrap --variant=minbase) from the Debian
#      mirror this machine's own apt sources use, and keeps it as a pristine tarball in
#      a cache folder, so that later runs skip this step;
#   2. extracts that tarball into a new temporary folder (never a tree that an earlier
#      run touched), mounts /proc, /sys, /dev, /dev/pts, /dev/shm and /tmp there, copies
#      /etc/resolv.conf in, and clones the repository's HEAD (committed work only) into
#      /root/tessera;
#   3. runs there, as root and with a clean environment (no $DISPLAY, no
#      $WAYLAND_DISPLAY, nothing of this machine's), the README's two commands: the run
#      command `sh tools/run.sh`, which must exit 0 and leave non-empty
#      screenshots/*.png, then the test command `sh tools/test.sh`, which must exit 0.
#      Each installs its own packages with apt-get, as a new user's would.
#   4. unmounts everything and removes the temporary folder, on every exit path.
# The run command goes first, so that it cannot lean on what the test list installs.
#
# It exits non-zero when either command fails, and prints that command's last lines;
# full logs are left in the cache folder. Needs root, debootstrap and git
# (tools/debian-packages-ci.txt).
#
#   sh tools/fresh-check.sh [--keep] [--refresh] [--verbose]
#     --keep     leave the temporary tree (unmounted) for a look; its path is printed
#     --refresh  bootstrap a new pristine tarball even when one is cached
#     --verbose  show the two commands' output as they run, not only on failure
#   TESSERA_FRESH_CACHE   cache folder (default /var/cache/tessera-fresh)
#   TESSERA_FRESH_TMP     where the temporary tree goes (default $TMPDIR, else /var/tmp)
#   TESSERA_FRESH_MIRROR  the Debian mirror (default: the one this machine's apt uses)
#   TESSERA_FRESH_TIMEOUT limit for each command in the chroot, seconds (default 3600)
set -eu
suite=bookworm
keep=0 refresh=0 verbose=0
for arg in "$@"; do
	case "$arg" in
	--keep) keep=1 ;;
	--refresh) refresh=1 ;;
	--verbose) verbose=1 ;;
	*) echo "usage: sh tools/fresh-check.sh [--keep] [--refresh] [--verbose]" >&2; exit 2 ;;
	esac
done
say() { echo "fresh-check: $*"; }
die() { echo "fresh-check: error: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (chroot, mount)"
for tool in debootstrap git tar chroot timeout; do
	command -v "$tool" >/dev/null || die "$tool not found (apt-get install $(cat "$(dirname "$0")/debian-packages-ci.txt"))"
done
repo=$(cd "$(dirname "$0")/.." && pwd)
head=$(git -C "$repo" rev-parse HEAD) || die "$repo is not a git repository"
cache=${TESSERA_FRESH_CACHE:-/var/cache/tessera-fresh}
limit=${TESSERA_FRESH_TIMEOUT:-3600}
arch=$(dpkg --print-architecture)
tarball="$cache/debian-$suite-minbase-$arch.tar.gz"
mkdir -p "$cache"
timings=""
elapsed() { echo $(($(date +%s) - $1)); }
timed() { timings="$timings, $1 $2 s"; say "$1: $2 s"; }
start_all=$(date +%s)

# The URIs of apt sources of type deb whose suites include $suite exactly (so not
# $suite-security or $suite-updates, nor a third party's cloud-sdk-$suite), from
# sources.list, *.list and the deb822 *.sources files, one a line.
deb_uris() {
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
			awk -v s="$suite" '$1 == "deb" && $3 == s { print $2 }'
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v s="$suite" '
		function flush(  n, i, ok, u) {
			ok = 0
			n = split(f["suites"], u, " ")
			for (i = 1; i <= n; i++) if (u[i] == s) ok = 1
			if (ok && (" " f["types"] " ") ~ / deb / && f["enabled"] !~ /^(no|false)$/) {
				n = split(f["uris"], u, " ")
				for (i = 1; i <= n; i++) print u[i]
			}
			delete f; key = ""
		}
		FNR == 1 { flush() }
		/^[ \t]*#/ { next }
		/^[ \t]*$/ { flush(); next }
		/^[ \t]/ { if (key != "") f[key] = f[key] " " $0; next }
		{ key = tolower(substr($0, 1, index($0, ":") - 1)); f[key] = substr($0, index($0, ":") + 1) }
		key == "enabled" { f[key] = tolower(f[key]); gsub(/[ \t]/, "", f[key]) }
		END { flush() }' "$f"
	done
}
# Debian's own archive among them: where apt has fetched a Release file for one, it
# must say "Origin: Debian" (a third party's repository may call its suite bookworm too).
find_mirror() {
	first=""
	for uri in $(deb_uris); do
		case "$uri" in http://*|https://*|ftp://*) ;; *) continue ;; esac
		lists=/var/lib/apt/lists/$(echo "${uri%/}" | sed -e 's|^[a-z]*://||' -e 's|/|_|g')_dists_${suite}_
		for release in "${lists}InRelease" "${lists}Release"; do
			[ -f "$release" ] || continue
			grep -q '^Origin: Debian$' "$release" && { echo "$uri"; return; }
			continue 2
		done
		[ -n "$first" ] || first=$uri
	done
	[ -n "$first" ] && echo "$first"
}

# What is mounted at or under $1, deepest first (mountinfo's 5th field).
mounts_under() {
	awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}
# Ends the processes a chroot at $1 left running (a test's Xvfb, a server), by pid,
# unmounts what is mounted under $1, lazily and deepest first, and removes $1 only once
# nothing is mounted there any more (and even then without crossing into another file
# system): never through a live bind mount of /dev.
teardown() {
	for sig in TERM KILL; do
		found=0
		for p in /proc/[0-9]*; do
			r=$(readlink "$p/root" 2>/dev/null) || continue
			case "$r" in "$1"|"$1"/*) kill -"$sig" "${p#/proc/}" 2>/dev/null && found=1 ;; esac
		done
		[ "$found" -eq 0 ] && break
		sleep 1
	done
	for m in $(mounts_under "$1"); do umount -l "$m" || say "could not unmount $m"; done
	if [ -n "$(mounts_under "$1")" ]; then
		say "still mounted under $1, NOT removing it:"; mounts_under "$1"; return 1
	fi
	[ "${2:-}" = keep ] && { say "kept $1"; return 0; }
	rm -rf --one-file-system "$1"
}
work="" boot="" child="" failed=""
on_exit() {
	status=$?
	trap - EXIT INT TERM
	set +e
	[ -n "$child" ] && kill "$child" 2>/dev/null
	[ -n "$boot" ] && [ -d "$boot" ] && teardown "$boot"
	if [ -n "$work" ] && [ -d "$work" ]; then
		t=$(date +%s)
		teardown "$work" "$([ $keep -eq 1 ] && echo keep)" || status=1
		timed cleanup "$(elapsed "$t")"
	fi
	timed total "$(elapsed "$start_all")"
	say "timings: ${timings#, }"
	if [ -n "$failed" ]; then
		say "FAIL (${failed# }) on a fresh Debian $suite"
	elif [ "$status" -ne 0 ]; then
		say "FAIL: stopped with status $status"
	else
		say "PASS: both README commands work on a fresh Debian $suite"
	fi
	exit "$status"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 1. The pristine root file system, bootstrapped once.
if [ ! -s "$tarball" ] || [ $refresh -eq 1 ]; then
	mirror=${TESSERA_FRESH_MIRROR:-$(find_mirror || true)}
	[ -n "$mirror" ] || die "no Debian $suite archive in this machine's apt sources; set TESSERA_FRESH_MIRROR"
	include=""
	case "$mirror" in https://*) include=--include=ca-certificates ;; esac
	say "bootstrapping Debian $suite (minbase, $arch) from $mirror into $tarball"
	t=$(date +%s)
	boot=$(mktemp -d "$cache/bootstrap.XXXXXX")
	boot=$(cd "$boot" && pwd -P)
	if ! debootstrap --variant=minbase $include "$suite" "$boot/root" "$mirror" >"$cache/bootstrap.log" 2>&1; then
		tail -n 40 "$cache/bootstrap.log"
		die "debootstrap failed (log: $cache/bootstrap.log)"
	fi
	rm -f "$boot/root/etc/resolv.conf" "$boot/root/etc/hostname"
	tar -C "$boot/root" --numeric-owner -czf "$boot/root.tar.gz" .
	mv "$boot/root.tar.gz" "$tarball"
	echo "$mirror $(date -u +%Y-%m-%dT%H:%MZ)" >"$tarball.source"
	teardown "$boot"; boot=""
	timed bootstrap "$(elapsed "$t")"
else
	say "using the cached root file system $tarball (from $(cat "$tarball.source" 2>/dev/null || echo '?'); --refresh makes a new one)"
	timed "bootstrap (cached)" 0
fi

# 2. A fresh tree from it, with the repository's HEAD in /root/tessera.
t=$(date +%s)
work=$(mktemp -d "${TESSERA_FRESH_TMP:-${TMPDIR:-/var/tmp}}/tessera-fresh.XXXXXX")
work=$(cd "$work" && pwd -P)   # as /proc/self/mountinfo will name it
root="$work/root"
mkdir "$root"
tar -C "$root" --numeric-owner -xpzf "$tarball"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys" 2>/dev/null || mount --rbind /sys "$root/sys"
mount --bind /dev "$root/dev"
mount --make-private "$root/dev"   # so that what is mounted under it stays there
mount --bind /dev/pts "$root/dev/pts"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/dev/shm"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/tmp"
src=/root/tessera
git clone -q --no-checkout --no-hardlinks "$repo" "$root$src"
git -C "$root$src" checkout -q --detach "$head"
say "clone of $(git -C "$repo" log -1 --format='%h %s' "$head" | cut -c 1-70) in $root$src"
timed extract "$(elapsed "$t")"

# 3. The README's two commands, as a new user on a fresh machine runs them.
in_chroot() { # NAME COMMAND: runs COMMAND in $src in the chroot, its output in $cache/NAME.log
	name=$1 log="$cache/$1.log"
	say "running '$2' in the chroot (log: $log)"
	t=$(date +%s)
	set -- env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root USER=root LOGNAME=root SHELL=/bin/sh TERM=dumb LANG=C.UTF-8 \
		timeout -k 30 "$limit" chroot "$root" /bin/sh -c "cd $src && $2"
	# In the background, so that INT and TERM reach our trap at once, not when it ends.
	"$@" </dev/null >"$log" 2>&1 &
	child=$!
	[ $verbose -eq 0 ] || tail -n +1 -f --pid="$child" "$log" &
	rc=0; wait "$child" || rc=$?
	child=""
	wait
	timed "$name command" "$(elapsed "$t")"
	[ "$rc" -ne 124 ] || say "'$2' did not end within $limit s (TESSERA_FRESH_TIMEOUT)"
	return "$rc"
}
fail() { # NAME WHY
	failed="$failed $1"
	say "FAILED: $2; the last lines of $cache/$1.log:"
	tail -n 40 "$cache/$1.log" | sed 's/^/  | /'
}
if in_chroot run "sh tools/run.sh"; then
	shots=$(find "$root$src/screenshots" -name "*.png" 2>/dev/null | wc -l)
	empty=$(find "$root$src/screenshots" -name '*.png' -size 0 2>/dev/null | wc -l)
	if [ "$shots" -eq 0 ] || [ "$empty" -ne 0 ]; then
		fail run "sh tools/run.sh exited 0 but left $shots screenshots, $empty of them empty"
	else
		say "sh tools/run.sh passed: $shots screenshots"
	fi
else
	fail run "sh tools/run.sh exited with status $rc"
fi
if in_chroot test "sh tools/test.sh"; then
	say "sh tools/test.sh passed: $(tail -n 1 "$cache/test.log")"
else
	fail test "sh tools/test.sh exited with status $rc"
fi
[ -z "$failed" ]   # on_exit tears the tree down and says PASS or FAIL

#!/bin/sh
# Installs the Debian / Raspberry Pi OS packages Tessera builds with, when missing:
# those of tools/debian-packages.txt, and of the lists given as arguments (the test
# suite adds tools/debian-packages-test.txt: clang and libFuzzer for the fuzz targets).
set -eu
here=$(dirname "$0")
missing=""
for pkg in $(cat "$here/debian-packages.txt" "$@"); do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0
echo "tessera: installing:$missing"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null; then
		echo "tessera: these packages are missing:$missing" >&2
		echo "tessera: run this as root, or install sudo, to have them installed" >&2
		exit 1
	fi
	sudo="sudo"
fi
$sudo apt-get update
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends $missing

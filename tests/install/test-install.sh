#!/bin/bash
# The install test. Installs this build (meson install --destdir, then once more with
# DESTDIR) into a temporary folder and checks what lands there, builds the README's
# client example (examples/hello.c) with cc and pkg-config against the installed tree
# only, runs it against the installed server and checks its rect in a screenshot taken
# by the installed tessera-shot.
#
# tests/install/meson.build sets the environment: MESON, BUILD_DIR, SOURCE_DIR, PREFIX,
# BINDIR, LIBDIR, INCLUDEDIR (absolute, as configured), VERSION, CC, EXAMPLE_CFLAGS (the
# build's sanitizer flags, which an executable linking a sanitized libtessera needs),
# PYTHON and EXPECT_RPATH (libtessera_rpath: the tools' and demos' run path).
set -euo pipefail

step() { echo "== $*"; }
ok() { echo "ok: $*"; }
fail() {
	echo "FAIL: $*" >&2
	for log in "$tmp"/*.log; do
		[ -s "$log" ] && { echo "--- $log" >&2; cat "$log" >&2; }
	done
	exit 1
}

tmp=$(mktemp -d /tmp/tessera-install-XXXXXX)
server_pid=""
hello_pid=""
cleanup() {
	for pid in $hello_pid $server_pid; do
		kill -KILL "$pid" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
# meson test points LD_LIBRARY_PATH at the build tree's libtessera: nothing here may
# load that one.
unset LD_LIBRARY_PATH

soversion=0
stage=$tmp/stage
bin=$stage$BINDIR
lib=$stage$LIBDIR
inc=$stage$INCLUDEDIR
pcdir=$lib/pkgconfig
executables="tessera tessera-info tessera-clock tessera-shot tessera-chaos tessera-demo-rects tessera-crash
tessera-demo-image tessera-demo-text
tessera-demo-sprites tessera-demo-clock
tessera-demo-dashboard"
linking_lib="tessera-info tessera-clock tessera-shot tessera-chaos tessera-demo-rects tessera-crash"

# A PNG reader (8-bit RGBA, as tessera-shot writes; python3 has zlib but no PIL) and
# the checks made on screenshots.
cat >"$tmp/png.py" <<'PY'
import struct, sys, zlib

def read_png(path):
    data = open(path, 'rb').read()
    if data[:8] != b'\x89PNG\r\n\x1a\n':
        sys.exit(f'{path}: not a PNG')
    pos, idat, ihdr = 8, b'', None
    while pos < len(data):
        length, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b'IHDR':
            ihdr = struct.unpack('>IIBBBBB', body)
        elif kind == b'IDAT':
            idat += body
        elif kind == b'IEND':
            break
    width, height, depth, ctype, _, _, interlace = ihdr
    if (depth, ctype, interlace) != (8, 6, 0):
        sys.exit(f'{path}: not 8-bit RGBA without interlacing: {ihdr}')
    raw, stride, rows = zlib.decompress(idat), width * 4, []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            a = line[i - 4] if i >= 4 else 0
            b = prev[i]
            c = prev[i - 4] if i >= 4 else 0
            if kind == 0:
                p = 0
            elif kind == 1:
                p = a
            elif kind == 2:
                p = b
            elif kind == 3:
                p = (a + b) // 2
            else:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                p = a if pa <= pb and pa <= pc else b if pb <= pc else c
            line[i] = (line[i] + p) & 0xff
        rows.append(line)
        prev = line
    return width, height, [[int.from_bytes(row[x * 4:x * 4 + 4], 'big')
                            for x in range(width)] for row in rows]

# flat FILE W H: the image is W x H of one colour; prints it.
# rect FILE W H X Y RW RH RGBA BG: RGBA exactly inside the rect, BG everywhere else.
cmd, path, w, h = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
width, height, px = read_png(path)
if (width, height) != (w, h):
    sys.exit(f'{path}: {width}x{height}, not {w}x{h}')
if cmd == 'flat':
    colours = {c for row in px for c in row}
    if len(colours) != 1:
        sys.exit(f'{path}: not one flat colour: {len(colours)} colours')
    print(f'{colours.pop():08x}')
else:
    x0, y0, rw, rh = map(int, sys.argv[5:9])
    rgba, bg = int(sys.argv[9], 16), int(sys.argv[10], 16)
    bad = [(x, y, px[y][x]) for y in range(height) for x in range(width)
           if px[y][x] != (rgba if x0 <= x < x0 + rw and y0 <= y < y0 + rh else bg)]
    if bad:
        sys.exit(f'{path}: {len(bad)} pixels wrong, first (x, y, rgba): ' +
                 ', '.join(f'({x}, {y}, {c:08x})' for x, y, c in bad[:5]))
    print(f'{rw}x{rh} of {rgba:08x} at ({x0}, {y0}); e.g. ({x0 + rw // 2}, {y0 + rh // 2}) '
          f'{px[y0 + rh // 2][x0 + rw // 2]:08x}, ({w - 1}, {h - 1}) {px[h - 1][w - 1]:08x}')
PY

# loads_installed_lib EXE ENV...: whether EXE, run under ENV, loads the staged
# libtessera.so.N (the file itself, whatever path leads there).
loads_installed_lib() {
	local exe=$1 path
	shift
	"$@" ldd "$exe" >"$tmp/ldd.log" 2>&1 || return 1
	path=$(sed -n "s|^[[:space:]]*libtessera\.so\.$soversion => \(.*\) (0x.*|\1|p" "$tmp/ldd.log")
	[ -n "$path" ] && [ "$path" -ef "$lib/libtessera.so.$soversion" ] || return 1
	rm -f "$tmp/ldd.log"
}

# --- the install --------------------------------------------------------------------
step "meson install --destdir into a temporary folder (prefix $PREFIX)"
"$MESON" install -C "$BUILD_DIR" --no-rebuild --quiet --destdir "$stage" \
	>"$tmp/install.log" 2>&1 || fail "meson install --destdir failed"

# Everything that is installed, and nothing else: no test binary, no shader file, nothing
# outside the prefix. A file newly installed on purpose belongs in this list.
{
	for exe in $executables; do
		echo "$BINDIR/$exe"
	done
	echo "$LIBDIR/libtessera.so"
	echo "$LIBDIR/libtessera.so.$soversion"
	echo "$LIBDIR/libtessera.so.$VERSION"
	echo "$LIBDIR/pkgconfig/tessera-client.pc"
	echo "$INCLUDEDIR/tessera/client.h"
	echo "$INCLUDEDIR/tessera/image.h"
} | sort >"$tmp/expected"
(cd "$stage" && find . ! -type d | sed 's|^\.||' | sort) >"$tmp/installed"
diff -u "$tmp/expected" "$tmp/installed" >"$tmp/list-diff.log" ||
	fail "installed files are not the expected ones (- missing, + unexpected)"
ok "installed exactly: $(tr '\n' ' ' <"$tmp/installed")"

for exe in $executables; do
	{ [ -f "$bin/$exe" ] && [ -x "$bin/$exe" ]; } || fail "$bin/$exe is not an executable file"
done
cmp "$SOURCE_DIR/client-lib/include/tessera/client.h" "$inc/tessera/client.h" ||
	fail "the installed tessera/client.h differs from the source's"
[ -f "$pcdir/tessera-client.pc" ] || fail "no tessera-client.pc in $pcdir"
# The shaders are compiled into the server, not read from files.
grep -q "gl_FragColor = v_color" "$bin/tessera" ||
	fail "the installed server does not embed rect.frag"
ok "executables, header, pkg-config file, embedded shaders"

# The same install through the DESTDIR variable.
DESTDIR=$tmp/stage-env "$MESON" install -C "$BUILD_DIR" --no-rebuild --quiet \
	>"$tmp/install-env.log" 2>&1 || fail "DESTDIR=... meson install failed"
(cd "$tmp/stage-env" && find . ! -type d | sed 's|^\.||' | sort) >"$tmp/installed-env"
diff -u "$tmp/expected" "$tmp/installed-env" >"$tmp/list-diff.log" ||
	fail "with DESTDIR, installed files are not the expected ones"
rm -rf "$tmp/stage-env" "$tmp/list-diff.log"
ok "DESTDIR=...: the same files under DESTDIR$PREFIX"

# --- the shared library ----------------------------------------------------------------
step "libtessera: soname, symlinks, exported symbols"
real=libtessera.so.$VERSION
{ [ -L "$lib/libtessera.so" ] && [ "$(readlink "$lib/libtessera.so")" = "libtessera.so.$soversion" ]; } ||
	fail "libtessera.so is not a symlink to libtessera.so.$soversion"
{ [ -L "$lib/libtessera.so.$soversion" ] && [ "$(readlink "$lib/libtessera.so.$soversion")" = "$real" ]; } ||
	fail "libtessera.so.$soversion is not a symlink to $real"
{ [ -f "$lib/$real" ] && [ ! -L "$lib/$real" ]; } || fail "$real is not a plain file"
soname=$(readelf -d "$lib/$real" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libtessera.so.$soversion" ] || fail "$real has soname '$soname'"
# Defined global symbols: the public API only (libtessera.map).
readelf --dyn-syms -W "$lib/$real" >"$tmp/dynsyms" || fail "readelf cannot read $real"
exports=$(awk '$1 ~ /^[0-9]+:$/ && $5 != "LOCAL" && $7 != "UND" && $8 != "" { sub(/@.*/, "", $8); print $8 }' \
	"$tmp/dynsyms")
echo "$exports" | grep -qx ts_display_connect || fail "$real does not export ts_display_connect"
others=$(echo "$exports" | grep -v '^ts_' || true)
[ -z "$others" ] || fail "$real exports more than ts_*: $others"
ok "libtessera.so -> libtessera.so.$soversion -> $real, soname $soname, exports ts_* only"

# --- pkg-config ------------------------------------------------------------------------
step "tessera-client.pc, read from the staged tree"
grep -n -e "$BUILD_DIR" -e "$SOURCE_DIR" "$pcdir/tessera-client.pc" >"$tmp/pc-paths.log" &&
	fail "tessera-client.pc names the build or source tree"
rm -f "$tmp/pc-paths.log"
# The sysroot puts the stage before every -I and -L of the .pc, which names the final
# prefix; system directories are kept in, in case the prefix is /usr.
export PKG_CONFIG_PATH=$pcdir PKG_CONFIG_SYSROOT_DIR=$stage
export PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1
pkg-config --print-errors --exists tessera-client || fail "pkg-config cannot use tessera-client.pc"
[ "$(pkg-config --modversion tessera-client)" = "$VERSION" ] || fail "the .pc's version is not $VERSION"
# Words joined by one space (pkgconf ends its output with a space).
words() { tr -s ' \n' '  ' | sed 's/^ //; s/ $//'; }
cflags=$(pkg-config --cflags tessera-client | words)
libs=$(pkg-config --libs tessera-client | words)
[ "$cflags" = "-I$inc" ] || fail "pkg-config --cflags: '$cflags', expected '-I$inc'"
[ "$libs" = "-L$lib -ltessera" ] || fail "pkg-config --libs: '$libs', expected '-L$lib -ltessera'"
# libtessera's codec is inside it: static linking needs nothing more either.
static_libs=$(pkg-config --static --libs tessera-client | words)
[ "$static_libs" = "$libs" ] || fail "pkg-config --static --libs adds to --libs: '$static_libs'"
ok "cflags '$cflags', libs '$libs'"

# --- the example, built against the install --------------------------------------------
step "examples/hello.c, compiled with cc \$(pkg-config --cflags --libs tessera-client)"
# A copy outside the source tree: nothing of the sources is on the include path.
cp "$SOURCE_DIR/examples/hello.c" "$tmp/hello.c"
cd "$tmp"
# shellcheck disable=SC2086,SC2046 # CC, EXAMPLE_CFLAGS and pkg-config's output are words
$CC $EXAMPLE_CFLAGS -std=c11 -Wall -Wextra -pedantic -Werror hello.c -o hello \
	$(pkg-config --cflags --libs tessera-client) >"$tmp/cc.log" 2>&1 ||
	fail "the example does not compile and link against the install"
# shellcheck disable=SC2086,SC2046
$CC $EXAMPLE_CFLAGS -std=c11 -M hello.c $(pkg-config --cflags tessera-client) >"$tmp/deps" 2>&1 ||
	fail "cc -M hello.c failed"
# shellcheck disable=SC1003,SC2020 # spaces and backslashes to newlines
tr -s ' \\' '\n\n' <"$tmp/deps" | grep -qx "$inc/tessera/client.h" ||
	fail "hello.c did not include the installed tessera/client.h: $(cat "$tmp/deps")"
readelf -d hello | grep -q "(NEEDED).*\[libtessera.so.$soversion\]" ||
	fail "hello does not need libtessera.so.$soversion"
# hello has no run path (the .pc adds none): a user of a prefix that the dynamic linker
# does not search sets LD_LIBRARY_PATH or links with -Wl,-rpath (README.md).
hello_env=(env "LD_LIBRARY_PATH=$lib")
loads_installed_lib ./hello "${hello_env[@]}" || fail "hello does not load the installed libtessera"
ok "compiled with -Werror against $inc/tessera/client.h, loads $lib/libtessera.so.$soversion"

# The README's excerpt ("A client in a few lines") is the file's: its lines, less the
# "// ..." that stand for what it leaves out, are hello.c's lines, in order.
"$PYTHON" - "$SOURCE_DIR/README.md" "$SOURCE_DIR/examples/hello.c" <<'PY' >"$tmp/readme.log" 2>&1 ||
import sys
readme = open(sys.argv[1]).read().split('\n## A client in a few lines\n', 1)[1]
block = readme.split('```c\n', 1)[1].split('```', 1)[0]
shown = [l.strip() for l in block.split('\n') if l.strip() and not l.strip().startswith('// ...')]
lines = iter(l.strip() for l in open(sys.argv[2]))
for want in shown:
    if not any(line == want for line in lines):
        sys.exit(f'README.md shows a line that is not in hello.c (or not in its order): {want}')
print(f'{len(shown)} lines shown, all from hello.c')
PY
	fail "the README's client example is not examples/hello.c"
ok "the README's excerpt: $(cat "$tmp/readme.log")"
rm -f "$tmp/readme.log"

# --- the installed tools' run path -----------------------------------------------------
step "the installed tools find the installed libtessera"
# shellcheck disable=SC2016 # a literal $ORIGIN
case "$EXPECT_RPATH" in
'$ORIGIN'*)
	# Relative to the executables: the staged tree runs as it is, like any prefix.
	tool_env=(env -u LD_LIBRARY_PATH) ;;
*)
	# None, or the final libdir, where nothing is installed yet.
	tool_env=(env "LD_LIBRARY_PATH=$lib") ;;
esac
for exe in $linking_lib; do
	runpath=$(readelf -d "$bin/$exe" | sed -n 's/.*(R[UN]*PATH).*\[\(.*\)\]/\1/p')
	[ "$runpath" = "$EXPECT_RPATH" ] ||
		fail "$exe has run path '$runpath', expected '$EXPECT_RPATH'"
	loads_installed_lib "$bin/$exe" "${tool_env[@]}" ||
		fail "$exe does not load the installed libtessera"
	"${tool_env[@]}" "$bin/$exe" --help >/dev/null || fail "$exe --help failed"
done
ok "run path '$EXPECT_RPATH'; each loads $lib/libtessera.so.$soversion and runs"

# --- the example against the installed server -------------------------------------------
step "hello against the installed tessera --headless, seen by the installed tessera-shot"
sock=$tmp/sock
tool() { "${tool_env[@]}" "$bin/$1" "${@:2}"; }
"${tool_env[@]}" "$bin/tessera" --headless --socket "$sock" --size 320x240 \
	>"$tmp/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 300); do
	tool tessera-info --socket "$sock" >/dev/null 2>&1 && break
	kill -0 "$server_pid" 2>/dev/null || fail "the installed server died at start"
	sleep 0.1
done
tool tessera-info --socket "$sock" >/dev/null || fail "the installed server did not start"
tool tessera-shot --socket "$sock" "$tmp/empty.png" || fail "tessera-shot failed"
background=$("$PYTHON" "$tmp/png.py" flat "$tmp/empty.png" 320 240) ||
	fail "the empty screen is not one flat colour"
[ "$background" != ff8000ff ] || fail "the background is the example's colour"
ok "server up; empty screen $background"

# hello keeps its rect until its standard input ends: a FIFO that this shell holds open.
# It finds the socket through $TESSERA_SOCKET (it connects with NULL).
mkfifo "$tmp/hello-in"
exec 3<>"$tmp/hello-in"
"${hello_env[@]}" TESSERA_SOCKET="$sock" XDG_RUNTIME_DIR="$tmp/nowhere" timeout 60 ./hello \
	<"$tmp/hello-in" >"$tmp/hello.log" 2>&1 3>&- &
hello_pid=$!
for _ in $(seq 300); do
	grep -q "showing a rect" "$tmp/hello.log" && break
	kill -0 "$hello_pid" 2>/dev/null || fail "hello exited before showing its rect"
	sleep 0.1
done
grep -q "showing a rect" "$tmp/hello.log" || fail "hello did not show its rect in 30 s"
tool tessera-info --socket "$sock" --json >"$tmp/info.json" || fail "tessera-info --json failed"
"$PYTHON" -c '
import json, sys
info = json.load(open(sys.argv[1]))
names = [c["name"] for c in info["clients"]]
assert names == ["hello"], names
assert info["totals"]["objects"] == 1, info["totals"]
' "$tmp/info.json" || fail "the server does not show one client 'hello' with one object"
tool tessera-shot --socket "$sock" "$tmp/hello.png" || fail "tessera-shot failed"
seen=$("$PYTHON" "$tmp/png.py" rect "$tmp/hello.png" 320 240 10 10 100 50 ff8000ff "$background") ||
	fail "the screenshot does not show the example's rect on the background"
ok "$seen"

exec 3>&- # end of input: hello disconnects
status=0
wait "$hello_pid" || status=$?
hello_pid=""
[ "$status" -eq 0 ] || fail "hello exited with status $status"
# The rect went with the connection.
for _ in $(seq 100); do
	tool tessera-shot --socket "$sock" "$tmp/after.png" || fail "tessera-shot failed"
	after=$("$PYTHON" "$tmp/png.py" flat "$tmp/after.png" 320 240 2>/dev/null) || after=""
	[ "$after" = "$background" ] && break
	sleep 0.1
done
[ "$after" = "$background" ] || fail "the rect stayed after hello exited"
ok "hello exited 0 at end of input; the screen is empty again"

kill -TERM "$server_pid"
status=0
wait "$server_pid" || status=$?
server_pid=""
[ "$status" -eq 0 ] || fail "the installed server exited with status $status on SIGTERM"
[ ! -e "$sock" ] || fail "the server left its socket behind"
ok "the installed server stopped cleanly"
echo "install test: all checks passed"

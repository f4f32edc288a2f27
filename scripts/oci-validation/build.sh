#!/usr/bin/env bash
# Build the OCI runtime-tools validation suite (runtimetest and the 58
# programs under validation/*/) from Debian's source package, with Debian's
# Go in GOPATH mode against /usr/share/gocode. Usage:
#   scripts/oci-validation/build.sh OUT
# OUT (.build/oci-validation) gets:
#   apt/      a private apt config: its own sources.list (deb-src trixie and
#             sid), lists and cache; the host's apt sources are never touched
#   src/      the downloaded orig tarball
#   gopath/   the GOPATH overlay: runtime-tools and our tap-go
#   suite/    runtimetest, rootfs-amd64.tar.gz and bin/<program>: what
#             scripts/oci-validation/run.py runs
#   suite/.stamp  written last; make skips this script while it is newer
#             than the script and the TAP helper
# Needs root (apt-get install of missing packages, as `make deps`).
set -euo pipefail

out=${1:?usage: build.sh OUT}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)

SRC_PKG=golang-github-opencontainers-runtime-tools
SRC_VERSION=0.9.0.109.ge931285-1
ORIG=${SRC_PKG}_0.9.0.109.ge931285.orig.tar.xz
# apt checks the tarball against the signed Sources index; the pin makes a
# changed upload in the archive fail loudly instead of testing something else
ORIG_SHA256=203989a1ea98cf2aaced79155bbda09270b20db19b03376dde91ab12e5e6a0fe
IMPORT=github.com/opencontainers/runtime-tools
# Debian's Go and the libraries the imports of cmd/runtimetest and
# validation/... need (bookworm packages; tap-go is ours, see tap-go/)
GO_PACKAGES="golang-go golang-github-google-uuid-dev golang-gocapability-dev
	golang-github-sirupsen-logrus-dev golang-github-urfave-cli-dev
	golang-github-mrunalp-fileutils-dev golang-golang-x-sys-dev
	golang-github-hashicorp-go-multierror-dev golang-github-opencontainers-selinux-dev
	golang-github-xeipuuv-gojsonschema-dev golang-github-opencontainers-specs-dev
	golang-github-blang-semver-dev busybox-static"
PROGRAMS=58

log() { echo "oci-validation-build: $*"; }

# 1. packages: install what is missing; `apt-get update` only then
missing=""
for p in $GO_PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
		|| missing="$missing $p"
done
if [ -n "$missing" ]; then
	log "installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing </dev/null
fi

# 2. the source tarball, through a private apt config
apt_dir=$out/apt
src_dir=$out/src
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$src_dir"
cat > "$apt_dir/sources.list" <<'EOF'
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian sid main
EOF
apt_private() {
	apt-get -q \
		-o Dir::Etc::SourceList="$apt_dir/sources.list" \
		-o Dir::Etc::SourceParts=/nonexistent \
		-o Dir::State::Lists="$apt_dir/lists" \
		-o Dir::Cache="$apt_dir/cache" \
		-o APT::Sandbox::User=root \
		"$@"
}
sha_ok() { [ -f "$src_dir/$ORIG" ] && echo "$ORIG_SHA256  $src_dir/$ORIG" | sha256sum -c --status; }
if ! sha_ok; then
	rm -f "$src_dir/$ORIG"
	log "fetching $SRC_PKG $SRC_VERSION (private apt config in $apt_dir)"
	apt_private update >/dev/null
	# --tar-only: the orig tarball alone (the .dsc is not needed, and the
	# Debian patch only skips two network unit tests)
	(cd "$src_dir" && apt_private source --download-only --tar-only "$SRC_PKG=$SRC_VERSION" >/dev/null)
	sha_ok || { log "FAIL: $ORIG does not have sha256 $ORIG_SHA256" >&2; exit 1; }
fi

# 3. the GOPATH overlay: the source at its import path, tap-go beside it
gopath=$out/gopath
pkg=$gopath/src/$IMPORT
rm -rf "$gopath"
mkdir -p "$pkg" "$gopath/src/github.com/mndrix"
tar -C "$pkg" --strip-components=1 -xf "$src_dir/$ORIG"
cp -r "$here/tap-go" "$gopath/src/github.com/mndrix/tap-go"

# 4. build: runtimetest static (it runs inside the containers), the
#    programs side by side into one directory
export GOPATH="$gopath:/usr/share/gocode" GO111MODULE=off GOFLAGS= \
	GOCACHE="$out/gocache" GOTMPDIR= GOPROXY=off
suite=$out/suite
tmp=$out/suite.tmp
rm -rf "$tmp"
mkdir -p "$tmp/bin"
log "go build runtimetest ($(go version | cut -d' ' -f3))"
(cd "$pkg" && CGO_ENABLED=0 go build -tags "netgo osusergo" -o "$tmp/runtimetest" ./cmd/runtimetest)
file "$tmp/runtimetest" | grep -q 'statically linked' \
	|| { log "FAIL: runtimetest is not static: $(file "$tmp/runtimetest")" >&2; exit 1; }
log "go build validation/..."
progs=$(cd "$pkg/validation" && for d in */; do d=${d%/}; [ "$d" = util ] || echo "./validation/$d"; done)
# shellcheck disable=SC2086
(cd "$pkg" && go build -o "$tmp/bin/" $progs)
n=$(find "$tmp/bin" -type f -perm -u+x | wc -l)
[ "$n" -eq "$PROGRAMS" ] || { log "FAIL: built $n programs, expected $PROGRAMS" >&2; exit 1; }

# 5. the rootfs the programs untar into each bundle (validation/util:
#    rootfs-$GOARCH.tar.gz in the working directory), from Debian's
#    busybox-static by the project's own mkrootfs.sh
"$repo/scripts/mkrootfs.sh" "$tmp/rootfs" /bin/busybox
tar -C "$tmp/rootfs" --numeric-owner --owner=0 --group=0 -czf "$tmp/rootfs-amd64.tar.gz" .
rm -rf "$tmp/rootfs"

rm -rf "$suite"
mv "$tmp" "$suite"
date -u +%FT%TZ > "$suite/.stamp"
log "ok: $suite ($n programs, runtimetest, rootfs-amd64.tar.gz)"

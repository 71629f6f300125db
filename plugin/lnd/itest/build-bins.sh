#!/bin/sh
# build-bins.sh VERSION OUTDIR
#
# Builds lnd, lncli, btcd and btcctl for the lnd integration test from the
# Go module proxy into OUTDIR, with btcd at the version that lnd VERSION
# requires. lnd's go.mod carries replace directives that a consumer must
# repeat, so the binaries are built from a throw-away module that requires
# lnd and copies them. Nothing is done when OUTDIR already holds all four
# binaries: OUTDIR should name the version so that the cache is per version.
# lnd is built with the chainrpc tag (as lnd's releases are), for ChainKit;
# OUTDIR/tags records it, and binaries without it are built again.
set -eu

version=${1:?usage: build-bins.sh VERSION OUTDIR}
out=${2:?usage: build-bins.sh VERSION OUTDIR}
go=${GO:-go}
bins="lnd lncli btcd btcctl"

have=yes
for b in $bins; do
	[ -x "$out/$b" ] || have=no
done
[ "$(cat "$out/tags" 2>/dev/null)" = chainrpc ] || have=no
if [ "$have" = yes ]; then
	echo "lnd $version binaries cached in $out"
	exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/chanfitness-lnd-bins.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

echo "building lnd $version, lncli, btcd and btcctl into $out"
start=$(date +%s)

# lnd's own go.mod and go.sum, from the module proxy (or the module cache).
gomod=$(cd "$work" && GOFLAGS=-mod=mod "$go" mod download -json \
	"github.com/lightningnetwork/lnd@$version" |
	sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
if [ -z "$gomod" ] || [ ! -f "$gomod" ]; then
	echo "cannot download github.com/lightningnetwork/lnd@$version" >&2
	exit 1
fi
btcd=$(sed -n 's/^[[:space:]]*github.com\/btcsuite\/btcd \(v[^ ]*\).*$/\1/p' \
	"$gomod" | head -n 1)
if [ -z "$btcd" ]; then
	echo "no github.com/btcsuite/btcd requirement in $gomod" >&2
	exit 1
fi

{
	echo "module chanfitness.invalid/lndbins"
	echo
	echo "go 1.25"
	echo
	echo "require ("
	echo "	github.com/lightningnetwork/lnd $version"
	echo "	github.com/btcsuite/btcd $btcd"
	echo ")"
	echo
	grep '^replace ' "$gomod" || true
} >"$work/go.mod"

cd "$work"
GOFLAGS=-mod=mod "$go" get \
	"github.com/lightningnetwork/lnd/cmd/lnd@$version" \
	"github.com/lightningnetwork/lnd/cmd/lncli@$version" \
	"github.com/btcsuite/btcd@$btcd" \
	"github.com/btcsuite/btcd/cmd/btcctl@$btcd"

mkdir -p "$work/bin"
GOFLAGS=-mod=mod "$go" build -trimpath -tags chainrpc -o "$work/bin/" \
	github.com/lightningnetwork/lnd/cmd/lnd \
	github.com/lightningnetwork/lnd/cmd/lncli \
	github.com/btcsuite/btcd \
	github.com/btcsuite/btcd/cmd/btcctl

mkdir -p "$out"
for b in $bins; do
	mv "$work/bin/$b" "$out/$b.tmp"
	mv "$out/$b.tmp" "$out/$b"
done
echo chainrpc >"$out/tags"
echo "built in $(($(date +%s) - start)) s (btcd $btcd)"

#!/usr/bin/env bash
# fuzz.sh TIME [PACKAGE...]: run every fuzz target (each func Fuzz... in a
# _test.go file) of the given packages, ./... by default, for TIME each
# (a go test -fuzztime value: 5s, 1m, 10000x). A failure stops the run;
# go test saves the failing input under the package's testdata/fuzz/.
set -euo pipefail
fuzztime=${1:?usage: fuzz.sh TIME [PACKAGE...]}
shift
GO=${GO:-go}
[ $# -gt 0 ] || set -- ./...
cd "$(dirname "$0")/.."

$GO list -f '{{.ImportPath}} {{.Dir}}' "$@" | while read -r pkg dir; do
	targets=$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' \
		"$dir"/*_test.go 2>/dev/null | sort -u || true)
	for target in $targets; do
		echo "fuzz $pkg $target for $fuzztime"
		(cd "$dir" && $GO test -run '^$' -fuzz "^$target\$" \
			-fuzztime "$fuzztime" .)
	done
done

#!/usr/bin/env bash
# The project's test command (make test): formatting, vet and race-detected
# tests. go test runs every Fuzz target over its seed corpus (f.Add and
# testdata/fuzz) as an ordinary test; fuzzing proper, which a loaded machine
# can fail on its own (see scripts/fuzz.sh), is make fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${TAMAS_TEST_POSTGRES_URL:=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
export TAMAS_TEST_POSTGRES_URL

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

echo "== go test -race"
go test -race -count=1 -timeout 20m ./...

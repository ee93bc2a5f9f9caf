#!/usr/bin/env bash
# The project's test command (make test): formatting, vet, race-detected
# tests, and a short run of each fuzz target.
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

echo "== fuzz (short)"
FUZZTIME=${FUZZTIME:-10s}
go test -run '^$' -fuzz '^FuzzParse$' -fuzztime "$FUZZTIME" ./crm/phone

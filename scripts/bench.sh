#!/usr/bin/env bash
# Reproduces the figures in docs/benchmarks.md. Seeded databases are kept in
# $TAMAS_BENCH_DIR (default /tmp/tamas-bench) and reused by later runs.
set -euo pipefail
cd "$(dirname "$0")/.."
export TAMAS_BENCH_CONTACTS=${TAMAS_BENCH_CONTACTS:-1000000}
export TAMAS_BENCH_DIR=${TAMAS_BENCH_DIR:-/tmp/tamas-bench}
: "${TAMAS_TEST_POSTGRES_URL:=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
export TAMAS_TEST_POSTGRES_URL

echo "== caller-ID lookup, SQLite, $TAMAS_BENCH_CONTACTS contacts"
go test -run '^$' -bench 'BenchmarkLookup/index' -benchtime 100000x -timeout 60m ./crm/sqlite
go test -run '^$' -bench 'BenchmarkLookup/like' -benchtime 50x -timeout 60m ./crm/sqlite

echo "== caller-ID lookup, PostgreSQL, $TAMAS_BENCH_CONTACTS contacts"
go test -run '^$' -bench 'BenchmarkLookup/index' -benchtime 100000x -timeout 120m ./crm/postgres
go test -run '^$' -bench 'BenchmarkLookup/like' -benchtime 50x -timeout 60m ./crm/postgres

echo "== CSV import into SQLite"
go test -run '^$' -bench 'BenchmarkImport' -benchtime 3x -timeout 30m ./crm/contactcsv

echo "== phone number parsing"
go test -run '^$' -bench . -benchmem ./crm/phone

echo "== screen-pops: call event → pop frame read by the console, 1,000 consoles"
go build -o bin/tamas ./cmd/tamas
for rate in 100 1000; do
	bin/tamas bench pop -contacts "$TAMAS_BENCH_CONTACTS" -consoles 1000 -rate "$rate" -duration 10s -db "$TAMAS_BENCH_DIR"
	bin/tamas bench pop -contacts "$TAMAS_BENCH_CONTACTS" -consoles 1000 -rate "$rate" -duration 10s -db "$TAMAS_BENCH_DIR" -bus redis -nodes 2
done

echo "== screen-pops: delivery alone (published → frame read)"
for rate in 100 1000; do
	bin/tamas bench deliver -consoles 1000 -rate "$rate" -duration 10s
	bin/tamas bench deliver -consoles 1000 -rate "$rate" -duration 10s -bus redis
done

echo "== screen-pops: memory per idle console, and a reconnect storm"
bin/tamas bench idle -consoles 10000
bin/tamas bench storm -consoles 1000
bin/tamas bench storm -consoles 1000 -bus redis -nodes 2

echo "== call activities and wrap-ups: database work per call (GC as tamas serve sets it)"
export GOGC=300
TAMAS_BENCH_CONTACTS=100000 go test -run '^$' -bench 'BenchmarkCallActivity|BenchmarkFullCall' -benchtime 2000x -count 2 ./crm/sqlite
TAMAS_BENCH_CONTACTS=20000 go test -run '^$' -bench 'BenchmarkCallActivity|BenchmarkFullCall' -benchtime 1000x -count 2 ./crm/postgres
TAMAS_BENCH_RATE=50 TAMAS_BENCH_CONTACTS=20000 go test -run '^$' -bench 'BenchmarkFullCall' -benchtime 1500x ./crm/postgres

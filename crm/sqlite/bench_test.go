package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/crmbench"
	"github.com/tamas-cc/tamas/crm/phone"
	"github.com/tamas-cc/tamas/crm/sqlite"
	"github.com/tamas-cc/tamas/crm/sqlite/sqlitetest"
)

// BenchmarkLookup seeds a database file once under TAMAS_BENCH_DIR (default:
// the system temp dir) and reuses it on later runs. TAMAS_BENCH_CONTACTS
// sets its size, 100,000 by default (scripts/bench.sh uses 1,000,000).
func BenchmarkLookup(b *testing.B) {
	n := crmbench.Contacts(100_000)
	s := benchStore(b, n)
	norm, _ := phone.New("IR")
	crmbench.Lookup(b, crm.NewDirectory(s, norm), n, func(ctx context.Context, last8 string) (int, error) {
		return s.CountLike(ctx, last8)
	})
}

// BenchmarkCallActivity: one call's database work, on the benchmark file.
func BenchmarkCallActivity(b *testing.B) {
	n := crmbench.Contacts(100_000)
	crmbench.CallActivity(b, benchStore(b, n), n)
}

// BenchmarkFullCall: a whole answered call's database work — pop, script
// run with 8 answers, activity, disposition and follow-up.
func BenchmarkFullCall(b *testing.B) {
	n := crmbench.Contacts(100_000)
	crmbench.FullCall(b, benchStore(b, n), n)
}

// benchStore opens the benchmark database for n contacts under
// TAMAS_BENCH_DIR (default: the system temp dir), migrated; the benchmarks
// seed it once and reuse it.
func benchStore(b *testing.B, n int) *sqlite.Store {
	b.Helper()
	dir := os.Getenv("TAMAS_BENCH_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "tamas-bench")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		b.Fatal(err)
	}
	return sqlitetest.Open(b, filepath.Join(dir, fmt.Sprintf("lookup-%d.db", n)))
}

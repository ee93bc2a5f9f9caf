package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/crmtest"
	"github.com/tamas-cc/tamas/crm/phone"
	"github.com/tamas-cc/tamas/crm/script"
	"github.com/tamas-cc/tamas/crm/sqlite"
)

// benchContacts is how many contacts the lookup benchmark seeds:
// TAMAS_BENCH_CONTACTS, 100,000 by default (scripts/bench.sh uses 1,000,000).
func benchContacts() int {
	if n, err := strconv.Atoi(os.Getenv("TAMAS_BENCH_CONTACTS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// BenchmarkLookup seeds a database file once under TAMAS_BENCH_DIR (default:
// the system temp dir) and reuses it on later runs.
func BenchmarkLookup(b *testing.B) {
	n := benchContacts()
	s := benchStore(b, n)
	defer s.Close()
	norm, _ := phone.New("IR")
	d := crm.NewDirectory(s, norm)
	crmtest.BenchLookup(b, d, n, func(ctx context.Context, last8 string) (int, error) {
		return s.CountLike(ctx, last8)
	})
}

// BenchmarkCallActivity: one call's database work, on a fresh file seeded
// with TAMAS_BENCH_CONTACTS contacts (reused between runs).
func BenchmarkCallActivity(b *testing.B) {
	n := benchContacts()
	s := benchStore(b, n)
	defer s.Close()
	norm, _ := phone.New("IR")
	crmtest.BenchCallActivity(b, crm.NewDirectory(s, norm), s, n)
}

// BenchmarkFullCall: a whole answered call's database work — pop, script
// run with 8 answers, activity, disposition and follow-up. TAMAS_BENCH_RATE
// paces the calls (calls per second); unset, they run back to back.
func BenchmarkFullCall(b *testing.B) {
	n := benchContacts()
	s := benchStore(b, n)
	defer s.Close()
	norm, _ := phone.New("IR")
	scripts, err := script.LoadDir("../../configs/scripts")
	if err != nil {
		b.Fatal(err)
	}
	rate, _ := strconv.ParseFloat(os.Getenv("TAMAS_BENCH_RATE"), 64)
	crmtest.BenchFullCall(b, crm.NewDirectory(s, norm), s, scripts, n, rate)
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
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(dir, fmt.Sprintf("lookup-%d.db", n)))
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		b.Fatal(err)
	}
	return s
}

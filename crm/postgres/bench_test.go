package postgres

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/crmtest"
	"github.com/tamas-cc/tamas/crm/phone"
	"github.com/tamas-cc/tamas/crm/script"
	"github.com/tamas-cc/tamas/crm/seed"
	"github.com/tamas-cc/tamas/internal/testkit"
)

// benchContacts is how many contacts the lookup benchmark seeds:
// TAMAS_BENCH_CONTACTS, 20,000 by default.
func benchContacts() int {
	if n, err := strconv.Atoi(os.Getenv("TAMAS_BENCH_CONTACTS")); err == nil && n > 0 {
		return n
	}
	return 20_000
}

// BenchmarkLookup seeds a schema named for the contact count once and
// reuses it on later runs (drop it to reseed).
func BenchmarkLookup(b *testing.B) {
	n := benchContacts()
	s := benchStore(b, n)
	defer s.Close()
	norm, err := phone.New("IR")
	if err != nil {
		b.Fatal(err)
	}
	d := crm.NewDirectory(s, norm)
	crmtest.BenchLookup(b, d, n, func(ctx context.Context, last8 string) (int, error) {
		var count int
		err := s.pool.QueryRow(ctx, `SELECT count(*) FROM phones p
			JOIN contacts c ON c.id = p.contact_id AND c.deleted_at IS NULL
			WHERE p.national LIKE '%' || $1`, last8).Scan(&count)
		return count, err
	})
}

// BenchmarkImport measures contacts written per second inside one import.
func BenchmarkImport(b *testing.B) {
	s := newStore(b)
	ctx := testCtx(b)
	norm, err := phone.New("IR")
	if err != nil {
		b.Fatal(err)
	}
	d := crm.NewDirectory(s, norm)
	g := seed.New(crmtest.BenchSeed)
	tx, err := s.BeginImport(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	i := 0
	for b.Loop() {
		c := g.Contact(i)
		c.Organizations = nil
		if err := d.Normalize(c); err != nil {
			b.Fatal(err)
		}
		if err := tx.CreateContact(ctx, c); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "contacts/s")
}

// BenchmarkCallActivity: one call's database work, in the benchmark schema.
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

// benchStore opens the benchmark schema for n contacts (tamas_bench_<n>),
// migrated; the benchmarks seed it once and reuse it (drop it to reseed).
func benchStore(b *testing.B, n int) *Store {
	b.Helper()
	base := testkit.PostgresURL(b)
	ctx := context.Background()
	schema := fmt.Sprintf("tamas_bench_%d", n)
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		testkit.Unavailable(b, "postgres: %v", err)
	}
	_, err = admin.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+schema)
	admin.Close(ctx)
	if err != nil {
		b.Fatal(err)
	}
	s, err := Open(ctx, withSearchPath(b, base, schema))
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		b.Fatal(err)
	}
	return s
}

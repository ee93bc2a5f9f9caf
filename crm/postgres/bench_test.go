package postgres

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/crmbench"
	"github.com/tamas-cc/tamas/crm/phone"
	"github.com/tamas-cc/tamas/crm/seed"
	"github.com/tamas-cc/tamas/internal/testkit"
)

// BenchmarkLookup seeds a schema named for the contact count once and
// reuses it on later runs (drop it to reseed). TAMAS_BENCH_CONTACTS sets its
// size, 20,000 by default.
func BenchmarkLookup(b *testing.B) {
	n := crmbench.Contacts(20_000)
	s := benchStore(b, n)
	defer s.Close()
	norm, err := phone.New("IR")
	if err != nil {
		b.Fatal(err)
	}
	crmbench.Lookup(b, crm.NewDirectory(s, norm), n, func(ctx context.Context, last8 string) (int, error) {
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
	g := seed.New(crmbench.Seed)
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
	n := crmbench.Contacts(20_000)
	s := benchStore(b, n)
	defer s.Close()
	crmbench.CallActivity(b, s, n)
}

// BenchmarkFullCall: a whole answered call's database work — pop, script
// run with 8 answers, activity, disposition and follow-up.
func BenchmarkFullCall(b *testing.B) {
	n := crmbench.Contacts(20_000)
	s := benchStore(b, n)
	defer s.Close()
	crmbench.FullCall(b, s, n)
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

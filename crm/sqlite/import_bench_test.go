package sqlite_test

import (
	"context"
	"testing"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/phone"
	"github.com/tamas-cc/tamas/crm/seed"
	"github.com/tamas-cc/tamas/crm/sqlite/sqlitetest"
)

// BenchmarkImportTx measures the store's side of a bulk import alone:
// contacts already normalised, written through one ImportTx with the
// duplicate probe a CSV import makes for every number.
func BenchmarkImportTx(b *testing.B) {
	const n = 50_000
	norm, _ := phone.New("IR")
	g := seed.New(1)
	contacts := make([]*crm.Contact, n)
	d := crm.NewDirectory(nil, norm)
	for i := range contacts {
		c := g.Contact(i)
		c.Organizations = nil
		if err := d.Normalize(c); err != nil {
			b.Fatal(err)
		}
		contacts[i] = c
	}
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		s := sqlitetest.New(b)
		b.StartTimer()
		tx, err := s.BeginImport(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range contacts {
			for _, p := range c.Phones {
				if p.E164 != "" {
					if _, _, err := tx.ContactByPhone(ctx, c.Kind, p); err != nil {
						b.Fatal(err)
					}
				}
			}
			if err := tx.CreateContact(ctx, c); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
}

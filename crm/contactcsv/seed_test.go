package contactcsv

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/phone"
	"github.com/tamas-cc/tamas/crm/seed"
)

// SeedCSV (exported for the import benchmark) writes n seeded contacts as a
// CSV file: English and Persian names, one or two numbers in the formats
// people type, an email for most, tags, and an organization for about half
// the people.
func SeedCSV(tb testing.TB, n int) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"kind", "first_name", "last_name", "name", "organization", "phone1", "phone1_label",
		"phone2", "phone2_label", "email", "tags", "status", "owner"})
	g := seed.New(42)
	var orgName string
	for i := range n {
		c := g.Contact(i)
		rec := make([]string, 13)
		rec[0] = string(c.Kind)
		if c.Kind == crm.KindOrganization {
			orgName = c.Name
			rec[3] = c.Name
		} else {
			rec[1], rec[2] = c.FirstName, c.LastName
			if len(c.Organizations) > 0 && orgName != "" {
				rec[4] = orgName
			}
		}
		for j, p := range c.Phones[:min(2, len(c.Phones))] {
			rec[5+2*j], rec[6+2*j] = p.Raw, string(p.Label)
		}
		if len(c.Emails) > 0 {
			rec[9] = c.Emails[0].Address
		}
		rec[10] = strings.Join(c.Tags, ";")
		rec[11], rec[12] = string(c.Status), c.Owner
		if err := w.Write(rec); err != nil {
			tb.Fatal(err)
		}
	}
	w.Flush()
	return buf.Bytes()
}

// BenchmarkParse measures the parsing half of an import alone: reading,
// mapping and validating rows, with no store. An import runs it beside the
// writer, so it bounds the import's speed only when it is the slower half.
func BenchmarkParse(b *testing.B) {
	const n = 50_000
	data := SeedCSV(b, n)
	norm, err := phone.New("IR")
	if err != nil {
		b.Fatal(err)
	}
	dir := crm.NewDirectory(nil, norm)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		lim := newRecordLimiter(bytes.NewReader(data), ',', DefaultMaxRecordBytes)
		cr := csv.NewReader(lim)
		cr.FieldsPerRecord, cr.ReuseRecord = -1, true
		header, err := cr.Read()
		if err != nil {
			b.Fatal(err)
		}
		lay, err := newLayout(header, nil)
		if err != nil {
			b.Fatal(err)
		}
		p := &parser{dir: dir, lay: lay, cr: cr, lim: lim}
		var r row
		for {
			rec, err := cr.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if _, fatal := p.read(&r, rec, err); fatal != nil || r.failed {
				b.Fatalf("%v %v", fatal, r.err)
			}
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

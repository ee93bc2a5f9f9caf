package contactcsv_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/contactcsv"
	"github.com/tamas-cc/tamas/crm/phone"
	"github.com/tamas-cc/tamas/crm/seed"
	"github.com/tamas-cc/tamas/crm/sqlite"
)

// benchRows is how many rows the import benchmark reads:
// TAMAS_BENCH_IMPORT_ROWS, 100,000 by default.
func benchRows() int {
	if n, err := strconv.Atoi(os.Getenv("TAMAS_BENCH_IMPORT_ROWS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// seedCSV writes n seeded contacts as a CSV file: English and Persian names,
// one or two numbers in the formats people type, an email for most, tags,
// and an organization for about half the people.
func seedCSV(tb testing.TB, n int) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"kind", "first_name", "last_name", "name", "organization", "phone1", "phone1_label",
		"phone2", "phone2_label", "email", "tags", "status", "owner"})
	g := seed.New(crmtestSeed)
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

const crmtestSeed = 42

// heapPeak samples the live heap until stop is called and returns the
// highest value seen.
func heapPeak() (stop func() uint64) {
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak
	}
}

func BenchmarkImport(b *testing.B) {
	n := benchRows()
	data := seedCSV(b, n)
	norm, err := phone.New("IR")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var peak uint64
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "import"+strconv.Itoa(i)+".db"))
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Migrate(ctx); err != nil {
			b.Fatal(err)
		}
		d := crm.NewDirectory(s, norm)
		stop := heapPeak()
		b.StartTimer()
		sum, err := contactcsv.Import(ctx, d, bytes.NewReader(data), contactcsv.Options{})
		b.StopTimer()
		peak = max(peak, stop())
		s.Close()
		if err != nil {
			b.Fatalf("import: %v %v", err, sum.Errors)
		}
		if sum.Created+sum.Duplicates != n {
			b.Fatalf("summary %+v", sum)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}

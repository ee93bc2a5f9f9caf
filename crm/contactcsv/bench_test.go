package contactcsv_test

import (
	"bytes"
	"context"
	"os"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/contactcsv"
	"github.com/tamas-cc/tamas/crm/phone"
	"github.com/tamas-cc/tamas/crm/sqlite/sqlitetest"
)

// benchRows is how many rows the import benchmark reads:
// TAMAS_BENCH_IMPORT_ROWS, 100,000 by default.
func benchRows() int {
	if n, err := strconv.Atoi(os.Getenv("TAMAS_BENCH_IMPORT_ROWS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

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
	data := contactcsv.SeedCSV(b, n)
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
		s := sqlitetest.New(b)
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
	b.ReportMetric(float64(len(data))/(1<<20), "input-MiB") // held in memory, part of the peak
}

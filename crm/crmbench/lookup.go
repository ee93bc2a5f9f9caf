package crmbench

import (
	"context"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/phone"
	"github.com/tamas-cc/tamas/crm/seed"
)

// Seed is the generator seed benchmark stores are filled with.
const Seed = 42

// Contacts is how many contacts a benchmark seeds: TAMAS_BENCH_CONTACTS,
// or def when it is unset.
func Contacts(def int) int {
	if n, err := strconv.Atoi(os.Getenv("TAMAS_BENCH_CONTACTS")); err == nil && n > 0 {
		return n
	}
	return def
}

// EnsureSeeded fills d with n seeded contacts unless it already holds
// them, so a 1M-contact benchmark seeds once and then reuses its database.
func EnsureSeeded(tb testing.TB, d *crm.Directory, n int) {
	tb.Helper()
	ctx := context.Background()
	page, err := d.Store().ListContacts(ctx, crm.ContactQuery{AfterID: int64(n - 1), Limit: 1})
	if err != nil {
		tb.Fatal(err)
	}
	if len(page) == 1 {
		return
	}
	if first, _ := d.Store().ListContacts(ctx, crm.ContactQuery{Limit: 1}); len(first) > 0 {
		tb.Fatalf("benchmark store holds some contacts but fewer than %d: delete it and rerun", n)
	}
	start := time.Now()
	if _, err := seed.Seed(ctx, d, seed.New(Seed), n, 50_000, nil); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("seeded %d contacts in %s", n, time.Since(start).Round(time.Millisecond))
}

// LikeLookup is the way CRM phone connectors commonly match a caller: a
// LIKE '%<last 8 digits>' over a stored digits column. Each store's
// benchmark supplies its own SQL for comparison.
type LikeLookup func(ctx context.Context, last8 string) (int, error)

// callers returns caller IDs for the lookup benchmarks: 80% numbers of
// seeded contacts in the forms the network sends (E.164, national,
// Persian digits), 20% numbers nobody has.
func callers(n, count int) []string {
	g := seed.New(Seed)
	norm, _ := phone.New("IR")
	r := rand.New(rand.NewPCG(7, 7))
	out := make([]string, count)
	for k := range out {
		i := r.IntN(n)
		if seed.IsOrganization(i) {
			i++
		}
		num := norm.Parse(g.MobileNumber(min(i, n-1)))
		switch {
		case k%5 == 4:
			out[k] = "+98999" + string(rune('0'+k%10)) + "123456" // unknown
		case k%3 == 0 && num.Class == phone.Valid:
			out[k] = num.E164
		default:
			out[k] = num.FormatNational()
		}
	}
	return out
}

// Lookup measures Directory.Lookup over a store seeded with n contacts and
// reports p50 and p99 in microseconds; with like set it measures the
// LIKE '%…' lookup too and reports how many times slower it is.
func Lookup(b *testing.B, d *crm.Directory, n int, like LikeLookup) {
	EnsureSeeded(b, d, n)
	ctx := context.Background()
	nums := callers(n, 100_000)
	// sample times lookups outside the benchmark clock: once to warm the
	// caches after opening a large database, and again as the reference the
	// LIKE figure is compared with.
	sample := func(k int) []time.Duration {
		lat := make([]time.Duration, k)
		for i := range lat {
			t := time.Now()
			if _, err := d.Lookup(ctx, nums[i%len(nums)]); err != nil {
				b.Fatal(err)
			}
			lat[i] = time.Since(t)
		}
		slices.Sort(lat)
		return lat
	}
	sample(5000)
	b.Run("index", func(b *testing.B) {
		lat := make([]time.Duration, 0, b.N)
		matched := 0
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			t := time.Now()
			res, err := d.Lookup(ctx, nums[i%len(nums)])
			lat = append(lat, time.Since(t))
			if err != nil {
				b.Fatal(err)
			}
			if len(res.Matches) > 0 {
				matched++
			}
		}
		if matched == 0 {
			b.Fatal("no lookup matched: the benchmark measures nothing")
		}
		report(b, lat)
		b.ReportMetric(float64(matched)/float64(len(lat))*100, "%matched")
	})
	if like == nil {
		return
	}
	b.Run("like", func(b *testing.B) {
		norm, _ := phone.New("IR")
		lat := make([]time.Duration, 0, b.N)
		for i := 0; b.Loop(); i++ {
			num := norm.Parse(nums[i%len(nums)])
			t := time.Now()
			if _, err := like(ctx, crm.TailOf(num.National)); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t))
		}
		p50 := report(b, lat)
		ref := sample(5000)
		b.ReportMetric(p50/(float64(ref[len(ref)/2].Nanoseconds())/1e3), "x-slower-p50")
	})
}

// quantile sorts lat in place and returns its p-quantile (0 < p < 1).
func quantile(lat []time.Duration, p float64) time.Duration {
	slices.Sort(lat)
	return lat[min(int(p*float64(len(lat))), len(lat)-1)]
}

func report(b *testing.B, lat []time.Duration) float64 {
	if len(lat) == 0 {
		return 0
	}
	q := func(p float64) float64 { return float64(quantile(lat, p).Nanoseconds()) / 1e3 }
	b.ReportMetric(q(0.50), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
	b.ReportMetric(float64(quantile(lat, 1).Nanoseconds())/1e3, "max-µs")
	return q(0.50)
}

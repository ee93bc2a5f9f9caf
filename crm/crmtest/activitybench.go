package crmtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/seed"
)

// BenchCallActivity measures the database work one call costs: the pop's
// lookup, history and follow-ups, then the call's activity and the
// contact's last interaction at hang-up. It reports the total per call and
// the activity write alone, p50 and p99.
func BenchCallActivity(b *testing.B, d *crm.Directory, as crm.ActivityStore, contacts int) {
	ctx := context.Background()
	EnsureSeeded(b, d, contacts)
	g := seed.New(BenchSeed)
	r := rand.New(rand.NewPCG(7, 11))
	details := []byte(`{"id":"x","direction":"inbound","pbx":"pbx1","number":"+989121234567","dnis":"02191000000",` +
		`"line":"Sales line","digits":"12","queue":"sales","agents":["PJSIP/1001"],"answered_by":"PJSIP/1001",` +
		`"arrived_at":"2026-11-22T09:00:00Z","queued_at":"2026-11-22T09:00:12Z","answered_at":"2026-11-22T09:00:40Z",` +
		`"ended_at":"2026-11-22T09:04:10Z","ivr":12000000000,"wait":28000000000,"talk":210000000000,"hold":0,` +
		`"outcome":"answered","cause":"normal_clearing","cause_code":16}`)
	run := fmt.Sprintf("%d-%d", time.Now().UnixNano(), r.Uint32())
	calls := make([]time.Duration, 0, b.N)
	writes := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		res, err := d.Lookup(ctx, g.MobileNumber(r.IntN(contacts)))
		if err != nil {
			b.Fatal(err)
		}
		var contact int64
		if len(res.Matches) > 0 {
			contact = res.Matches[0].Contact.ID
			if _, err := as.RecentActivities(ctx, contact, crm.DefaultRecords); err != nil {
				b.Fatal(err)
			}
			if _, err := as.OpenTasks(ctx, contact, crm.DefaultRecords); err != nil {
				b.Fatal(err)
			}
		}
		w := time.Now()
		a := crm.Activity{ContactID: contact, Kind: crm.ActivityCall, CallID: fmt.Sprintf("bench-%s-%d", run, i),
			Direction: "inbound", Number: "+989121234567", Agent: "ali", At: time.Now(), Duration: 250 * time.Second,
			Outcome: "answered", Queue: "sales", Line: "Sales line", Details: details}
		if err := as.AddActivity(ctx, &a); err != nil {
			b.Fatal(err)
		}
		writes = append(writes, time.Since(w))
		if contact > 0 {
			if err := d.Store().TouchInteraction(ctx, contact, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
		calls = append(calls, time.Since(start))
	}
	b.StopTimer()
	q := func(s []time.Duration, p float64) float64 {
		slices.Sort(s)
		return float64(s[min(len(s)-1, int(p*float64(len(s))))].Microseconds())
	}
	b.ReportMetric(q(calls, 0.5), "call-p50-µs")
	b.ReportMetric(q(calls, 0.99), "call-p99-µs")
	b.ReportMetric(q(writes, 0.5), "write-p50-µs")
	b.ReportMetric(q(writes, 0.99), "write-p99-µs")
}

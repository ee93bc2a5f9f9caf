package crmbench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/phone"
	"github.com/tamas-cc/tamas/crm/script"
	"github.com/tamas-cc/tamas/crm/seed"
	"github.com/tamas-cc/tamas/wrapup"
)

// Store is what a call needs of a store: contacts, their activities and
// follow-ups, and wrap-ups.
type Store interface {
	crm.Store
	crm.ActivityStore
	crm.WrapUpStore
}

// directory is the Directory over s that the product would use: numbers
// read as Iranian, as the seeded ones are.
func directory(b *testing.B, s Store) *crm.Directory {
	norm, err := phone.New("IR")
	if err != nil {
		b.Fatal(err)
	}
	return crm.NewDirectory(s, norm)
}

// CallActivity measures the database work one call nobody wraps up costs:
// the pop's lookup, history and follow-ups, then the call's activity and
// the contact's last interaction at hang-up, on s seeded with contacts. It
// reports the total per call and the activity write alone, p50 and p99.
func CallActivity(b *testing.B, s Store, contacts int) {
	ctx := context.Background()
	d, as := directory(b, s), crm.ActivityStore(s)
	EnsureSeeded(b, d, contacts)
	g := seed.New(Seed)
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
	q := func(s []time.Duration, p float64) float64 { return float64(quantile(s, p).Microseconds()) }
	b.ReportMetric(q(calls, 0.5), "call-p50-µs")
	b.ReportMetric(q(calls, 0.99), "call-p99-µs")
	b.ReportMetric(q(writes, 0.5), "write-p50-µs")
	b.ReportMetric(q(writes, 0.99), "write-p99-µs")
}

// FullCall measures the database work of a whole answered call as the
// product does it, through wrapup.Service with the shipped sales script:
// the pop's lookup, history and follow-ups; the wrap-up opened with its
// script; 8 answers saved as the agent gives them; the call's activity at
// hang-up; the disposition and follow-up at the finish; on s seeded with
// contacts. With TAMAS_BENCH_RATE set, calls start at that many per second
// (the store idles between them, as in a call center); otherwise back to
// back. It reports per call and per database operation, p50 and p99.
func FullCall(b *testing.B, s Store, contacts int) {
	ctx := context.Background()
	d, as := directory(b, s), crm.ActivityStore(s)
	EnsureSeeded(b, d, contacts)
	rate, _ := strconv.ParseFloat(os.Getenv("TAMAS_BENCH_RATE"), 64)
	scripts, err := script.LoadDir(filepath.Join(moduleRoot(b), "configs", "scripts"))
	if err != nil {
		b.Fatal(err)
	}
	svc, err := wrapup.New(wrapup.Options{Store: s, Contacts: s, History: s, Scripts: scripts,
		Dispositions: wrapup.DefaultDispositions()})
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Close()
	g := seed.New(Seed)
	r := rand.New(rand.NewPCG(13, 17))
	run := fmt.Sprintf("%d-%d", time.Now().UnixNano(), r.Uint32())
	agent := wrapup.Agent{Username: "ali", Name: "Ali", Lang: "en"}
	calls := make([]time.Duration, 0, b.N)
	ops := make([]time.Duration, 0, b.N*16)
	op := func(f func() error) {
		start := time.Now()
		if err := f(); err != nil {
			b.Fatal(err)
		}
		ops = append(ops, time.Since(start))
	}
	// The answers: a text typed (saved as typed, then on Next), a number,
	// two choices, a yes, a date typed then confirmed: 8 saves.
	moves := []wrapup.Move{
		{From: "greet", Go: "next"},
		{From: "need", Answer: []string{"a fleet"}, Go: "stay"},
		{From: "need", Answer: []string{"a fleet plan for 12 cars"}, Go: "next"},
		{From: "need-size", Answer: []string{"12"}, Go: "next"},
		{From: "authority", Answer: []string{"shared"}, Go: "next"},
		{From: "budget", Answer: []string{"yes"}, Go: "next"},
		{From: "timeline", Answer: []string{"later"}, Go: "next"},
		{From: "next-step", Answer: []string{"2027-01-05"}, Go: "stay"},
		{From: "next-step", Answer: []string{"2027-01-06"}, Go: "next"},
	}
	details := []byte(`{"direction":"inbound","outcome":"answered","queue":"sales","talk":210000000000}`)
	notes := "wants a demo"
	var tick *time.Ticker
	if rate > 0 {
		tick = time.NewTicker(time.Duration(float64(time.Second) / rate))
		defer tick.Stop()
	}
	b.ResetTimer()
	for i := range b.N {
		if tick != nil {
			<-tick.C
		}
		start := time.Now()
		id := fmt.Sprintf("full-%s-%d", run, i)
		var contact int64
		op(func() error {
			res, err := d.Lookup(ctx, g.MobileNumber(r.IntN(contacts)))
			if err == nil && len(res.Matches) > 0 {
				contact = res.Matches[0].Contact.ID
			}
			return err
		})
		if contact > 0 {
			op(func() error { _, err := as.RecentActivities(ctx, contact, crm.DefaultRecords); return err })
			op(func() error { _, err := as.OpenTasks(ctx, contact, crm.DefaultRecords); return err })
		}
		op(func() error {
			_, err := svc.Open(ctx, agent, wrapup.Call{ID: id, ContactID: contact, Script: "inbound-sales", Line: "Sales line"})
			return err
		})
		for _, m := range moves {
			op(func() error { _, err := svc.Step(ctx, agent, id, m); return err })
		}
		op(func() error {
			a := crm.Activity{ContactID: contact, Kind: crm.ActivityCall, CallID: id, Direction: "inbound",
				Number: "+989121234567", Agent: "ali", At: start, Duration: 250 * time.Second, Outcome: "answered",
				Queue: "sales", Line: "Sales line", Details: details}
			return as.AddActivity(ctx, &a)
		})
		if contact > 0 {
			op(func() error { return d.Store().TouchInteraction(ctx, contact, time.Now()) })
		}
		var tasks []wrapup.FollowUp
		if contact > 0 {
			tasks = []wrapup.FollowUp{{Title: "Call back", DueAt: time.Now().Add(48 * time.Hour)}}
		}
		op(func() error {
			_, err := svc.Finish(ctx, agent, id, wrapup.Finish{Disposition: "callback", Notes: &notes, Tasks: tasks})
			return err
		})
		calls = append(calls, time.Since(start))
	}
	b.StopTimer()
	q := func(s []time.Duration, p float64) float64 { return float64(quantile(s, p).Microseconds()) }
	b.ReportMetric(q(calls, 0.5), "call-p50-µs")
	b.ReportMetric(q(calls, 0.99), "call-p99-µs")
	b.ReportMetric(q(ops, 0.5), "op-p50-µs")
	b.ReportMetric(q(ops, 0.99), "op-p99-µs")
}

// moduleRoot is the directory of go.mod above the benchmark's package,
// where configs/ is.
func moduleRoot(b *testing.B) string {
	dir, err := os.Getwd()
	if err != nil {
		b.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			b.Fatal("no go.mod above the working directory")
		}
		dir = up
	}
}

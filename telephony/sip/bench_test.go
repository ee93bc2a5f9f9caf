package sip_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/telephony"
	"github.com/tamas-cc/tamas/telephony/sip"
	"github.com/tamas-cc/tamas/telephony/sip/callgen"
)

// BenchmarkInviteToCallStarted drives the endpoint with callgen at 200
// INVITEs/s over loopback UDP, one call per iteration (run it with
// -benchtime=2000x: ten seconds of load), and reports how long each INVITE
// took to become a CallStarted in the handler:
//
//   - wire-*: from callgen handing the INVITE to its SIP stack to the
//     handler being called — an upper bound of "INVITE received →
//     CallStarted emitted", as it adds the caller's own stack and the
//     loopback;
//   - endpoint-*: from the endpoint's INVITE handler being entered
//     (Event.At) to the handler being called;
//   - lost: INVITEs sent that produced no CallStarted.
//
// ns/op only reflects the pacing (5 ms per call at 200/s).
func BenchmarkInviteToCallStarted(b *testing.B) {
	const rate = 200
	cfg := sip.DefaultConfig()
	cfg.Listen = []sip.Listener{{Network: "udp", Addr: "127.0.0.1:0"}}
	e, err := sip.NewEndpoint(cfg, nil, nil)
	if err != nil {
		b.Fatal(err)
	}

	var mu sync.Mutex
	sent := make(map[string]time.Time, b.N)
	started := make(map[string]time.Time, b.N)
	var endpointLat []time.Duration
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- e.Run(ctx, func(_ context.Context, ev telephony.Event) {
			now := time.Now()
			if ev.Type != telephony.CallStarted {
				return
			}
			mu.Lock()
			started[ev.Call.ID] = now
			endpointLat = append(endpointLat, now.Sub(ev.At))
			mu.Unlock()
		})
	}()
	<-e.Ready()

	b.ResetTimer()
	s, err := callgen.Run(context.Background(), callgen.Options{
		Target: "sip:18005550100@" + e.Addrs()[0].String(),
		Rate:   rate, Total: b.N, Concurrency: 4 * rate, Hold: time.Second,
		OnInviteSent: func(id string, at time.Time) {
			mu.Lock()
			sent[id] = at
			mu.Unlock()
		},
	})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
	var wire []time.Duration
	for id, t0 := range sent {
		if t1, ok := started[id]; ok {
			wire = append(wire, t1.Sub(t0))
		}
	}
	lost := len(sent) - len(wire)
	report(b, "wire", wire)
	report(b, "endpoint", endpointLat)
	b.ReportMetric(float64(lost), "lost")
	b.ReportMetric(float64(s.Failed), "failed")
	if s.Placed != b.N {
		b.Errorf("placed %d of %d", s.Placed, b.N)
	}
}

func report(b *testing.B, name string, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	at := func(q float64) float64 {
		i := min(len(ds)-1, max(0, int(q*float64(len(ds))+0.999999)-1))
		return float64(ds[i].Microseconds())
	}
	b.ReportMetric(at(0.50), name+"-p50-µs")
	b.ReportMetric(at(0.99), name+"-p99-µs")
	b.ReportMetric(float64(ds[len(ds)-1].Microseconds()), name+"-max-µs")
}

package ari

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tamas-cc/tamas/telephony"
	"github.com/tamas-cc/tamas/telephony/ari/aritest"
)

// BenchmarkAdapterEvents measures ARI events read from the test server's
// websocket and turned into call events, end to end: the recorded inbound
// call (the 7 frames Asterisk sends it through the adapter's event filter:
// StasisStart, ChannelStateChange, 2 DTMF, PlaybackFinished,
// ChannelHangupRequest, StasisEnd), replayed with a distinct channel id per
// call. One op is one ARI event; events/s is the figure to compare with the
// 20,000 events/s target.
func BenchmarkAdapterEvents(b *testing.B) {
	srv := aritest.NewServer(aritest.Options{Password: testPassword})
	defer srv.Close()
	cfg := testConfig(srv.URL())
	cfg.EventBuffer = 1 << 16
	reg := prometheus.NewRegistry()
	ad, err := New(cfg, nil, reg)
	if err != nil {
		b.Fatal(err)
	}
	tr, err := aritest.Load("inbound_sip_call")
	if err != nil {
		b.Fatal(err)
	}
	var tmpl [][]byte
	for _, f := range tr.Frames() {
		if slices.Contains(handledTypes, f.Type) {
			tmpl = append(tmpl, f.Data)
		}
	}
	const perCall = 5 // CallStarted, Answered, DTMF, DTMF, Ended
	// More distinct calls than the adapter remembers ended ones, so that
	// reusing them after a lap looks like new calls.
	const pool = 6000
	frames := make([][]byte, 0, pool*len(tmpl))
	for i := range pool {
		id := []byte(fmt.Sprintf("bench-%06d.0", i))
		for _, t := range tmpl {
			frames = append(frames, bytes.ReplaceAll(t, []byte("1795328539.0"), id))
		}
	}

	var got, target atomic.Int64
	target.Store(-1)
	reached := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- ad.Run(ctx, func(_ context.Context, ev telephony.Event) {
			if got.Add(1) == target.Load() {
				reached <- struct{}{}
			}
		})
	}()
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := srv.WaitConnected(wctx, 1); err != nil {
		b.Fatal(err)
	}
	for !ad.Connected() {
		if wctx.Err() != nil {
			b.Fatal("adapter did not connect")
		}
		time.Sleep(time.Millisecond)
	}

	calls := (b.N + len(tmpl) - 1) / len(tmpl)
	target.Store(int64(calls * perCall))
	b.ResetTimer()
	began := time.Now()
	for i := range calls {
		base := (i % pool) * len(tmpl)
		for j := range tmpl {
			if err := srv.SendRaw(frames[base+j]); err != nil {
				b.Fatal(err)
			}
		}
	}
	select {
	case <-reached:
	case <-time.After(time.Minute):
		b.Fatalf("got %d call events, want %d", got.Load(), calls*perCall)
	}
	elapsed := time.Since(began)
	b.StopTimer()
	b.ReportMetric(float64(calls*len(tmpl))/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(calls*perCall)/elapsed.Seconds(), "call-events/s")
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	if n := metricValue(b, reg, "tamas_ari_events_dropped_total"); n != 0 {
		b.Errorf("%v call events dropped", n)
	}
}

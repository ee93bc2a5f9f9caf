package ari

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/tamas-cc/tamas/internal/testkit"
	"github.com/tamas-cc/tamas/telephony"
	"github.com/tamas-cc/tamas/telephony/ari/aritest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const testPassword = "s3cret-pa55"

// harness runs an Adapter against a test ARI server and records what it
// emits.
type harness struct {
	t      *testing.T
	srv    *aritest.Server
	ad     *Adapter
	reg    *prometheus.Registry
	logs   *testkit.SyncBuffer
	cancel context.CancelFunc
	runErr chan error

	once   sync.Once
	result error

	mu      sync.Mutex
	events  []telephony.Event
	changed chan struct{}
}

func testConfig(url string) Config {
	cfg := DefaultConfig()
	cfg.Name = "lab"
	cfg.Node = "node-1"
	cfg.URL = url
	cfg.Username = "tamas"
	cfg.Password = testPassword
	cfg.ReconnectMin = 5 * time.Millisecond
	cfg.ReconnectMax = 50 * time.Millisecond
	cfg.RequestTimeout = 2 * time.Second
	cfg.PingInterval = time.Second
	cfg.ShutdownTimeout = 2 * time.Second
	cfg.Lines = map[string]string{"18005550100": "Sales"}
	return cfg
}

// start runs an adapter (configured by mutate, if not nil) against a new
// server, and waits until it is connected.
func start(t *testing.T, mutate func(*Config)) *harness {
	t.Helper()
	h := startUnconnected(t, mutate)
	h.waitConnected(1)
	return h
}

func startUnconnected(t *testing.T, mutate func(*Config)) *harness {
	t.Helper()
	srv := aritest.NewServer(aritest.Options{Password: testPassword})
	cfg := testConfig(srv.URL())
	if mutate != nil {
		mutate(&cfg)
	}
	logs := &testkit.SyncBuffer{}
	reg := prometheus.NewRegistry()
	ad, err := New(cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, srv: srv, ad: ad, reg: reg, logs: logs, cancel: cancel,
		runErr: make(chan error, 1), changed: make(chan struct{})}
	go func() {
		h.runErr <- ad.Run(ctx, func(_ context.Context, ev telephony.Event) {
			h.mu.Lock()
			h.events = append(h.events, ev)
			close(h.changed)
			h.changed = make(chan struct{})
			h.mu.Unlock()
		})
	}()
	t.Cleanup(func() {
		h.stop()
		srv.Close()
		if strings.Contains(logs.String(), testPassword) {
			t.Error("the password appears in the log")
		}
	})
	return h
}

// stop ends Run and returns its error.
func (h *harness) stop() error { return h.wait(true) }

// wait waits for Run to return (after cancelling its context, if cancel)
// and returns its error; later calls return the same.
func (h *harness) wait(cancel bool) error {
	if cancel {
		h.cancel()
	}
	h.once.Do(func() {
		select {
		case h.result = <-h.runErr:
		case <-time.After(10 * time.Second):
			h.t.Error("Run did not return")
		}
	})
	return h.result
}

func (h *harness) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	h.t.Cleanup(cancel)
	return ctx
}

// waitConnected waits for the n-th websocket connection to be established
// and resynchronised.
func (h *harness) waitConnected(n int) {
	h.t.Helper()
	if err := h.srv.WaitConnected(h.ctx(), n); err != nil {
		h.t.Fatalf("connection %d: %v\nlogs:\n%s", n, err, h.logs.String())
	}
	h.eventually("adapter connected", h.ad.Connected)
}

// eventually polls cond for up to 10 s: used only to wait for the adapter
// to reach a state, never to measure time.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s\nlogs:\n%s", what, h.logs.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (h *harness) snapshot() []telephony.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]telephony.Event(nil), h.events...)
}

// waitEvents waits until at least n events arrived and returns them all.
func (h *harness) waitEvents(n int) []telephony.Event {
	h.t.Helper()
	return h.waitUntil(fmt.Sprintf("%d events", n), func(evs []telephony.Event) bool { return len(evs) >= n })
}

// waitUntil waits until cond holds for the events so far and returns them.
func (h *harness) waitUntil(what string, cond func([]telephony.Event) bool) []telephony.Event {
	h.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		h.mu.Lock()
		evs, ch := append([]telephony.Event(nil), h.events...), h.changed
		h.mu.Unlock()
		if cond(evs) {
			return evs
		}
		select {
		case <-ch:
		case <-timeout:
			h.t.Fatalf("timed out waiting for %s; events:\n%s\nlogs:\n%s", what, describe(evs), h.logs.String())
		}
	}
}

// hasEvent reports whether evs holds an event of type typ for call id.
func hasEvent(evs []telephony.Event, typ telephony.EventType, id string) bool {
	for _, e := range evs {
		if e.Type == typ && e.Call.ID == id {
			return true
		}
	}
	return false
}

// settle sends a marker call through the adapter and waits for it, so that
// everything sent before has been processed: the event stream is ordered.
func (h *harness) settle() []telephony.Event {
	h.t.Helper()
	id := fmt.Sprintf("marker-%d", time.Now().UnixNano())
	h.send(evStasisStart(id, "Ring", "Marker", "1", []string{"0"}), evStasisEnd(id, "Ring"))
	evs := h.waitUntil("marker", func(evs []telephony.Event) bool { return hasEvent(evs, telephony.Ended, id) })
	var out []telephony.Event
	for _, e := range evs {
		if !strings.HasPrefix(e.Call.ID, "marker-") {
			out = append(out, e)
		}
	}
	return out
}

func (h *harness) send(frames ...aritest.Frame) {
	h.t.Helper()
	if err := h.srv.Send(frames...); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) sendRaw(data string) {
	h.t.Helper()
	if err := h.srv.SendRaw([]byte(data)); err != nil {
		h.t.Fatal(err)
	}
}

// metric returns the value of a counter or gauge with the given labels
// (pbx is implied).
func (h *harness) metric(name string, labels ...string) float64 {
	h.t.Helper()
	return metricValue(h.t, h.reg, name, labels...)
}

func metricValue(t testing.TB, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, v := range want {
				if have[k] != v {
					continue next
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

func describe(evs []telephony.Event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "  %s %s dir=%s caller=%q/%q dnis=%q digit=%q peer=%q agent=%q cause=%q/%d\n",
			e.Type, e.Call.ID, e.Call.Direction, e.Call.Caller.Number, e.Call.Caller.Name,
			e.Call.DNIS, e.Digit, e.PeerCallID, e.Agent, e.Cause, e.CauseCode)
	}
	return b.String()
}

// Frames built by tests. Every frame gets its own timestamp, so that two
// alike frames are not mistaken for an Asterisk repeat.
var stamp atomic.Int64

func nextStamp() string {
	base := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	return base.Add(time.Duration(stamp.Add(1)) * time.Millisecond).Format(timeLayout)
}

func channel(id, state, callerName, callerNumber string) map[string]any {
	return map[string]any{
		"id": id, "name": "PJSIP/trunk-" + id, "state": state, "protocol_id": "",
		"caller":      map[string]string{"name": callerName, "number": callerNumber},
		"connected":   map[string]string{"name": "", "number": ""},
		"accountcode": "",
		"dialplan": map[string]any{"context": "from-trunk", "exten": "18005550100", "priority": 2,
			"app_name": "Stasis", "app_data": "tamas,18005550100"},
		"creationtime": "2026-11-22T07:00:00.000+0000", "language": "en",
	}
}

func frame(typ string, fields map[string]any) aritest.Frame {
	m := map[string]any{"type": typ, "timestamp": nextStamp(), "application": "tamas", "asterisk_id": aritest.RecordedEntityID}
	for k, v := range fields {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return aritest.Frame{Type: typ, Data: b}
}

func evStasisStart(id, state, callerName, callerNumber string, args []string) aritest.Frame {
	return frame("StasisStart", map[string]any{"args": args, "channel": channel(id, state, callerName, callerNumber)})
}

func evStasisEnd(id, state string) aritest.Frame {
	return frame("StasisEnd", map[string]any{"channel": channel(id, state, "", "")})
}

func evChannel(typ, id, state string, fields map[string]any) aritest.Frame {
	f := map[string]any{"channel": channel(id, state, "", "")}
	for k, v := range fields {
		f[k] = v
	}
	return frame(typ, f)
}

// types lists event types in order.
func types(evs []telephony.Event) string {
	var s []string
	for _, e := range evs {
		s = append(s, string(e.Type))
	}
	return strings.Join(s, ",")
}

func forCall(evs []telephony.Event, id string) []telephony.Event {
	var out []telephony.Event
	for _, e := range evs {
		if e.Call.ID == id {
			out = append(out, e)
		}
	}
	return out
}

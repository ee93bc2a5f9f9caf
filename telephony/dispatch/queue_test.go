package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"

	"github.com/tamas-cc/tamas/internal/testkit"
	"github.com/tamas-cc/tamas/telephony"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func value(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func newCounter() prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: "dropped_total", Help: "test"})
}

func event(call string, seq int) telephony.Event {
	return telephony.Event{Type: telephony.DTMF, Digit: fmt.Sprint(seq), Call: telephony.Call{ID: call}}
}

// recorder is a handler that records what it is given and fails the test
// if it is ever called concurrently.
type recorder struct {
	t       *testing.T
	busy    atomic.Bool
	mu      sync.Mutex
	events  []telephony.Event
	perCall map[string][]string
}

func (r *recorder) handle(_ context.Context, ev telephony.Event) {
	if !r.busy.CompareAndSwap(false, true) {
		r.t.Error("handler called concurrently")
	}
	defer r.busy.Store(false)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	if r.perCall == nil {
		r.perCall = map[string][]string{}
	}
	r.perCall[ev.Call.ID] = append(r.perCall[ev.Call.ID], ev.Digit)
}

func TestDeliversInOrderFromOneGoroutine(t *testing.T) {
	const calls, perCall = 8, 500
	q := New(Config{Name: "test", Size: calls * perCall, Dropped: newCounter()})
	r := &recorder{t: t}
	q.Start(context.Background(), r.handle)
	// Each call's events are put by a goroutine of its own, as the SIP
	// stack does; those of different calls interleave.
	var wg sync.WaitGroup
	for c := range calls {
		wg.Go(func() {
			for i := range perCall {
				if !q.Put(event(fmt.Sprint("call-", c), i)) {
					t.Errorf("call-%d event %d dropped", c, i)
				}
			}
		})
	}
	wg.Wait()
	if err := q.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(r.events) != calls*perCall {
		t.Fatalf("delivered %d events, want %d", len(r.events), calls*perCall)
	}
	for c := range calls {
		got := r.perCall[fmt.Sprint("call-", c)]
		for i, d := range got {
			if d != fmt.Sprint(i) {
				t.Fatalf("call-%d: event %d is %s: out of order", c, i, d)
			}
		}
	}
}

func TestEventsPutBeforeStartAreDelivered(t *testing.T) {
	q := New(Config{Size: 4})
	for i := range 3 {
		q.Put(event("a", i))
	}
	r := &recorder{t: t}
	q.Start(context.Background(), r.handle)
	if err := q.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.perCall["a"], ","); got != "0,1,2" {
		t.Errorf("delivered %q, want 0,1,2", got)
	}
}

func TestFullQueueDropsCountsAndLogsRateLimited(t *testing.T) {
	dropped := newCounter()
	var log testkit.SyncBuffer
	q := New(Config{
		Name: "test", Size: 2, Dropped: dropped,
		Log:     slog.New(slog.NewTextHandler(&log, nil)),
		Limiter: NewLogLimiter(time.Hour, 1),
	})
	gate := make(chan struct{})
	taken := make(chan struct{}, 1)
	r := &recorder{t: t}
	q.Start(context.Background(), func(ctx context.Context, ev telephony.Event) {
		select {
		case taken <- struct{}{}:
		default:
		}
		<-gate
		r.handle(ctx, ev)
	})
	q.Put(event("a", 0))
	<-taken // the dispatcher holds event 0; the queue is empty
	for i := 1; i <= 2; i++ {
		if !q.Put(event("a", i)) {
			t.Fatalf("event %d refused with room in the queue", i)
		}
	}
	// Put must not wait for the stuck handler.
	start := time.Now()
	for i := 3; i < 10; i++ {
		if q.Put(event("a", i)) {
			t.Fatalf("event %d queued in a full queue", i)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Put blocked for %v on a full queue", d)
	}
	if got := value(t, dropped); got != 7 {
		t.Errorf("dropped = %v, want 7", got)
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "test: call event dropped") ||
		!strings.Contains(lines[0], "call_id=a") || !strings.Contains(lines[0], "suppressed=0") {
		t.Errorf("log = %q, want one drop warning for call a", lines)
	}
	close(gate)
	if err := q.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.perCall["a"], ","); got != "0,1,2" {
		t.Errorf("delivered %q, want 0,1,2", got)
	}
}

func TestStopDrainsQueueThenRefuses(t *testing.T) {
	const n = 100
	dropped := newCounter()
	q := New(Config{Size: n, Dropped: dropped})
	ctx, cancel := context.WithCancel(context.Background())
	var handlerCtxErr atomic.Value
	var got atomic.Int32
	q.Start(ctx, func(hctx context.Context, ev telephony.Event) {
		time.Sleep(100 * time.Microsecond)
		if err := hctx.Err(); err != nil {
			handlerCtxErr.Store(err)
		}
		got.Add(1)
	})
	for i := range n {
		q.Put(event("a", i))
	}
	// The engine's context ends first; the handler's must not.
	cancel()
	if err := q.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got.Load() != n {
		t.Errorf("delivered %d of %d queued events before Stop returned", got.Load(), n)
	}
	if err := handlerCtxErr.Load(); err != nil {
		t.Errorf("handler context ended during the drain: %v", err)
	}
	if q.Put(event("a", n)) {
		t.Error("event queued after Stop")
	}
	if v := value(t, dropped); v != 1 {
		t.Errorf("dropped = %v, want 1 (the event after Stop)", v)
	}
	if err := q.Stop(context.Background()); err != nil {
		t.Errorf("second Stop = %v", err)
	}
}

func TestStopDeadlineCancelsHandlerContext(t *testing.T) {
	q := New(Config{Size: 4})
	entered := make(chan struct{})
	q.Start(context.Background(), func(ctx context.Context, _ telephony.Event) {
		close(entered)
		<-ctx.Done()
	})
	q.Put(event("a", 0))
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := q.Stop(ctx); err != nil {
		t.Errorf("Stop = %v, want nil: the handler returned once cancelled", err)
	}
}

func TestStopGivesUpOnStuckHandler(t *testing.T) {
	q := New(Config{Size: 4})
	entered, release := make(chan struct{}), make(chan struct{})
	finished := make(chan struct{})
	q.Start(context.Background(), func(context.Context, telephony.Event) {
		close(entered)
		<-release // ignores its context
		close(finished)
	})
	q.Put(event("a", 0))
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	err := q.Stop(ctx)
	if !errors.Is(err, ErrHandlerStuck) {
		t.Errorf("Stop = %v, want ErrHandlerStuck", err)
	}
	if d := time.Since(start); d < handlerGrace || d > handlerGrace+time.Second {
		t.Errorf("Stop took %v, want about %v", d, handlerGrace)
	}
	close(release)
	<-finished
}

func TestStopWithoutStart(t *testing.T) {
	dropped := newCounter()
	q := New(Config{Size: 1, Dropped: dropped})
	q.Put(event("a", 0))
	if err := q.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if q.Put(event("a", 1)) || value(t, dropped) != 1 {
		t.Error("event after Stop not dropped and counted")
	}
}

func TestTakeReturnsWhatWaits(t *testing.T) {
	q := New(Config{Name: "t", Size: 4})
	if got := q.Take(); len(got) != 0 {
		t.Fatalf("empty queue gave %v", got)
	}
	for _, id := range []string{"a", "b"} {
		q.Put(telephony.Event{Type: telephony.CallStarted, Call: telephony.Call{ID: id}})
	}
	got := q.Take()
	if len(got) != 2 || got[0].Call.ID != "a" || got[1].Call.ID != "b" {
		t.Fatalf("Take = %+v, want a then b", got)
	}
	if again := q.Take(); len(again) != 0 {
		t.Fatalf("second Take = %v", again)
	}
}

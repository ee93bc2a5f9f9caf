package dispatch

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tamas-cc/tamas/telephony"
)

// ErrHandlerStuck is returned by Stop when the handler has not returned
// within a second of its context being cancelled.
var ErrHandlerStuck = errors.New("event handler did not return after shutdown")

// handlerGrace is what a handler whose context was cancelled at the end of
// the drain still gets to return.
const handlerGrace = time.Second

// Config configures a Queue.
type Config struct {
	// Name starts the drop warning, as the engine's other log lines do
	// ("ari", "sip").
	Name string
	// Size bounds the events waiting for the handler; at least 1.
	Size int
	// Dropped counts the events that did not fit or came after Stop.
	Dropped prometheus.Counter
	// Log receives the drop warnings, at most as often as Limiter lets
	// through under the key "dropped". Either may be nil: no log, or one
	// line per 10 s.
	Log     *slog.Logger
	Limiter *LogLimiter
}

// Queue holds call events for a handler and delivers them from one
// goroutine. Put may be called from any goroutine, before Start and after
// Stop; Start and Stop are called once each, in that order.
type Queue struct {
	cfg Config

	// mu guards sends on events against its close.
	mu     sync.RWMutex
	closed bool
	events chan telephony.Event

	done   chan struct{} // closed when the dispatcher returns; nil before Start
	cancel context.CancelFunc
}

// New makes a queue of cfg.Size events.
func New(cfg Config) *Queue {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Limiter == nil {
		cfg.Limiter = NewLogLimiter(10*time.Second, 1)
	}
	return &Queue{cfg: cfg, events: make(chan telephony.Event, max(cfg.Size, 1))}
}

// Put queues ev without blocking. An event that does not fit, or comes
// after Stop, is dropped: counted, and logged at a bounded rate. Put
// reports whether ev was queued. Events put from one goroutine, or under
// one lock, are delivered in that order.
func (q *Queue) Put(ev telephony.Event) bool {
	q.mu.RLock()
	if !q.closed {
		select {
		case q.events <- ev:
			q.mu.RUnlock()
			return true
		default:
		}
	}
	q.mu.RUnlock()
	if q.cfg.Dropped != nil {
		q.cfg.Dropped.Inc()
	}
	if ok, n := q.cfg.Limiter.Allow("dropped", time.Now()); ok {
		q.cfg.Log.Warn(q.cfg.Name+": call event dropped: handler behind or stopped",
			"type", string(ev.Type), "call_id", ev.Call.ID, "suppressed", n)
	}
	return false
}

// Take removes and returns the events waiting, for a queue that is never
// started: a test that feeds an engine one input at a time reads what each
// produced.
func (q *Queue) Take() []telephony.Event {
	var out []telephony.Event
	for {
		select {
		case ev := <-q.events:
			out = append(out, ev)
		default:
			return out
		}
	}
}

// Start runs the dispatcher: it calls h with each queued event in turn,
// until Stop. h's context carries ctx's values but not its end: it outlives
// ctx by the shutdown drain, so that the last events of a stopping engine
// can still be recorded.
func (q *Queue) Start(ctx context.Context, h telephony.Handler) {
	hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	q.mu.Lock()
	q.done, q.cancel = done, cancel
	q.mu.Unlock()
	go func() {
		defer close(done)
		for ev := range q.events {
			h(hctx, ev)
		}
	}()
}

// Stop refuses further events and waits for the dispatcher to deliver
// those already queued, until ctx ends. Then it cancels the handler's
// context and waits one second more: a handler still busy then makes Stop
// return ErrHandlerStuck, leaving the dispatcher to finish on its own.
func (q *Queue) Stop(ctx context.Context) error {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.events)
	}
	done, cancel := q.done, q.cancel
	q.mu.Unlock()
	if done == nil {
		return nil
	}
	defer cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	cancel()
	t := time.NewTimer(handlerGrace)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C:
		return ErrHandlerStuck
	}
}

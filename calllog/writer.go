package calllog

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/phone"
	"github.com/tamas-cc/tamas/screenpop"
	"github.com/tamas-cc/tamas/telephony"
)

// Adder takes a new activity.
type Adder interface {
	AddActivity(ctx context.Context, a *crm.Activity) error
}

// Activities is what the writer needs of the CRM store.
type Activities interface {
	Adder
	TouchInteraction(ctx context.Context, contactID int64, at time.Time) error
}

// Lookup finds the caller's contacts.
type Lookup interface {
	Lookup(ctx context.Context, raw string) (crm.LookupResult, error)
}

// Notifier tells other systems about calls and activities (webhooks).
type Notifier interface {
	Send(event string, data any)
}

// Users names the user whose phone is an endpoint ("" for none).
type Users interface {
	User(endpoint string) string
}

// EndedObserver hears of every call an agent answered once it ends, by
// username and queue (the agent goes into wrap-up).
type EndedObserver interface {
	CallEnded(ctx context.Context, username, queue string)
}

// Events the writer announces through its Notifier.
const (
	EventCallStarted       = "call.started"
	EventCallEnded         = "call.ended"
	EventActivityCompleted = "activity.completed"
)

// WriterOptions are the writer's collaborators; Ended and Registry may be
// nil.
type WriterOptions struct {
	Lookup   Lookup
	Store    Activities
	Outbox   *Outbox
	Notify   Notifier
	Users    Users
	Ended    EndedObserver
	Logger   *slog.Logger
	Registry prometheus.Registerer
	// Pops makes each inbound call's record wait (briefly) for its pop's
	// build time, reported through PopBuilt.
	Pops bool
}

// Writer writes one CRM activity per call when it ends: the caller's
// contact (best match, or none), the agent, and the call's whole record.
// Writes run in order on one goroutine that exists while records wait,
// never on the event path; a call replayed or reported twice stays one
// activity (the store refuses a second one for the call). Activities the
// database cannot take go to the outbox and are written, in order, when it
// returns.
type Writer struct {
	o       WriterOptions
	log     *slog.Logger
	mu      sync.Mutex
	tracker *Tracker
	queue   []pending
	writing bool
	wg      sync.WaitGroup
	written *prometheus.CounterVec
	// pops holds each inbound call's pop build time until its record is
	// written; nil when no pops are built.
	pops map[string]*popTime
}

// popTime is a call's pop build time, known once done is closed.
type popTime struct {
	micros int64
	done   chan struct{}
}

// maxPopTimes bounds pops: calls whose end never comes must not grow it
// for ever.
const maxPopTimes = 100000

// NewWriter returns a writer; Handle feeds it and Run flushes its outbox.
func NewWriter(o WriterOptions) *Writer {
	w := &Writer{o: o, log: cmp.Or(o.Logger, slog.Default()), tracker: NewTracker(),
		written: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tamas_call_activities_total", Help: "Call activities written, by result.",
		}, []string{"result"})}
	if o.Registry != nil {
		o.Registry.MustRegister(w.written)
	}
	if o.Pops {
		w.pops = map[string]*popTime{}
	}
	return w
}

// popTimeLocked returns the call's entry, making it if needed.
func (w *Writer) popTimeLocked(callID string) *popTime {
	pt := w.pops[callID]
	if pt == nil {
		if len(w.pops) >= maxPopTimes {
			clear(w.pops)
		}
		pt = &popTime{done: make(chan struct{})}
		w.pops[callID] = pt
	}
	return pt
}

// PopBuilt keeps a call's pop build time for its record.
func (w *Writer) PopBuilt(callID string, t screenpop.Timing) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pops == nil {
		return
	}
	pt := w.popTimeLocked(callID)
	select {
	case <-pt.done:
	default:
		pt.micros = t.BuildMicros
		close(pt.done)
	}
}

// Handle follows every call event; sources call it from their own
// goroutines, so the tracker is locked.
func (w *Writer) Handle(ctx context.Context, ev telephony.Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if ev.Type == telephony.CallStarted && ev.Call.Direction == telephony.Inbound {
		w.o.Notify.Send(EventCallStarted, map[string]any{"call_id": ev.Call.LinkedID, "number": ev.Call.Caller.Number,
			"caller_name": ev.Call.Caller.Name, "dnis": ev.Call.DNIS, "line": ev.Call.Line, "pbx": ev.Call.PBX,
			"node": ev.Call.Node, "at": ev.At})
		if w.pops != nil {
			w.popTimeLocked(cmp.Or(ev.Call.LinkedID, ev.Call.ID))
		}
	}
	rec, ended := w.tracker.Apply(ev)
	if !ended {
		return
	}
	// The entry stays until the writer has the time: the pop may still be
	// building.
	pt := w.pops[rec.ID]
	w.o.Notify.Send(EventCallEnded, rec)
	if w.o.Ended != nil && rec.AnsweredBy != "" {
		if user := w.o.Users.User(rec.AnsweredBy); user != "" {
			go w.o.Ended.CallEnded(context.WithoutCancel(ctx), user, rec.Queue)
		}
	}
	w.queue = append(w.queue, pending{rec, pt})
	w.startLocked(ctx)
}

// pending is an ended call waiting for its activity to be written.
type pending struct {
	rec Record
	pop *popTime
}

// kick starts the writer if records wait and nobody writes.
func (w *Writer) kick(ctx context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.startLocked(ctx)
}

func (w *Writer) startLocked(ctx context.Context) {
	if w.writing || len(w.queue) == 0 {
		return
	}
	w.writing = true
	w.wg.Go(func() {
		for {
			w.mu.Lock()
			if len(w.queue) == 0 {
				w.queue, w.writing = nil, false
				w.mu.Unlock()
				return
			}
			next := w.queue[0]
			w.queue = w.queue[1:]
			w.mu.Unlock()
			if next.pop != nil {
				// A pop takes milliseconds and a call seconds; only a
				// replayed or very short call ends first. Every pop is
				// built (with no matches if the database is slow), so the
				// wait ends; the bound only guards against a bug.
				select {
				case <-next.pop.done:
				case <-time.After(30 * time.Second):
					w.log.Warn("call activity written without its pop time", "call", next.rec.ID)
				}
				w.mu.Lock()
				next.rec.PopMicros = next.pop.micros
				if w.pops[next.rec.ID] == next.pop {
					delete(w.pops, next.rec.ID)
				}
				w.mu.Unlock()
			}
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			w.write(wctx, next.rec)
			cancel()
		}
	})
}

// callerOf looks the caller up: the best match (0 for none or when the
// lookup fails) and the number in E.164 ("" unless valid). The number is
// read without the database, so a failed lookup still has it.
func (w *Writer) callerOf(ctx context.Context, number string) (contactID int64, e164 string) {
	if number == "" {
		return 0, ""
	}
	res, err := w.o.Lookup.Lookup(ctx, number)
	if res.Number.Class == phone.Valid {
		e164 = res.Number.E164
	}
	if err == nil && len(res.Matches) > 0 {
		contactID = res.Matches[0].Contact.ID
	}
	return contactID, e164
}

func (w *Writer) write(ctx context.Context, rec Record) {
	details, _ := json.Marshal(rec)
	act := &crm.Activity{Kind: crm.ActivityCall, CallID: rec.ID, Direction: string(rec.Direction),
		Number: rec.Number, At: rec.ArrivedAt, Duration: rec.EndedAt.Sub(rec.ArrivedAt),
		Outcome: string(rec.Outcome), Queue: rec.Queue, Line: rec.Line, Details: details,
		Agent: cmp.Or(w.o.Users.User(rec.AnsweredBy), rec.AnsweredBy)}
	act.ContactID, act.NumberE164 = w.callerOf(ctx, rec.Number)
	// Calls kept through an outage go first, so the order holds.
	if w.o.Outbox.Len() > 0 {
		if _, err := w.flush(ctx); err != nil {
			w.keep(act)
			return
		}
	}
	err := addCallActivity(ctx, w.o.Store, act)
	var fe *crm.FieldError
	switch {
	case err == nil:
		w.written.WithLabelValues("ok").Inc()
		w.o.Notify.Send(EventActivityCompleted, act)
		if act.ContactID > 0 {
			if err := w.o.Store.TouchInteraction(ctx, act.ContactID, rec.EndedAt); err != nil {
				w.log.Warn("call activity: last interaction not updated", "contact", act.ContactID, "err", err)
			}
		}
	case errors.Is(err, crm.ErrConflict):
		w.written.WithLabelValues("duplicate").Inc()
	case errors.As(err, &fe):
		w.written.WithLabelValues("invalid").Inc()
		w.log.Error("call activity refused", "call", rec.ID, "err", err)
	default:
		w.log.Warn("call activity kept in the outbox: the database did not take it", "call", rec.ID, "err", err)
		w.keep(act)
	}
}

// addCallActivity writes a call's activity; a call whose contact was
// deleted since the lookup is still logged, without the contact.
func addCallActivity(ctx context.Context, store Adder, a *crm.Activity) error {
	err := store.AddActivity(ctx, a)
	if errors.Is(err, crm.ErrNotFound) && a.Kind == crm.ActivityCall && a.ContactID > 0 {
		a.ContactID = 0
		err = store.AddActivity(ctx, a)
	}
	return err
}

func (w *Writer) keep(act *crm.Activity) {
	if err := w.o.Outbox.Append(*act); err != nil {
		w.written.WithLabelValues("lost").Inc()
		w.log.Error("call activity lost: neither the database nor the outbox took it", "call", act.CallID, "err", err)
		return
	}
	w.written.WithLabelValues("outbox").Inc()
}

// flush writes what the outbox holds; it runs from the writer and from Run
// while the database is down.
func (w *Writer) flush(ctx context.Context) (int, error) {
	n, err := w.o.Outbox.Flush(ctx, w.o.Store, FlushHooks{
		// Kept because the database was down: the caller's lookup may have
		// failed with it.
		Prepare: func(ctx context.Context, act *crm.Activity) {
			if act.ContactID == 0 || act.NumberE164 == "" {
				id, e164 := w.callerOf(ctx, act.Number)
				act.ContactID = cmp.Or(act.ContactID, id)
				act.NumberE164 = cmp.Or(act.NumberE164, e164)
			}
		},
		// Activities kept through an outage are announced as they are
		// written, as the others are.
		Written: func(act crm.Activity) { w.o.Notify.Send(EventActivityCompleted, &act) },
		Refused: func(act crm.Activity, err error) {
			w.written.WithLabelValues("invalid").Inc()
			w.log.Error("call activity from the outbox refused", "call", act.CallID, "err", err)
		},
	})
	if n > 0 {
		w.written.WithLabelValues("ok").Add(float64(n))
		w.log.Info("call activities written from the outbox", "count", n, "left", w.o.Outbox.Len())
	}
	return n, err
}

// Run flushes the outbox every interval until ctx ends; it takes the
// writer's place so the two never interleave.
func (w *Writer) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.mu.Lock()
		mine := !w.writing && w.o.Outbox.Len() > 0 // decided once, under the lock
		if mine {
			w.writing = true
		}
		w.mu.Unlock()
		if !mine {
			continue
		}
		fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, _ = w.flush(fctx)
		cancel()
		w.mu.Lock()
		w.writing = false
		pending := len(w.queue) > 0
		w.mu.Unlock()
		if pending {
			w.kick(ctx)
		}
	}
}

// Wait lets writes in flight finish at shutdown.
func (w *Writer) Wait() { w.wg.Wait() }

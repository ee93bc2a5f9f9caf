package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tamas-cc/tamas/calllog"
	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/screenpop"
	"github.com/tamas-cc/tamas/telephony"
	"github.com/tamas-cc/tamas/webhook"
)

// callActivities writes one CRM activity per call when it ends: the
// caller's contact (best match, or none), the agent, and the call's whole
// record. Writes run in order on one goroutine that exists while records
// wait, never on the event path; a call replayed or reported twice stays
// one activity (the store refuses a second one for the call).
type callActivities struct {
	dir     *crm.Directory
	store   crm.ActivityStore
	userOf  func(endpoint string) string
	log     *slog.Logger
	mu      sync.Mutex
	tracker *calllog.Tracker
	outbox  *calllog.Outbox
	hooks   *webhook.Dispatcher
	queue   []pending
	writing bool
	wg      sync.WaitGroup
	written *prometheus.CounterVec
	// ended hears of every call an agent answered, by username and queue,
	// off the event path (the agent goes into wrap-up).
	ended func(ctx context.Context, username, queue string)
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

// popTimeLocked returns the call's entry, making it if needed.
func (a *callActivities) popTimeLocked(callID string) *popTime {
	pt := a.pops[callID]
	if pt == nil {
		if len(a.pops) >= maxPopTimes {
			clear(a.pops)
		}
		pt = &popTime{done: make(chan struct{})}
		a.pops[callID] = pt
	}
	return pt
}

// expectPops makes every inbound call's record wait (briefly) for its pop
// build time.
func (a *callActivities) expectPops() {
	a.mu.Lock()
	a.pops = map[string]*popTime{}
	a.mu.Unlock()
}

// popBuilt keeps a call's pop build time for its record.
func (a *callActivities) popBuilt(callID string, t screenpop.Timing) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pops == nil {
		return
	}
	pt := a.popTimeLocked(callID)
	select {
	case <-pt.done:
	default:
		pt.micros = t.BuildMicros
		close(pt.done)
	}
}

func newCallActivities(dir *crm.Directory, store crm.ActivityStore, outbox *calllog.Outbox, hooks *webhook.Dispatcher,
	userOf func(string) string, log *slog.Logger, reg prometheus.Registerer) *callActivities {
	a := &callActivities{dir: dir, store: store, outbox: outbox, hooks: hooks, userOf: userOf, log: log, tracker: calllog.NewTracker(),
		written: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tamas_call_activities_total", Help: "Call activities written, by result.",
		}, []string{"result"})}
	reg.MustRegister(a.written)
	return a
}

// handle follows every call event; sources call it from their own
// goroutines, so the tracker is locked.
func (a *callActivities) handle(ctx context.Context, ev telephony.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ev.Type == telephony.CallStarted && ev.Call.Direction == telephony.Inbound {
		a.hooks.Send(webhook.CallStarted, map[string]any{"call_id": ev.Call.LinkedID, "number": ev.Call.Caller.Number,
			"caller_name": ev.Call.Caller.Name, "dnis": ev.Call.DNIS, "line": ev.Call.Line, "pbx": ev.Call.PBX,
			"node": ev.Call.Node, "at": ev.At})
	}
	if a.pops != nil && ev.Type == telephony.CallStarted && ev.Call.Direction == telephony.Inbound {
		a.popTimeLocked(cmp.Or(ev.Call.LinkedID, ev.Call.ID))
	}
	rec, ended := a.tracker.Apply(ev)
	if !ended {
		return
	}
	// The entry stays until the writer has the time: the pop may still be
	// building.
	pt := a.pops[rec.ID]
	a.hooks.Send(webhook.CallEnded, rec)
	if a.ended != nil && rec.AnsweredBy != "" {
		if user := a.userOf(rec.AnsweredBy); user != "" {
			go a.ended(context.WithoutCancel(ctx), user, rec.Queue)
		}
	}
	a.queue = append(a.queue, pending{rec, pt})
	a.startLocked(ctx)
}

// pending is an ended call waiting for its activity to be written.
type pending struct {
	rec calllog.Record
	pop *popTime
}

// kick starts the writer if records wait and nobody writes.
func (a *callActivities) kick(ctx context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.startLocked(ctx)
}

func (a *callActivities) startLocked(ctx context.Context) {
	if a.writing || len(a.queue) == 0 {
		return
	}
	a.writing = true
	a.wg.Go(func() {
		for {
			a.mu.Lock()
			if len(a.queue) == 0 {
				a.queue, a.writing = nil, false
				a.mu.Unlock()
				return
			}
			next := a.queue[0]
			a.queue = a.queue[1:]
			a.mu.Unlock()
			if next.pop != nil {
				// A pop takes milliseconds and a call seconds; only a
				// replayed or very short call ends first. Every pop is
				// built (with no matches if the database is slow), so the
				// wait ends; the bound only guards against a bug.
				select {
				case <-next.pop.done:
				case <-time.After(30 * time.Second):
					a.log.Warn("call activity written without its pop time", "call", next.rec.ID)
				}
				a.mu.Lock()
				next.rec.PopMicros = next.pop.micros
				if a.pops[next.rec.ID] == next.pop {
					delete(a.pops, next.rec.ID)
				}
				a.mu.Unlock()
			}
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			a.write(wctx, next.rec)
			cancel()
		}
	})
}

func (a *callActivities) write(ctx context.Context, rec calllog.Record) {
	details, _ := json.Marshal(rec)
	act := &crm.Activity{Kind: crm.ActivityCall, CallID: rec.ID, Direction: string(rec.Direction),
		Number: rec.Number, At: rec.ArrivedAt, Duration: rec.EndedAt.Sub(rec.ArrivedAt),
		Outcome: string(rec.Outcome), Queue: rec.Queue, Line: rec.Line, Details: details,
		Agent: a.userOf(rec.AnsweredBy)}
	if act.Agent == "" {
		act.Agent = rec.AnsweredBy
	}
	if res, err := a.dir.Lookup(ctx, rec.Number); err == nil && len(res.Matches) > 0 {
		act.ContactID = res.Matches[0].Contact.ID
	}
	// Calls kept through an outage go first, so the order holds.
	if a.outbox.Len() > 0 {
		if _, err := a.flush(ctx); err != nil {
			a.keep(act)
			return
		}
	}
	err := a.store.AddActivity(ctx, act)
	if errors.Is(err, crm.ErrNotFound) && act.ContactID > 0 {
		// The contact was deleted since the lookup: the call is still logged.
		act.ContactID = 0
		err = a.store.AddActivity(ctx, act)
	}
	var fe *crm.FieldError
	switch {
	case err == nil:
		a.written.WithLabelValues("ok").Inc()
		a.hooks.Send(webhook.ActivityCompleted, act)
		if act.ContactID > 0 {
			if err := a.dir.Store().TouchInteraction(ctx, act.ContactID, rec.EndedAt); err != nil {
				a.log.Warn("call activity: last interaction not updated", "contact", act.ContactID, "err", err)
			}
		}
	case errors.Is(err, crm.ErrConflict):
		a.written.WithLabelValues("duplicate").Inc()
	case errors.As(err, &fe):
		a.written.WithLabelValues("invalid").Inc()
		a.log.Error("call activity refused", "call", rec.ID, "err", err)
	default:
		a.log.Warn("call activity kept in the outbox: the database did not take it", "call", rec.ID, "err", err)
		a.keep(act)
	}
}

func (a *callActivities) keep(act *crm.Activity) {
	if err := a.outbox.Append(*act); err != nil {
		a.written.WithLabelValues("lost").Inc()
		a.log.Error("call activity lost: neither the database nor the outbox took it", "call", act.CallID, "err", err)
		return
	}
	a.written.WithLabelValues("outbox").Inc()
}

// flush writes what the outbox holds; it runs from the writer and from a
// timer while the database is down.
func (a *callActivities) flush(ctx context.Context) (int, error) {
	// Activities kept through an outage are announced as they are written,
	// as the others are.
	n, err := a.outbox.Flush(ctx, a.store, calllog.FlushHooks{
		// Kept because the database was down: the caller's lookup may have
		// failed with it.
		Prepare: func(ctx context.Context, act *crm.Activity) {
			if act.ContactID == 0 && act.Number != "" {
				if res, err := a.dir.Lookup(ctx, act.Number); err == nil && len(res.Matches) > 0 {
					act.ContactID = res.Matches[0].Contact.ID
				}
			}
		},
		Written: func(act crm.Activity) { a.hooks.Send(webhook.ActivityCompleted, &act) },
		Refused: func(act crm.Activity, err error) {
			a.written.WithLabelValues("invalid").Inc()
			a.log.Error("call activity from the outbox refused", "call", act.CallID, "err", err)
		},
	})
	if n > 0 {
		a.written.WithLabelValues("ok").Add(float64(n))
		a.log.Info("call activities written from the outbox", "count", n, "left", a.outbox.Len())
	}
	return n, err
}

// retry flushes the outbox every interval until ctx ends; it takes the
// writer's place so the two never interleave.
func (a *callActivities) retry(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a.mu.Lock()
		mine := !a.writing && a.outbox.Len() > 0 // decided once, under the lock
		if mine {
			a.writing = true
		}
		a.mu.Unlock()
		if !mine {
			continue
		}
		fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, _ = a.flush(fctx)
		cancel()
		a.mu.Lock()
		a.writing = false
		pending := len(a.queue) > 0
		a.mu.Unlock()
		if pending {
			a.kick(ctx)
		}
	}
}

// wait lets writes in flight finish at shutdown.
func (a *callActivities) wait() { a.wg.Wait() }

package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tamas-cc/tamas/calllog"
	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/telephony"
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
	queue   []calllog.Record
	writing bool
	wg      sync.WaitGroup
	written *prometheus.CounterVec
}

func newCallActivities(dir *crm.Directory, store crm.ActivityStore, userOf func(string) string, log *slog.Logger, reg prometheus.Registerer) *callActivities {
	a := &callActivities{dir: dir, store: store, userOf: userOf, log: log, tracker: calllog.NewTracker(),
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
	rec, ended := a.tracker.Apply(ev)
	if !ended {
		return
	}
	a.queue = append(a.queue, rec)
	if a.writing {
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
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			a.write(wctx, next)
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
	err := a.store.AddActivity(ctx, act)
	switch {
	case err == nil:
		a.written.WithLabelValues("ok").Inc()
		if act.ContactID > 0 {
			if err := a.dir.Store().TouchInteraction(ctx, act.ContactID, rec.EndedAt); err != nil {
				a.log.Warn("call activity: last interaction not updated", "contact", act.ContactID, "err", err)
			}
		}
	case errors.Is(err, crm.ErrConflict):
		a.written.WithLabelValues("duplicate").Inc()
	default:
		a.written.WithLabelValues("error").Inc()
		a.log.Error("call activity not written", "call", rec.ID, "err", err)
	}
}

// wait lets writes in flight finish at shutdown.
func (a *callActivities) wait() { a.wg.Wait() }

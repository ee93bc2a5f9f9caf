// Package followup announces follow-up tasks as they fall due: an
// [Announcer] on every node claims due tasks from the CRM's task queue and
// hands each to a [Notifier], which tells the people concerned. The queue
// gives each task to one node only, so a task is announced once however many
// nodes run, and at most once: a node that dies between claiming and
// notifying loses that announcement rather than repeating it.
package followup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tamas-cc/tamas/crm"
)

// Notifier is told of each task as it falls due.
type Notifier interface {
	TaskDue(ctx context.Context, t crm.Task)
}

// Options configure an Announcer.
type Options struct {
	Queue  crm.TaskQueue
	Notify Notifier
	// Every is how often due tasks are looked for; 15s when zero or less.
	Every time.Duration
	// Batch is how many tasks one claim takes, 100 when zero or less and
	// never more than crm.MaxRecords, the most a queue hands out at once.
	Batch  int
	Logger *slog.Logger
	// Now is the clock due times are compared with; time.Now when nil.
	Now func() time.Time
}

// Announcer announces due follow-up tasks.
type Announcer struct {
	queue  crm.TaskQueue
	notify Notifier
	every  time.Duration
	batch  int
	log    *slog.Logger
	now    func() time.Time
}

// New returns an Announcer; start it with Run.
func New(o Options) *Announcer {
	a := &Announcer{queue: o.Queue, notify: o.Notify, every: o.Every, batch: o.Batch, log: o.Logger, now: o.Now}
	if a.every <= 0 {
		a.every = 15 * time.Second
	}
	if a.batch <= 0 {
		a.batch = 100
	}
	// A batch larger than the queue hands out would never come back full,
	// and a backlog would then drain one tick at a time.
	a.batch = min(a.batch, crm.MaxRecords)
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	return a
}

// Run announces due tasks until ctx is done. A failing database is logged
// and tried again on the next tick.
func (a *Announcer) Run(ctx context.Context) {
	t := time.NewTicker(a.every)
	defer t.Stop()
	for ctx.Err() == nil {
		a.drain(ctx)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
}

// drain claims batch after batch while they come back full, so a backlog
// (after downtime, or a morning's worth due at once) does not wait a tick
// per batch.
func (a *Announcer) drain(ctx context.Context) {
	for ctx.Err() == nil {
		n, err := a.Tick(ctx)
		if err != nil {
			if ctx.Err() == nil {
				a.log.ErrorContext(ctx, "announcing due follow-ups failed; retrying next tick", "err", err)
			}
			return
		}
		if n < a.batch {
			return
		}
	}
}

// Tick claims the tasks due now, up to a batch, and announces them soonest
// due first. It returns how many it announced.
func (a *Announcer) Tick(ctx context.Context) (int, error) {
	if a.queue == nil || a.notify == nil {
		return 0, errors.New("followup: no task queue or notifier")
	}
	tasks, err := a.queue.ClaimDueTasks(ctx, a.now(), a.batch)
	if err != nil {
		return 0, fmt.Errorf("followup: %w", err)
	}
	for _, t := range tasks {
		a.announce(ctx, t)
	}
	if len(tasks) > 0 {
		a.log.DebugContext(ctx, "due follow-ups announced", "count", len(tasks))
	}
	return len(tasks), nil
}

// announce hands one task to the notifier. The task is already claimed, so
// a notifier that panics costs that one announcement, not the rest of the
// batch or the node.
func (a *Announcer) announce(ctx context.Context, t crm.Task) {
	defer func() {
		if p := recover(); p != nil {
			a.log.ErrorContext(ctx, "follow-up notifier panicked", "task", t.ID, "panic", p)
		}
	}()
	a.notify.TaskDue(ctx, t)
}

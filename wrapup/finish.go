package wrapup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/script"
)

// Disposition is a code an agent may close a call with, and its labels by
// language.
type Disposition struct {
	Code   string            `json:"code"`
	Labels map[string]string `json:"labels,omitempty"`
}

// CheckDispositions reports a disposition listed twice or empty, and one a
// script's outcome sets that is not in the list.
func CheckDispositions(scripts *script.Set, dispositions []Disposition) error {
	seen := map[string]bool{}
	for _, d := range dispositions {
		if d.Code == "" || seen[d.Code] {
			return fmt.Errorf("wrapup: disposition %q is empty or listed twice", d.Code)
		}
		seen[d.Code] = true
	}
	if scripts == nil {
		return nil
	}
	var errs []error
	for _, sc := range scripts.Scripts() {
		for _, st := range sc.Steps {
			if st.Outcome != nil && !seen[st.Outcome.Disposition] {
				errs = append(errs, fmt.Errorf("wrapup: %s: step %q sets disposition %q, which is not configured",
					sc.File(), st.ID, st.Outcome.Disposition))
			}
		}
	}
	return errors.Join(errs...)
}

// Finish is the agent's close of the call.
type Finish struct {
	Disposition string `json:"disposition"`
	// Notes replace the draft's notes; nil keeps them.
	Notes  *string    `json:"notes"`
	Tasks  []FollowUp `json:"tasks"`
	Status crm.Status `json:"status,omitempty"`
}

// FollowUp is a task or a scheduled callback agreed on the call.
type FollowUp struct {
	Title    string    `json:"title"`
	DueAt    time.Time `json:"due_at"`
	Assignee string    `json:"assignee"`
}

// Finish closes the wrap-up: the disposition must be a configured one and
// a script run must have reached its outcome (whose contact status applies
// unless f names another). Then the agent is available again.
func (s *Service) Finish(ctx context.Context, a Agent, callID string, f Finish) (*Done, error) {
	defer s.lock(callID)()
	w, err := s.openDraft(ctx, a, callID)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(s.o.Dispositions, func(d Disposition) bool { return d.Code == f.Disposition }) {
		return nil, &crm.FieldError{Field: "disposition", Reason: fmt.Sprintf("%q is not one of the configured dispositions", f.Disposition)}
	}
	run, err := s.run(ctx, a, w)
	if err != nil {
		return nil, err
	}
	if run != nil {
		if !run.Ended() {
			return nil, &crm.FieldError{Field: "step", Reason: fmt.Sprintf("the script is at %q: finish it first", run.Current().ID)}
		}
		if f.Status == "" {
			f.Status = crm.Status(run.Outcome().Status)
		}
		// Only the answers on the way taken are kept.
		answers, err := json.Marshal(run.Answers())
		if err != nil {
			return nil, fmt.Errorf("wrapup: call %s answers: %w", callID, err)
		}
		w.Answers, w.Score = answers, run.Score()
	}
	w.Disposition, w.Status = f.Disposition, f.Status
	if f.Notes != nil {
		w.Notes = *f.Notes
	}
	w.Notes = strings.TrimSpace(w.Notes)
	w.Tasks = nil
	for _, t := range f.Tasks {
		if t.Assignee == "" {
			t.Assignee = w.Agent
		}
		if t.Assignee != w.Agent && s.o.Users != nil && !s.o.Users.Enabled(ctx, t.Assignee) {
			return nil, &crm.FieldError{Field: "tasks", Reason: fmt.Sprintf("no user %q to assign a follow-up to", t.Assignee)}
		}
		w.Tasks = append(w.Tasks, crm.Task{Title: strings.TrimSpace(t.Title), DueAt: t.DueAt.UTC(), Assignee: t.Assignee})
	}
	w.DoneAt = s.now().UTC()
	if err := w.Validate(); err != nil {
		return nil, err
	}
	if err := s.o.Store.FinishWrapUp(ctx, w); err != nil {
		if s.o.Outbox != nil && outage(ctx, s.o.Store, err) {
			return s.keepFinish(ctx, w, err)
		}
		// The copy may be stale, or now half-changed: read afresh next
		// time, unless it holds answers only this node has.
		s.forgetClean(callID)
		return nil, err
	}
	s.forget(callID)
	s.fieldsMu.Lock()
	for k := range s.fields {
		if k.call == callID {
			delete(s.fields, k)
		}
	}
	s.fieldsMu.Unlock()
	s.log.InfoContext(ctx, "wrap-up finished", "call", callID, "agent", w.Agent, "disposition", w.Disposition,
		"score", w.Score, "tasks", len(w.Tasks))
	s.release(ctx, w.Agent)
	s.finished(ctx, w)
	return &Done{WrapUp: w}, nil
}

// finished tells the notifier of a wrap-up now stored.
func (s *Service) finished(ctx context.Context, w *crm.WrapUp) {
	if s.o.Notify != nil {
		s.o.Notify.Finished(ctx, w)
	}
}

// DefaultDispositions are the codes used when none are configured: those
// the shipped scripts set, and the usual others.
func DefaultDispositions() []Disposition {
	d := func(code, en, fa string) Disposition {
		return Disposition{Code: code, Labels: map[string]string{"en": en, "fa": fa}}
	}
	return []Disposition{
		d("qualified", "Qualified", "واجد شرایط"),
		d("sale", "Sale", "فروش"),
		d("callback", "Call back", "تماس مجدد"),
		d("not-ready", "Not ready yet", "هنوز آماده نیست"),
		d("not-interested", "Not interested", "علاقه‌مند نیست"),
		d("info-given", "Information given", "اطلاعات داده شد"),
		d("solved", "Solved", "حل شد"),
		d("ticket-opened", "Ticket opened", "درخواست ثبت شد"),
		d("escalated", "Escalated", "ارجاع شد"),
		d("satisfied", "Satisfied", "راضی"),
		d("unhappy", "Unhappy", "ناراضی"),
		d("wrong-number", "Wrong number", "شماره اشتباه"),
	}
}

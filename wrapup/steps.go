package wrapup

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/script"
)

// run rebuilds the script run of a wrap-up; nil when it has no script.
func (s *Service) run(ctx context.Context, a Agent, w *crm.WrapUp) (*script.Run, error) {
	if w.Script == "" || s.o.Scripts == nil {
		return nil, nil
	}
	sc, ok := s.o.Scripts.Get(w.Script, w.Lang)
	if !ok {
		return nil, fmt.Errorf("wrapup: script %q (%s) is no longer loaded", w.Script, w.Lang)
	}
	answers := map[string]script.Value{}
	if len(w.Answers) > 0 {
		if err := json.Unmarshal(w.Answers, &answers); err != nil {
			return nil, fmt.Errorf("wrapup: call %s answers: %w", w.CallID, err)
		}
	}
	sctx := s.callFields(ctx, a, w)
	sctx.Answers = answers
	return sc.Resume(sctx, w.Path), nil
}

// callFields returns the call's script fields, cached per call and contact.
func (s *Service) callFields(ctx context.Context, a Agent, w *crm.WrapUp) script.Context {
	k := fieldsKey{w.CallID, w.ContactID, a.Username}
	s.fieldsMu.Lock()
	c, ok := s.fields[k]
	s.fieldsMu.Unlock()
	if ok {
		return c
	}
	c = s.readFields(ctx, a, w.ContactID, w.Line)
	s.fieldsMu.Lock()
	if len(s.fields) >= maxCachedFields {
		clear(s.fields)
	}
	s.fields[k] = c
	s.fieldsMu.Unlock()
	return c
}

// readFields are the CRM values a script shows and branches on. A
// database error leaves them empty: the script still runs.
func (s *Service) readFields(ctx context.Context, a Agent, contactID int64, line string) script.Context {
	f := map[string]string{"agent.name": a.Name, "line": line}
	if f["agent.name"] == "" {
		f["agent.name"] = a.Username
	}
	out := script.Context{Fields: f}
	if contactID <= 0 || s.o.Contacts == nil {
		return out
	}
	c, err := s.o.Contacts.GetContact(ctx, contactID)
	if err != nil {
		s.log.WarnContext(ctx, "wrap-up: contact unavailable for the script", "contact", contactID, "err", err)
		return out
	}
	f["customer.first_name"], f["customer.last_name"] = c.FirstName, c.LastName
	f["customer.name"], f["customer.status"] = c.DisplayName(), string(c.Status)
	if len(c.Organizations) > 0 {
		f["customer.organization"] = c.Organizations[0].Name
	}
	var custom struct {
		Segment any `json:"segment"`
	}
	if json.Unmarshal(c.Custom, &custom) == nil && custom.Segment != nil {
		f["customer.segment"] = fmt.Sprint(custom.Segment)
	}
	out.Tags = c.Tags
	f["customer.tags"] = strings.Join(c.Tags, ", ")
	if ld, ok := s.o.History.(crm.LastDispositioner); ok {
		if d, err := ld.LastDisposition(ctx, contactID); err == nil {
			f["customer.last_disposition"] = d
		}
	} else if s.o.History != nil {
		if acts, err := s.o.History.RecentActivities(ctx, contactID, crm.DefaultRecords); err == nil {
			for _, act := range acts {
				if act.Kind == crm.ActivityCall && act.Disposition != "" {
					f["customer.last_disposition"] = act.Disposition
					break
				}
			}
		}
	}
	return out
}

func (s *Service) keepRun(w *crm.WrapUp, run *script.Run) error {
	if run == nil {
		return nil
	}
	answers, err := json.Marshal(run.Ctx.Answers)
	if err != nil {
		return fmt.Errorf("wrapup: call %s answers: %w", w.CallID, err)
	}
	w.Path = slices.Clone(run.Path)
	w.Step = w.Path[len(w.Path)-1]
	w.Answers = answers
	w.Score = run.Score()
	return nil
}

// Move is one step of the agent through the script.
type Move struct {
	// From is the step the console is on; a move from any other step is
	// refused, so a double click cannot skip a step.
	From string `json:"from"`
	// Answer, when set, is recorded for From before moving.
	Answer []string `json:"answer,omitempty"`
	// Go is "stay" (only record the answer), "next" or "back".
	Go string `json:"go"`
}

// Step records an answer and moves through the script; the draft is
// saved before it returns. A refused answer changes nothing.
func (s *Service) Step(ctx context.Context, a Agent, callID string, m Move) (*State, error) {
	defer s.lock(callID)()
	w, err := s.openDraft(ctx, a, callID)
	if err != nil {
		return nil, err
	}
	run, err := s.run(ctx, a, w)
	if err != nil {
		return nil, err
	}
	if run == nil {
		return nil, &crm.FieldError{Field: "step", Reason: "this call has no script"}
	}
	if m.From != run.Current().ID {
		return nil, fmt.Errorf("call %s is on step %q, not %q: %w", callID, run.Current().ID, m.From, crm.ErrConflict)
	}
	if m.Answer != nil {
		if err := run.Answer(m.From, m.Answer); err != nil {
			return nil, &crm.FieldError{Field: "answer", Reason: strings.TrimPrefix(err.Error(), script.ErrAnswer.Error()+": ")}
		}
	}
	switch m.Go {
	case "next":
		err = run.Forward()
	case "back":
		err = run.Back()
	case "stay", "":
	default:
		return nil, &crm.FieldError{Field: "go", Reason: "must be stay, next or back"}
	}
	if err != nil {
		return nil, &crm.FieldError{Field: "step", Reason: strings.TrimPrefix(err.Error(), script.ErrAnswer.Error()+": ")}
	}
	if err := s.keepRun(w, run); err != nil {
		return nil, err
	}
	if err := s.save(ctx, w); err != nil {
		return nil, err
	}
	return s.state(ctx, a, w, run, w.Queue), nil
}

// Notes saves the agent's notes as they type.
func (s *Service) Notes(ctx context.Context, a Agent, callID, notes string) error {
	defer s.lock(callID)()
	w, err := s.openDraft(ctx, a, callID)
	if err != nil {
		return err
	}
	w.Notes = notes
	return s.save(ctx, w)
}

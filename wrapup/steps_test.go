package wrapup_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/wrapup"
)

func TestWalkAndFinish(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	st, err := f.svc.Open(ctx, sara, wrapup.Call{ID: "call-1", ContactID: f.contact.ID, Script: "inbound-sales",
		Queue: "sales", StartedAt: time.Now().Add(-time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if st.Run == nil || st.Run.Steps[0].ID != "greet" || !strings.Contains(st.Run.Steps[0].Text, "this is Sara") ||
		len(st.Dispositions) != len(dispositions) || st.WrapUpSeconds != 3600 {
		t.Fatalf("opened = %+v", st)
	}
	// Another agent may not touch it; a supervisor may.
	if _, err := f.svc.Step(ctx, wrapup.Agent{Username: "nima"}, "call-1", wrapup.Move{From: "greet", Go: "next"}); !errors.Is(err, wrapup.ErrForbidden) {
		t.Fatalf("another agent: %v", err)
	}
	if _, err := f.svc.Open(ctx, wrapup.Agent{Username: "boss", Supervisor: true}, wrapup.Call{ID: "call-1"}); err != nil {
		t.Fatalf("a supervisor: %v", err)
	}
	step(t, f, "greet", nil, "next")
	// A double click: the second "next from greet" is refused.
	if _, err := f.svc.Step(ctx, sara, "call-1", wrapup.Move{From: "greet", Go: "next"}); !errors.Is(err, crm.ErrConflict) {
		t.Fatalf("a stale move: %v", err)
	}
	var fe *crm.FieldError
	if _, err := f.svc.Step(ctx, sara, "call-1", wrapup.Move{From: "need", Go: "next"}); !errors.As(err, &fe) || fe.Field != "step" {
		t.Fatalf("a required question skipped: %v", err)
	}
	step(t, f, "need", []string{"a fleet plan"}, "stay") // autosave as typed
	// The console reloads: a new service on the same database resumes.
	again, err := wrapup.New(f.opts)
	if err != nil {
		t.Fatal(err)
	}
	st, err = again.Open(ctx, sara, wrapup.Call{ID: "call-1"})
	if err != nil || st.Run.Steps[len(st.Run.Steps)-1].ID != "need" || st.Run.Answers["need"].Text != "a fleet plan" {
		t.Fatalf("resumed = %+v (%v)", st.Run, err)
	}
	step(t, f, "need", nil, "next")
	if _, err := f.svc.Step(ctx, sara, "call-1", wrapup.Move{From: "need-size", Answer: []string{"lots"}, Go: "next"}); !errors.As(err, &fe) || fe.Field != "answer" {
		t.Fatalf("a word for a number: %v", err)
	}
	if w, _ := f.store.WrapUp(ctx, "call-1"); w.Step != "need-size" || strings.Contains(string(w.Answers), "lots") {
		t.Fatalf("a refused answer changed the draft: %+v", w)
	}
	if _, err := f.svc.Finish(ctx, sara, "call-1", wrapup.Finish{Disposition: "qualified"}); !errors.As(err, &fe) || fe.Field != "step" {
		t.Fatalf("finish before the outcome: %v", err)
	}
	step(t, f, "need-size", []string{"12"}, "next")
	step(t, f, "authority", []string{"caller"}, "next")
	step(t, f, "budget", []string{"yes"}, "next")
	step(t, f, "timeline", []string{"this-month"}, "next")
	st = step(t, f, "close", nil, "next")
	if !st.Run.Ended || st.Run.Score != 75 || st.WrapUp.Score != 75 {
		t.Fatalf("end = ended %v score %d", st.Run.Ended, st.Run.Score)
	}
	if _, err := f.svc.Finish(ctx, sara, "call-1", wrapup.Finish{Disposition: "sold-a-car"}); !errors.As(err, &fe) || fe.Field != "disposition" {
		t.Fatalf("a disposition not configured: %v", err)
	}
	f.states.set(ctx, "sara", "wrapup")
	due := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Millisecond)
	checked := f.opts
	checked.Users = users{"sara", "nima"}
	strict, _ := wrapup.New(checked)
	if _, err := strict.Finish(ctx, sara, "call-1", wrapup.Finish{Disposition: "qualified",
		Tasks: []wrapup.FollowUp{{Title: "x", DueAt: due, Assignee: "nmia"}}}); !errors.As(err, &fe) || fe.Field != "tasks" {
		t.Fatalf("a follow-up for a user who does not exist: %v", err)
	}
	done, err := f.svc.Finish(ctx, sara, "call-1", wrapup.Finish{Disposition: "qualified", Notes: ptr(" wants 12 lines "),
		Tasks: []wrapup.FollowUp{{Title: "Send the proposal", DueAt: due}}})
	if err != nil || done.Pending {
		t.Fatal(err, done)
	}
	w := done.WrapUp
	if w.Status != crm.StatusQualified || w.Notes != "wants 12 lines" || len(w.Tasks) != 1 || w.Tasks[0].Assignee != "sara" {
		t.Fatalf("finished = %+v", w)
	}
	if got := <-f.finished; got.CallID != "call-1" {
		t.Fatalf("finished hook got %+v", got)
	}
	if f.states.get("sara") != "available" {
		t.Fatalf("after finishing the agent is %q", f.states.get("sara"))
	}
	a, err := f.store.CallActivity(ctx, "call-1")
	if err != nil || a.Disposition != "qualified" || a.WrapUp == nil || a.WrapUp.Score != 75 || a.ContactID != f.contact.ID {
		t.Fatalf("activity = %+v (%v)", a, err)
	}
	if c, _ := f.store.GetContact(ctx, f.contact.ID); c.Status != crm.StatusQualified {
		t.Fatalf("contact status = %s", c.Status)
	}
	if _, err := f.svc.Finish(ctx, sara, "call-1", wrapup.Finish{Disposition: "qualified"}); !errors.Is(err, crm.ErrConflict) {
		t.Fatalf("a second finish: %v", err)
	}
	if _, err := f.svc.Step(ctx, sara, "call-1", wrapup.Move{From: "qualified", Go: "back"}); !errors.Is(err, crm.ErrConflict) {
		t.Fatalf("a move after finishing: %v", err)
	}
}

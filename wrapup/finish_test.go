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

func TestNoScript(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.svc.Open(ctx, sara, wrapup.Call{ID: "c2", Script: "no-such"}); err == nil {
		t.Fatal("an unknown script was opened")
	}
	st, err := f.svc.Open(ctx, sara, wrapup.Call{ID: "c2"})
	if err != nil || st.Run != nil {
		t.Fatalf("no script: %+v (%v)", st, err)
	}
	if err := f.svc.Notes(ctx, sara, "c2", "asked about prices"); err != nil {
		t.Fatal(err)
	}
	// A follow-up needs a contact: the unknown caller has none yet.
	var fe *crm.FieldError
	_, err = f.svc.Finish(ctx, sara, "c2", wrapup.Finish{Disposition: "callback",
		Tasks: []wrapup.FollowUp{{Title: "call back", DueAt: time.Now().Add(time.Hour)}}})
	if !errors.As(err, &fe) {
		t.Fatalf("a follow-up with no contact: %v", err)
	}
	if _, err := f.store.CallActivity(ctx, "c2"); !errors.Is(err, crm.ErrNotFound) {
		t.Fatalf("a refused finish wrote the activity: %v", err)
	}
	// The agent creates the lead, reopens with it, and finishes.
	if _, err := f.svc.Open(ctx, sara, wrapup.Call{ID: "c2", ContactID: f.contact.ID}); err != nil {
		t.Fatal(err)
	}
	done, err := f.svc.Finish(ctx, sara, "c2", wrapup.Finish{Disposition: "callback",
		Tasks: []wrapup.FollowUp{{Title: "call back", DueAt: time.Now().Add(time.Hour)}}})
	if err != nil || done.WrapUp.Notes != "asked about prices" || len(done.WrapUp.Tasks) != 1 {
		t.Fatalf("finish = %+v (%v)", done, err)
	}
}

func TestUnconfiguredDisposition(t *testing.T) {
	f := newFixture(t)
	o := f.opts
	o.Dispositions = []wrapup.Disposition{{Code: "qualified"}}
	if _, err := wrapup.New(o); err == nil || !strings.Contains(err.Error(), "not configured") {
		t.Fatalf("scripts whose outcomes are not configured: %v", err)
	}
}

package wrapup_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/wrapup"
)

// Two nodes (or a node and a stale tab) on one call: a move from a copy
// another has overtaken is refused, and goes through once reopened.
func TestTwoNodesOneCall(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	other, err := wrapup.New(f.opts)
	if err != nil {
		t.Fatal(err)
	}
	call := wrapup.Call{ID: "c3", ContactID: f.contact.ID, Script: "inbound-sales"}
	if _, err := f.svc.Open(ctx, sara, call); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Open(ctx, sara, wrapup.Call{ID: "c3"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Step(ctx, sara, "c3", wrapup.Move{From: "greet", Go: "next"}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Step(ctx, sara, "c3", wrapup.Move{From: "greet", Go: "next"}); !errors.Is(err, crm.ErrConflict) {
		t.Fatalf("a move from an overtaken copy: %v", err)
	}
	st, err := other.Open(ctx, sara, wrapup.Call{ID: "c3"})
	if err != nil || st.Run.Steps[len(st.Run.Steps)-1].ID != "need" {
		t.Fatalf("reopened on the other node: %+v (%v)", st, err)
	}
	if _, err := other.Step(ctx, sara, "c3", wrapup.Move{From: "need", Answer: []string{"x"}, Go: "stay"}); err != nil {
		t.Fatalf("after reopening: %v", err)
	}
	// The first node's copy is now the stale one; its answer is refused,
	// and the stored answer is the other node's.
	if _, err := f.svc.Step(ctx, sara, "c3", wrapup.Move{From: "need", Answer: []string{"y"}, Go: "stay"}); !errors.Is(err, crm.ErrConflict) {
		t.Fatalf("the first node's stale copy: %v", err)
	}
	if w, _ := f.store.WrapUp(ctx, "c3"); !strings.Contains(string(w.Answers), `"x"`) {
		t.Fatalf("stored answers = %s", w.Answers)
	}
}

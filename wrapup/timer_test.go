package wrapup_test

import (
	"context"
	"testing"
	"time"
)

func TestWrapUpTimer(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.states.set(ctx, "sara", "available")
	f.svc.CallEnded(ctx, "sara", "fast")
	if got := f.states.get("sara"); got != "wrapup" {
		t.Fatalf("after the call: %q", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for f.states.get("sara") != "available" {
		if time.Now().After(deadline) {
			t.Fatal("the agent never became available again")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// An agent who went on break is left there.
	f.states.set(ctx, "nima", "break")
	f.svc.CallEnded(ctx, "nima", "fast")
	if got := f.states.get("nima"); got != "break" {
		t.Fatalf("an agent on break became %q", got)
	}
}

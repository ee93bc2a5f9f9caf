package screenpop_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/screenpop"
	"github.com/tamas-cc/tamas/screenpop/membus"
)

func TestCallIndex(t *testing.T) {
	ctx := context.Background()
	bus := membus.New(screenpop.Retention{})
	defer bus.Close()
	ix, err := screenpop.WatchCalls(ctx, bus)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	publish := func(p screenpop.Pop) {
		data, _ := json.Marshal(screenpop.Envelope{Kind: "pop", Pop: &p})
		if _, err := bus.Publish(ctx, screenpop.SupervisorChannel, data); err != nil {
			t.Fatal(err)
		}
	}
	publish(screenpop.Pop{ID: "c1", Version: 1, Agents: []string{"ali", "sara"}})
	publish(screenpop.Pop{ID: "c2", Version: 1, Agents: []string{"ali"}})
	publish(screenpop.Pop{ID: "c2", Version: 2, Agents: []string{"ali", "nima"}, AnsweredBy: "nima"})
	bus.Publish(ctx, screenpop.SupervisorChannel, []byte(`{"kind":"agent_state","agent":{"username":"x"}}`))
	bus.Publish(ctx, screenpop.SupervisorChannel, []byte(`not json`))
	want := []struct {
		call, user     string
		known, allowed bool
	}{
		{"c1", "ali", true, true}, {"c1", "sara", true, true}, {"c1", "nima", true, false},
		{"c2", "nima", true, true}, {"c2", "ali", true, false}, // answered by nima: only nima
		{"c3", "ali", false, false},
	}
	// A node started later knows the calls already popped.
	late, err := screenpop.WatchCalls(ctx, bus)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	if known, ok := late.Allowed("c2", "nima"); !known || !ok {
		t.Fatalf("a node started later: known %v allowed %v", known, ok)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, w := range want {
		for {
			known, allowed := ix.Allowed(w.call, w.user)
			if known == w.known && allowed == w.allowed {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s/%s: known %v allowed %v, want %v %v", w.call, w.user, known, allowed, w.known, w.allowed)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

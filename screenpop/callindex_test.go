package screenpop_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/screenpop"
	"github.com/tamas-cc/tamas/screenpop/membus"
	"github.com/tamas-cc/tamas/telephony"
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

// heldBus holds its live feed back until released: a node whose copy of
// the supervisors' channel trails the agents' consoles.
type heldBus struct {
	screenpop.Bus
	open chan struct{}
}

func (b *heldBus) Subscribe(ctx context.Context, ch string, fn func(screenpop.Message)) (func(), error) {
	return b.Bus.Subscribe(ctx, ch, func(m screenpop.Message) {
		<-b.open
		fn(m)
	})
}

func newHeldIndex(t *testing.T) (*heldBus, *screenpop.CallIndex) {
	t.Helper()
	inner := membus.New(screenpop.Retention{})
	b := &heldBus{Bus: inner, open: make(chan struct{})}
	ix, err := screenpop.WatchCalls(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		select {
		case <-b.open:
		default:
			close(b.open)
		}
		ix.Close()
		inner.Close()
	})
	return b, ix
}

func publishPop(t *testing.T, bus screenpop.Bus, p screenpop.Pop) {
	t.Helper()
	data, _ := json.Marshal(screenpop.Envelope{Kind: "pop", Pop: &p})
	if _, err := bus.Publish(context.Background(), screenpop.SupervisorChannel, data); err != nil {
		t.Fatal(err)
	}
}

// While the index trails the channel, Had waits for it, and answers as
// soon as the index learns the call.
func TestCallIndexHadWaitsForTheCall(t *testing.T) {
	bus, ix := newHeldIndex(t)
	publishPop(t, bus, screenpop.Pop{ID: "c1", Version: 1, Agents: []string{"sara"}})
	if known, _ := ix.Allowed("c1", "sara"); known {
		t.Fatal("the held index knows the call already")
	}
	type answer struct {
		known, had bool
		at         time.Time
	}
	got := make(chan answer, 1)
	start := time.Now()
	go func() {
		known, had := ix.Had(context.Background(), "c1", "sara")
		got <- answer{known, had, time.Now()}
	}()
	time.Sleep(150 * time.Millisecond)
	released := time.Now()
	close(bus.open)
	a := <-got
	if !a.known || !a.had {
		t.Fatalf("after the index learned the call: known %v had %v", a.known, a.had)
	}
	if a.at.Before(released) {
		t.Fatalf("Had answered after %v, before the index could know", a.at.Sub(start))
	}
	if lag := a.at.Sub(released); lag > 200*time.Millisecond {
		t.Fatalf("Had answered %v after the index learned the call", lag)
	}
}

// While the index trails, Had gives up at ctx's deadline, and at a second
// at the most.
func TestCallIndexHadGivesUp(t *testing.T) {
	bus, ix := newHeldIndex(t)
	publishPop(t, bus, screenpop.Pop{ID: "c1", Version: 1, Agents: []string{"sara"}})
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	known, had := ix.Had(ctx, "c1", "sara")
	if took := time.Since(start); known || had || took < 150*time.Millisecond || took > 700*time.Millisecond {
		t.Fatalf("with a 150ms deadline: known %v had %v after %v", known, had, took)
	}
	start = time.Now()
	known, had = ix.Had(context.Background(), "c1", "sara")
	if took := time.Since(start); known || had || took < time.Second || took > 1700*time.Millisecond {
		t.Fatalf("with no deadline: known %v had %v after %v", known, had, took)
	}
}

// An index caught up with its channel answers at once: a call it has
// never heard of, or one the agent did not have, it will not learn of
// later.
func TestCallIndexHadCaughtUp(t *testing.T) {
	ctx := context.Background()
	bus := membus.New(screenpop.Retention{})
	defer bus.Close()
	ix, err := screenpop.WatchCalls(ctx, bus)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	start := time.Now()
	if known, had := ix.Had(ctx, "c0", "sara"); known || had || time.Since(start) > 200*time.Millisecond {
		t.Fatalf("an empty channel: known %v had %v after %v", known, had, time.Since(start))
	}
	publishPop(t, bus, screenpop.Pop{ID: "c1", Version: 1, Agents: []string{"sara"}})
	bus.Publish(ctx, screenpop.SupervisorChannel, []byte(`{"kind":"agent_state","agent":{"username":"x"}}`))
	// Had waits for the index to apply the channel as it stood.
	if known, had := ix.Had(ctx, "c1", "sara"); !known || !had {
		t.Fatalf("the agent's call: known %v had %v", known, had)
	}
	for _, q := range []struct {
		call, user string
		known      bool
	}{{"never", "sara", false}, {"c1", "nima", true}} {
		start := time.Now()
		known, had := ix.Had(ctx, q.call, q.user)
		if took := time.Since(start); known != q.known || had || took > 200*time.Millisecond {
			t.Fatalf("%s/%s: known %v had %v after %v", q.call, q.user, known, had, took)
		}
	}
}

// order records the channels a pop is published on, in order.
type order struct {
	screenpop.Publisher
	mu  sync.Mutex
	chs []string
}

func (o *order) Publish(ctx context.Context, ch string, data []byte) (screenpop.Message, error) {
	o.mu.Lock()
	o.chs = append(o.chs, ch)
	o.mu.Unlock()
	return o.Publisher.Publish(ctx, ch, data)
}

// Each version of a pop reaches the supervisors' channel, which the index
// follows, before its agents: what Had's rule rests on.
func TestPopGoesToSupervisorsFirst(t *testing.T) {
	rec := &order{}
	routes := &screenpop.Routes{Lines: []screenpop.LineRoute{{Line: "sales", Agents: []string{"ali", "sara"}}}}
	e := newEnv(t, routes, func(o *screenpop.Options) { rec.Publisher = o.Publisher; o.Publisher = rec })
	e.svc.Handle(context.Background(), ev(telephony.CallStarted, call("c1", "09121234567", ""), nil))
	e.svc.Wait()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.chs) != 3 || rec.chs[0] != screenpop.SupervisorChannel {
		t.Fatalf("published on %v", rec.chs)
	}
}

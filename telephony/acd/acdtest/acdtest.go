// Package acdtest is the conformance suite every acd.Store passes, so the
// in-memory and Redis stores behave alike, with the multi-node race test
// and the routing benchmark that run on both.
package acdtest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/telephony/acd"
)

// NewStore returns a fresh, empty store for one test.
type NewStore func(t *testing.T) acd.Store

// Run runs the suite against stores made by newStore.
func Run(t *testing.T, newStore NewStore) {
	s := suite{newStore: newStore}
	for _, tc := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"Login", s.login},
		{"AgentStates", s.agentStates},
		{"EnqueueOrder", s.enqueueOrder},
		{"Snapshot", s.snapshot},
		{"Claim", s.claim},
		{"AnswerFinish", s.answerFinish},
		{"WrapUpBlocksOffers", s.wrapUp},
		{"DeclineKeepsPlace", s.declineKeepsPlace},
		{"MissesToBreak", s.missesToBreak},
		{"FailedMarksUnreachable", s.failed},
		{"RingAll", s.ringAll},
		{"RingAllAllDecline", s.ringAllDecline},
		{"HangUpWhileRinging", s.hangUpWhileRinging},
		{"BusyAgentTransitions", s.busyTransitions},
		{"ConcurrentClaims", s.concurrentClaims},
		{"Revisions", s.revisions},
	} {
		t.Run(tc.name, tc.fn)
	}
}

type suite struct{ newStore NewStore }

var bg = context.Background()

// must(call)(t) fails t if call failed, else gives its value.
func must[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

// recent checks a store time against this machine's clock: the Redis
// store reads the server's clock, on the same host in tests.
func recent(t *testing.T, what string, ts time.Time) {
	t.Helper()
	if d := time.Since(ts); ts.IsZero() || d < -2*time.Second || d > 10*time.Second {
		t.Fatalf("%s is %v, now is %v", what, ts, time.Now())
	}
}

func login(t *testing.T, s acd.Store, user string, skills map[string]int) acd.Agent {
	t.Helper()
	return must(s.Login(bg, acd.AgentLogin{Username: user, Endpoint: "PJSIP/" + user, Reachable: true, Skills: skills}))(t)
}

func enqueue(t *testing.T, s acd.Store, queue, id string, ahead time.Duration) acd.Caller {
	t.Helper()
	return must(s.Enqueue(bg, acd.Entry{ID: id, Queue: queue, Node: "node-a", Ahead: ahead}))(t)
}

func claim(t *testing.T, s acd.Store, queue, id string, agents ...string) acd.Offer {
	t.Helper()
	return must(s.Claim(bg, acd.Claim{Queue: queue, Caller: id, Agents: agents, Node: "node-b"}))(t)
}

func state(t *testing.T, s acd.Store, user string) acd.Agent {
	t.Helper()
	return must(s.Agent(bg, user))(t)
}

func ids(cs []acd.Caller) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func names(as []acd.Agent) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Username
	}
	return out
}

func order(t *testing.T, s acd.Store, queue string, want ...string) []acd.Caller {
	t.Helper()
	cs := must(s.Callers(bg, queue))(t)
	if got := ids(cs); !slices.Equal(got, want) {
		t.Fatalf("queue %s holds %v, want %v", queue, got, want)
	}
	for i, c := range cs {
		if c.Position != i+1 || c.Queue != queue {
			t.Fatalf("caller %d of %s: %+v", i, queue, c)
		}
	}
	return cs
}

func (s suite) login(t *testing.T) {
	st := s.newStore(t)
	a := must(st.Login(bg, acd.AgentLogin{Username: "ada", Endpoint: "PJSIP/1000", Reachable: true,
		Skills: map[string]int{"sales": 7, "billing": 2}}))(t)
	if a.Username != "ada" || a.State != acd.Available || a.Endpoint != "PJSIP/1000" || !a.Reachable ||
		a.Calls != 0 || a.Misses != 0 || a.Reason != "" || !a.LastCallEnd.IsZero() || a.Skills["sales"] != 7 || a.Skills["billing"] != 2 || len(a.Skills) != 2 {
		t.Fatalf("logged in: %+v", a)
	}
	recent(t, "since", a.Since)
	if !a.LoggedIn.Equal(a.Since) || !a.IdleSince().Equal(a.LoggedIn) {
		t.Fatalf("login at %v, since %v, idle since %v", a.LoggedIn, a.Since, a.IdleSince())
	}
	b := must(st.Login(bg, acd.AgentLogin{Username: "bob", Endpoint: "PJSIP/1001", State: acd.Break, Reason: "lunch"}))(t)
	if b.State != acd.Break || b.Reason != "lunch" || b.Reachable || len(b.Skills) != 0 {
		t.Fatalf("logged in on break: %+v", b)
	}

	// Logging in again replaces the device and skills and keeps the rest.
	must(st.SetState(bg, "ada", acd.Break, "coffee"))(t)
	a2 := must(st.Login(bg, acd.AgentLogin{Username: "ada", Endpoint: "PJSIP/2000", Skills: map[string]int{"support": 3}}))(t)
	if a2.State != acd.Break || a2.Reason != "coffee" || a2.Endpoint != "PJSIP/2000" || a2.Reachable ||
		!slices.Equal(slices.Sorted(maps.Keys(a2.Skills)), []string{"support"}) || !a2.LoggedIn.Equal(a.LoggedIn) {
		t.Fatalf("logged in again: %+v", a2)
	}
	if got := names(must(st.Agents(bg))(t)); !slices.Equal(got, []string{"ada", "bob"}) {
		t.Fatalf("agents %v", got)
	}
	if _, err := st.Login(bg, acd.AgentLogin{Username: "a b", Endpoint: "x"}); err == nil {
		t.Fatal("a username with a space was accepted")
	}
	if _, err := st.Login(bg, acd.AgentLogin{Username: "carl", Endpoint: "x", Skills: map[string]int{"sales": 0}}); err == nil {
		t.Fatal("skill level 0 was accepted")
	}
	if _, err := st.Login(bg, acd.AgentLogin{Username: "carl", Endpoint: "PJSIP/1\x1f"}); err == nil {
		t.Fatal("an endpoint with a control character was accepted")
	}
	if _, err := st.SetState(bg, "ada", acd.Break, "two\nlines"); err == nil {
		t.Fatal("a break reason with a newline was accepted")
	}
	if _, err := st.Login(bg, acd.AgentLogin{Username: "carl", Endpoint: "x", State: acd.OnCall}); !errors.Is(err, acd.ErrTransition) {
		t.Fatalf("logging in on a call: %v", err)
	}
	_, err := st.Agent(bg, "carl")
	wantErr(t, "unknown agent", err, acd.ErrNotFound)
}

func (s suite) agentStates(t *testing.T) {
	st := s.newStore(t)
	a := login(t, st, "ada", nil)
	time.Sleep(5 * time.Millisecond)
	b := must(st.SetState(bg, "ada", acd.Break, "training"))(t)
	if b.State != acd.Break || b.Reason != "training" || !b.Since.After(a.Since) {
		t.Fatalf("on break: %+v after %+v", b, a)
	}
	if same := must(st.SetState(bg, "ada", acd.Break, "training"))(t); !same.Since.Equal(b.Since) {
		t.Fatalf("the same state again moved since from %v to %v", b.Since, same.Since)
	}
	if other := must(st.SetState(bg, "ada", acd.Break, "meeting"))(t); other.Reason != "meeting" {
		t.Fatalf("a new break reason: %+v", other)
	}
	av := must(st.SetState(bg, "ada", acd.Available, "ignored"))(t)
	if av.State != acd.Available || av.Reason != "" {
		t.Fatalf("back: %+v", av)
	}
	for _, to := range []acd.AgentState{acd.Ringing, acd.OnCall, acd.WrapUp, acd.LoggedOut} {
		_, err := st.SetState(bg, "ada", to, "")
		wantErr(t, "choosing "+string(to), err, acd.ErrTransition)
	}
	_, err := st.SetState(bg, "nobody", acd.Break, "")
	wantErr(t, "unknown agent's state", err, acd.ErrNotFound)

	r := must(st.SetReachable(bg, "ada", false))(t)
	if r.Reachable || r.State != acd.Available {
		t.Fatalf("unregistered: %+v", r)
	}
	if r = must(st.SetReachable(bg, "ada", true))(t); !r.Reachable {
		t.Fatalf("registered: %+v", r)
	}
	_, err = st.SetReachable(bg, "nobody", true)
	wantErr(t, "unknown agent's endpoint", err, acd.ErrNotFound)

	out := must(st.Logout(bg, "ada"))(t)
	if out.State != acd.LoggedOut || out.Username != "ada" {
		t.Fatalf("logged out: %+v", out)
	}
	_, err = st.Agent(bg, "ada")
	wantErr(t, "logged-out agent", err, acd.ErrNotFound)
	_, err = st.Logout(bg, "ada")
	wantErr(t, "second logout", err, acd.ErrNotFound)
	if got := must(st.Agents(bg))(t); len(got) != 0 {
		t.Fatalf("agents after logout: %v", names(got))
	}
	// A new login starts afresh.
	if a = login(t, st, "ada", nil); a.State != acd.Available || a.Calls != 0 {
		t.Fatalf("logged in again: %+v", a)
	}
}

func (s suite) enqueueOrder(t *testing.T) {
	st := s.newStore(t)
	a := enqueue(t, st, "sales", "a", 0)
	if a.ID != "a" || a.Queue != "sales" || a.State != acd.Waiting || a.Node != "node-a" || a.Position != 1 ||
		a.Attempt != 0 || a.Seq == 0 || a.Wait < 0 || a.Wait > time.Second || len(a.Ringing) != 0 {
		t.Fatalf("enqueued: %+v", a)
	}
	recent(t, "enqueued", a.Enqueued)
	b := enqueue(t, st, "sales", "b", 0)
	c := enqueue(t, st, "sales", "c", 0)
	if b.Position != 2 || c.Position != 3 || !(a.Seq < b.Seq && b.Seq < c.Seq) {
		t.Fatalf("positions %d %d, seqs %d %d %d", b.Position, c.Position, a.Seq, b.Seq, c.Seq)
	}
	// Priority: placed as if they had called an hour ago, FIFO among
	// equals.
	v1 := enqueue(t, st, "sales", "vip1", time.Hour)
	v2 := enqueue(t, st, "sales", "vip2", time.Hour)
	if v1.Position != 1 || v2.Position != 2 || v1.Ahead != time.Hour {
		t.Fatalf("vip positions %d %d, ahead %v", v1.Position, v2.Position, v1.Ahead)
	}
	s1 := enqueue(t, st, "sales", "small", time.Minute)
	if s1.Position != 3 {
		t.Fatalf("a smaller boost is at %d, want 3", s1.Position)
	}
	cs := order(t, st, "sales", "vip1", "vip2", "small", "a", "b", "c")
	for _, c := range cs {
		if c.State != acd.Waiting || c.Wait < 0 || c.Node != "node-a" {
			t.Fatalf("listed: %+v", c)
		}
	}
	enqueue(t, st, "support", "x", 0)
	order(t, st, "support", "x")
	order(t, st, "nowhere")

	_, err := st.Enqueue(bg, acd.Entry{ID: "a", Queue: "support"})
	wantErr(t, "enqueue twice", err, acd.ErrQueued)
	if _, err := st.Enqueue(bg, acd.Entry{ID: "", Queue: "support"}); err == nil {
		t.Fatal("an empty call id was accepted")
	}
	got := must(st.Caller(bg, "b"))(t)
	if got.Position != 5 || got.Seq != b.Seq || !got.Enqueued.Equal(b.Enqueued) {
		t.Fatalf("caller b: %+v", got)
	}
	_, err = st.Caller(bg, "zz")
	wantErr(t, "unknown caller", err, acd.ErrNotFound)

	rm := must(st.Remove(bg, "vip2", acd.Abandoned))(t)
	if rm.Caller.ID != "vip2" || rm.Caller.Position != 2 || len(rm.Released) != 0 || rm.Rev == 0 {
		t.Fatalf("removed: %+v", rm)
	}
	order(t, st, "sales", "vip1", "small", "a", "b", "c")
	_, err = st.Remove(bg, "vip2", acd.Abandoned)
	wantErr(t, "remove twice", err, acd.ErrNotFound)
	// The id is free again once out.
	if again := enqueue(t, st, "sales", "vip2", 0); again.Position != 6 {
		t.Fatalf("enqueued again at %d", again.Position)
	}
}

func (s suite) snapshot(t *testing.T) {
	st := s.newStore(t)
	snap := must(st.Snapshot(bg, "sales"))(t)
	if snap.Head != nil || snap.Waiting != 0 || len(snap.Agents) != 0 || snap.Queue != "sales" {
		t.Fatalf("empty snapshot: %+v", snap)
	}
	recent(t, "snapshot time", snap.Now)
	login(t, st, "cat", map[string]int{"sales": 3})
	login(t, st, "ada", nil)
	login(t, st, "bob", nil)
	login(t, st, "dan", nil)
	must(st.SetState(bg, "bob", acd.Break, "lunch"))(t)
	must(st.SetReachable(bg, "dan", false))(t)
	enqueue(t, st, "sales", "a", 0)
	enqueue(t, st, "sales", "b", 0)
	enqueue(t, st, "other", "z", 0)
	snap = must(st.Snapshot(bg, "sales"))(t)
	if snap.Head == nil || snap.Head.ID != "a" || snap.Head.Position != 1 || snap.Waiting != 2 {
		t.Fatalf("snapshot head %+v, waiting %d", snap.Head, snap.Waiting)
	}
	if got := names(snap.Agents); !slices.Equal(got, []string{"ada", "cat"}) {
		t.Fatalf("offerable agents %v, want ada and cat", got)
	}
	if snap.Agents[1].Skills["sales"] != 3 || snap.Agents[0].Endpoint != "PJSIP/ada" {
		t.Fatalf("agents %+v", snap.Agents)
	}
}

func (s suite) claim(t *testing.T) {
	st := s.newStore(t)
	login(t, st, "ada", nil)
	login(t, st, "bob", nil)
	login(t, st, "cat", nil)
	must(st.SetState(bg, "cat", acd.Break, ""))(t)
	login(t, st, "dan", nil)
	must(st.SetReachable(bg, "dan", false))(t)
	enqueue(t, st, "sales", "a", 0)
	enqueue(t, st, "sales", "b", 0)
	enqueue(t, st, "sales", "c", 0)

	_, err := st.Claim(bg, acd.Claim{Queue: "sales", Caller: "b", Agents: []string{"ada"}})
	wantErr(t, "claiming the second caller", err, acd.ErrNotHead)
	_, err = st.Claim(bg, acd.Claim{Queue: "sales", Caller: "zz", Agents: []string{"ada"}})
	wantErr(t, "claiming an unknown caller", err, acd.ErrNotFound)
	_, err = st.Claim(bg, acd.Claim{Queue: "other", Caller: "a", Agents: []string{"ada"}})
	wantErr(t, "claiming in the wrong queue", err, acd.ErrNotFound)
	for _, who := range [][]string{{"cat"}, {"dan"}, {"nobody"}, nil} {
		_, err = st.Claim(bg, acd.Claim{Queue: "sales", Caller: "a", Agents: who})
		wantErr(t, fmt.Sprintf("claiming %v", who), err, acd.ErrAgentsBusy)
	}
	if a := state(t, st, "cat"); a.State != acd.Break {
		t.Fatalf("a failed claim moved cat: %+v", a)
	}

	o := claim(t, st, "sales", "a", "ada")
	if o.Caller != "a" || o.Queue != "sales" || o.Attempt != 1 || o.Position != 1 || o.Holder != "node-a" || o.Rev == 0 ||
		len(o.Agents) != 1 || o.Agents[0].Username != "ada" || o.Agents[0].Endpoint != "PJSIP/ada" {
		t.Fatalf("offer: %+v", o)
	}
	recent(t, "offered at", o.At)
	a := state(t, st, "ada")
	if a.State != acd.Ringing || a.Call != "a" || a.Attempt != 1 || a.Since.Before(o.At) {
		t.Fatalf("offered agent: %+v", a)
	}
	c := must(st.Caller(bg, "a"))(t)
	if c.State != acd.Offered || c.Attempt != 1 || !slices.Equal(c.Ringing, []string{"ada"}) || c.Position != 1 ||
		!c.OfferedAt.Equal(o.At) || c.OfferedBy != "node-b" {
		t.Fatalf("offered caller: %+v", c)
	}
	// The offered caller keeps their place; the head moves on.
	order(t, st, "sales", "a", "b", "c")
	snap := must(st.Snapshot(bg, "sales"))(t)
	if snap.Head == nil || snap.Head.ID != "b" || snap.Waiting != 2 || snap.LastOffered != "ada" || !slices.Equal(names(snap.Agents), []string{"bob"}) {
		t.Fatalf("snapshot after the claim: head %+v, waiting %d, last %q, agents %v", snap.Head, snap.Waiting, snap.LastOffered, names(snap.Agents))
	}
	_, err = st.Claim(bg, acd.Claim{Queue: "sales", Caller: "a", Agents: []string{"bob"}})
	wantErr(t, "claiming an offered caller", err, acd.ErrNotHead)
	_, err = st.Claim(bg, acd.Claim{Queue: "sales", Caller: "b", Agents: []string{"ada"}})
	wantErr(t, "claiming a ringing agent", err, acd.ErrAgentsBusy)
	// One agent named twice rings once.
	o2 := claim(t, st, "sales", "b", "bob", "bob")
	if len(o2.Agents) != 1 || o2.Rev <= o.Rev {
		t.Fatalf("second offer: %+v", o2)
	}
}

func (s suite) answerFinish(t *testing.T) {
	st := s.newStore(t)
	login(t, st, "ada", nil)
	login(t, st, "bob", nil)
	enqueue(t, st, "sales", "a", 0)
	enqueue(t, st, "sales", "b", 0)
	o := claim(t, st, "sales", "a", "ada")

	_, err := st.Answer(bg, o.OfferRef, "bob")
	wantErr(t, "answer by an agent not offered", err, acd.ErrStale)
	_, err = st.Answer(bg, acd.OfferRef{Queue: "sales", Caller: "a", Attempt: 2}, "ada")
	wantErr(t, "answer of another attempt", err, acd.ErrStale)
	_, err = st.Answer(bg, acd.OfferRef{Queue: "sales", Caller: "b", Attempt: 1}, "ada")
	wantErr(t, "answer of another caller", err, acd.ErrStale)

	time.Sleep(5 * time.Millisecond)
	an := must(st.Answer(bg, o.OfferRef, "ada"))(t)
	if an.Agent.State != acd.OnCall || an.Agent.Calls != 1 || an.Agent.Call != "a" || an.Agent.Attempt != 1 ||
		an.Caller.ID != "a" || an.Caller.Position != 1 || an.Caller.Wait <= 0 || len(an.Released) != 0 || an.Rev <= o.Rev {
		t.Fatalf("answered: %+v", an)
	}
	_, err = st.Caller(bg, "a")
	wantErr(t, "answered caller", err, acd.ErrNotFound)
	order(t, st, "sales", "b")
	_, err = st.Answer(bg, o.OfferRef, "ada")
	wantErr(t, "answer twice", err, acd.ErrStale)
	_, err = st.Decline(bg, o.OfferRef, "ada", acd.NoAnswer, 0)
	wantErr(t, "decline after answering", err, acd.ErrStale)
	_, err = st.Remove(bg, "a", acd.Abandoned)
	wantErr(t, "hang-up after answering", err, acd.ErrNotFound)
	_, err = st.Finish(bg, acd.OfferRef{Queue: "sales", Caller: "b", Attempt: 1}, "ada", 0)
	wantErr(t, "finish another call", err, acd.ErrStale)
	_, err = st.Claim(bg, acd.Claim{Queue: "sales", Caller: "b", Agents: []string{"ada"}})
	wantErr(t, "claiming an agent on a call", err, acd.ErrAgentsBusy)

	f := must(st.Finish(bg, o.OfferRef, "ada", 0))(t)
	if f.State != acd.Available || f.Calls != 1 || f.Call != "" || f.LastCallEnd.IsZero() || !f.IdleSince().Equal(f.LastCallEnd) || !f.Since.Equal(f.LastCallEnd) {
		t.Fatalf("finished: %+v", f)
	}
	_, err = st.Finish(bg, o.OfferRef, "ada", 0)
	wantErr(t, "finish twice", err, acd.ErrStale)
	o2 := claim(t, st, "sales", "b", "ada")
	if o2.Attempt != 1 {
		t.Fatalf("the next caller's offer: %+v", o2)
	}
}

func (s suite) wrapUp(t *testing.T) {
	const wrap = 400 * time.Millisecond
	st := s.newStore(t)
	login(t, st, "ada", nil)
	for _, id := range []string{"a", "b", "c"} {
		enqueue(t, st, "sales", id, 0)
	}
	o := claim(t, st, "sales", "a", "ada")
	must(st.Answer(bg, o.OfferRef, "ada"))(t)
	start := time.Now()
	f := must(st.Finish(bg, o.OfferRef, "ada", wrap))(t)
	if f.State != acd.WrapUp || !f.Until.Equal(f.Since.Add(wrap)) {
		t.Fatalf("in wrap-up: %+v", f)
	}
	_, err := st.Claim(bg, acd.Claim{Queue: "sales", Caller: "b", Agents: []string{"ada"}})
	if time.Since(start) < wrap {
		wantErr(t, "claiming an agent in wrap-up", err, acd.ErrAgentsBusy)
		if snap := must(st.Snapshot(bg, "sales"))(t); len(snap.Agents) != 0 {
			t.Fatalf("an agent in wrap-up is offerable: %v", names(snap.Agents))
		}
	}
	time.Sleep(wrap + 100*time.Millisecond)
	a := state(t, st, "ada")
	if a.State != acd.Available || !a.Since.Equal(f.Until) || !a.Until.IsZero() {
		t.Fatalf("after the wrap-up: %+v", a)
	}
	if snap := must(st.Snapshot(bg, "sales"))(t); !slices.Equal(names(snap.Agents), []string{"ada"}) {
		t.Fatalf("after the wrap-up, offerable: %v", names(snap.Agents))
	}
	o2 := claim(t, st, "sales", "b", "ada")
	must(st.Answer(bg, o2.OfferRef, "ada"))(t)
	// An agent may end a wrap-up early, or take a break from it.
	must(st.Finish(bg, o2.OfferRef, "ada", time.Hour))(t)
	if a = must(st.SetState(bg, "ada", acd.Break, "tired"))(t); a.State != acd.Break || !a.Until.IsZero() {
		t.Fatalf("break from wrap-up: %+v", a)
	}
	if a = must(st.SetState(bg, "ada", acd.Available, ""))(t); a.State != acd.Available {
		t.Fatalf("available from break: %+v", a)
	}
	claim(t, st, "sales", "c", "ada")
}

func (s suite) declineKeepsPlace(t *testing.T) {
	st := s.newStore(t)
	login(t, st, "ada", nil)
	login(t, st, "bob", nil)
	enqueue(t, st, "sales", "a", 0)
	enqueue(t, st, "sales", "b", 0)
	o := claim(t, st, "sales", "a", "ada")
	enqueue(t, st, "sales", "c", 0)
	vip := enqueue(t, st, "sales", "vip", time.Hour)
	if vip.Position != 1 {
		t.Fatalf("vip at %d", vip.Position)
	}
	_, err := st.Decline(bg, o.OfferRef, "bob", acd.NoAnswer, 0)
	wantErr(t, "decline by an agent not offered", err, acd.ErrStale)
	if _, err := st.Decline(bg, o.OfferRef, "ada", "sulked", 0); err == nil {
		t.Fatal("an unknown outcome was accepted")
	}
	d := must(st.Decline(bg, o.OfferRef, "ada", acd.NoAnswer, 0))(t)
	if !d.Requeued || d.Agent.State != acd.Available || d.Agent.Misses != 1 || d.Agent.Call != "" || d.Rev <= o.Rev ||
		d.Caller.ID != "a" || d.Caller.State != acd.Waiting || d.Caller.Position != 2 || len(d.Caller.Ringing) != 0 {
		t.Fatalf("declined: %+v", d)
	}
	order(t, st, "sales", "vip", "a", "b", "c")
	snap := must(st.Snapshot(bg, "sales"))(t)
	if snap.Head.ID != "vip" || snap.Waiting != 4 {
		t.Fatalf("head %s, waiting %d", snap.Head.ID, snap.Waiting)
	}
	must(st.Remove(bg, "vip", acd.Abandoned))(t)
	if snap = must(st.Snapshot(bg, "sales"))(t); snap.Head.ID != "a" || snap.Head.Attempt != 1 {
		t.Fatalf("after the no-answer the head is %+v, want a back at the front", snap.Head)
	}
	o2 := claim(t, st, "sales", "a", "bob")
	if o2.Attempt != 2 {
		t.Fatalf("second offer is attempt %d", o2.Attempt)
	}
	_, err = st.Decline(bg, o.OfferRef, "ada", acd.NoAnswer, 0)
	wantErr(t, "decline of the old offer", err, acd.ErrStale)
	_, err = st.Answer(bg, o.OfferRef, "bob")
	wantErr(t, "answer of the old offer", err, acd.ErrStale)
	if an := must(st.Answer(bg, o2.OfferRef, "bob"))(t); an.Caller.Attempt != 2 {
		t.Fatalf("answered: %+v", an)
	}
	order(t, st, "sales", "b", "c")
}

func (s suite) missesToBreak(t *testing.T) {
	st := s.newStore(t)
	login(t, st, "ada", nil)
	for i := range 6 {
		enqueue(t, st, "sales", fmt.Sprint("c", i), 0)
	}
	miss := func(why acd.Outcome) acd.Declined {
		t.Helper()
		o := claim(t, st, "sales", "c0", "ada")
		return must(st.Decline(bg, o.OfferRef, "ada", why, 3))(t)
	}
	if d := miss(acd.NoAnswer); d.Agent.Misses != 1 || d.Agent.State != acd.Available {
		t.Fatalf("first miss: %+v", d.Agent)
	}
	if d := miss(acd.Rejected); d.Agent.Misses != 2 || d.Agent.State != acd.Available {
		t.Fatalf("second miss: %+v", d.Agent)
	}
	d := miss(acd.NoAnswer)
	if d.Agent.Misses != 3 || d.Agent.State != acd.Break || d.Agent.Reason != acd.BreakMissed || !d.Requeued {
		t.Fatalf("third miss: %+v", d)
	}
	_, err := st.Claim(bg, acd.Claim{Queue: "sales", Caller: "c0", Agents: []string{"ada"}})
	wantErr(t, "claiming an agent put on break", err, acd.ErrAgentsBusy)
	// Coming back forgets the misses; an answer does too.
	if a := must(st.SetState(bg, "ada", acd.Available, ""))(t); a.Misses != 0 {
		t.Fatalf("back from break: %+v", a)
	}
	miss(acd.NoAnswer)
	o := claim(t, st, "sales", "c0", "ada")
	if an := must(st.Answer(bg, o.OfferRef, "ada"))(t); an.Agent.Misses != 0 {
		t.Fatalf("answered: %+v", an.Agent)
	}
	must(st.Finish(bg, o.OfferRef, "ada", 0))(t)
	// Without a limit an agent is never put on break.
	for range 4 {
		o := claim(t, st, "sales", "c1", "ada")
		if d := must(st.Decline(bg, o.OfferRef, "ada", acd.NoAnswer, 0))(t); d.Agent.State != acd.Available {
			t.Fatalf("miss without a limit: %+v", d.Agent)
		}
	}
}

func (s suite) failed(t *testing.T) {
	st := s.newStore(t)
	login(t, st, "ada", nil)
	enqueue(t, st, "sales", "a", 0)
	o := claim(t, st, "sales", "a", "ada")
	d := must(st.Decline(bg, o.OfferRef, "ada", acd.Failed, 1))(t)
	if d.Agent.Reachable || d.Agent.State != acd.Available || d.Agent.Misses != 0 || !d.Requeued {
		t.Fatalf("failed: %+v", d)
	}
	_, err := st.Claim(bg, acd.Claim{Queue: "sales", Caller: "a", Agents: []string{"ada"}})
	wantErr(t, "claiming an unreachable agent", err, acd.ErrAgentsBusy)
	must(st.SetReachable(bg, "ada", true))(t)
	claim(t, st, "sales", "a", "ada")
}

func (s suite) ringAll(t *testing.T) {
	st := s.newStore(t)
	for _, u := range []string{"ada", "bob", "cat", "dan"} {
		login(t, st, u, nil)
	}
	must(st.SetState(bg, "dan", acd.Break, ""))(t)
	enqueue(t, st, "sales", "a", 0)
	enqueue(t, st, "sales", "b", 0)
	o := claim(t, st, "sales", "a", "ada", "bob", "cat", "dan")
	if got := names(o.Agents); !slices.Equal(got, []string{"ada", "bob", "cat"}) {
		t.Fatalf("rung %v, want the three available", got)
	}
	for _, u := range []string{"ada", "bob", "cat"} {
		if a := state(t, st, u); a.State != acd.Ringing || a.Call != "a" || a.Attempt != 1 {
			t.Fatalf("%s: %+v", u, a)
		}
	}
	_, err := st.Claim(bg, acd.Claim{Queue: "sales", Caller: "b", Agents: []string{"ada", "bob", "cat"}})
	wantErr(t, "ring-all while all ring", err, acd.ErrAgentsBusy)

	d := must(st.Decline(bg, o.OfferRef, "bob", acd.Rejected, 0))(t)
	if d.Requeued || d.Caller.State != acd.Offered || !slices.Equal(d.Caller.Ringing, []string{"ada", "cat"}) {
		t.Fatalf("one of three rejected: %+v", d)
	}
	an := must(st.Answer(bg, o.OfferRef, "cat"))(t)
	if !slices.Equal(an.Released, []string{"ada"}) || an.Agent.Username != "cat" {
		t.Fatalf("answered: %+v", an)
	}
	if a := state(t, st, "ada"); a.State != acd.Available || a.Call != "" || a.Misses != 0 {
		t.Fatalf("released: %+v", a)
	}
	_, err = st.Decline(bg, o.OfferRef, "ada", acd.NoAnswer, 0)
	wantErr(t, "late no-answer of a released agent", err, acd.ErrStale)
	_, err = st.Answer(bg, o.OfferRef, "ada")
	wantErr(t, "late answer of a released agent", err, acd.ErrStale)
	if a := state(t, st, "ada"); a.Misses != 0 {
		t.Fatalf("a stale decline counted: %+v", a)
	}
	o2 := claim(t, st, "sales", "b", "ada", "bob", "cat")
	if got := names(o2.Agents); !slices.Equal(got, []string{"ada", "bob"}) {
		t.Fatalf("second ring-all rang %v", got)
	}
}

func (s suite) ringAllDecline(t *testing.T) {
	st := s.newStore(t)
	login(t, st, "ada", nil)
	login(t, st, "bob", nil)
	enqueue(t, st, "sales", "a", 0)
	enqueue(t, st, "sales", "b", 0)
	o := claim(t, st, "sales", "a", "ada", "bob")
	if d := must(st.Decline(bg, o.OfferRef, "ada", acd.NoAnswer, 0))(t); d.Requeued {
		t.Fatal("requeued while bob still rings")
	}
	d := must(st.Decline(bg, o.OfferRef, "bob", acd.NoAnswer, 0))(t)
	if !d.Requeued || d.Caller.Position != 1 || d.Caller.State != acd.Waiting {
		t.Fatalf("after both: %+v", d)
	}
	if snap := must(st.Snapshot(bg, "sales"))(t); snap.Head.ID != "a" || len(snap.Agents) != 2 {
		t.Fatalf("head %s, agents %v", snap.Head.ID, names(snap.Agents))
	}
}

func (s suite) hangUpWhileRinging(t *testing.T) {
	st := s.newStore(t)
	login(t, st, "ada", nil)
	login(t, st, "bob", nil)
	enqueue(t, st, "sales", "a", 0)
	enqueue(t, st, "sales", "b", 0)
	o := claim(t, st, "sales", "a", "ada", "bob")
	rm := must(st.Remove(bg, "a", acd.Abandoned))(t)
	slices.Sort(rm.Released)
	if !slices.Equal(rm.Released, []string{"ada", "bob"}) || rm.Caller.State != acd.Offered || rm.Rev <= o.Rev {
		t.Fatalf("removed: %+v", rm)
	}
	for _, u := range []string{"ada", "bob"} {
		if a := state(t, st, u); a.State != acd.Available || a.Misses != 0 || a.Call != "" {
			t.Fatalf("%s after the hang-up: %+v", u, a)
		}
	}
	_, err := st.Answer(bg, o.OfferRef, "ada")
	wantErr(t, "answering a caller who hung up", err, acd.ErrStale)
	_, err = st.Decline(bg, o.OfferRef, "bob", acd.NoAnswer, 1)
	wantErr(t, "no-answer for a caller who hung up", err, acd.ErrStale)
	order(t, st, "sales", "b")
	claim(t, st, "sales", "b", "ada")
}

func (s suite) busyTransitions(t *testing.T) {
	st := s.newStore(t)
	login(t, st, "ada", nil)
	enqueue(t, st, "sales", "a", 0)
	o := claim(t, st, "sales", "a", "ada")
	check := func(when string) {
		t.Helper()
		for _, to := range []acd.AgentState{acd.Available, acd.Break} {
			_, err := st.SetState(bg, "ada", to, "")
			wantErr(t, when+" to "+string(to), err, acd.ErrTransition)
		}
		_, err := st.Logout(bg, "ada")
		wantErr(t, "logout "+when, err, acd.ErrTransition)
	}
	check("ringing")
	must(st.Answer(bg, o.OfferRef, "ada"))(t)
	check("on a call")
	// Reachability is the device's, whatever the agent does.
	must(st.SetReachable(bg, "ada", false))(t)
	if a := state(t, st, "ada"); a.State != acd.OnCall || a.Reachable {
		t.Fatalf("on a call, unregistered: %+v", a)
	}
	must(st.Finish(bg, o.OfferRef, "ada", time.Minute))(t)
	must(st.Logout(bg, "ada"))(t)
}

// concurrentClaims has many goroutines claim at once, each for whatever
// caller it last saw at the head and an agent of its choice: every agent
// ends up offered once, and the callers offered are exactly the first ones.
func (s suite) concurrentClaims(t *testing.T) {
	const agents, callers, workers = 12, 30, 8
	st := s.newStore(t)
	var users []string
	for i := range agents {
		users = append(users, fmt.Sprintf("agent%02d", i))
		login(t, st, users[i], nil)
	}
	var want []string
	for i := range callers {
		want = append(want, fmt.Sprintf("c%02d", i))
		enqueue(t, st, "sales", want[i], 0)
	}
	var mu sync.Mutex
	byAgent := map[string]string{}
	byCaller := map[string]int{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(w), 7))
			for range 200 {
				snap, err := st.Snapshot(bg, "sales")
				if err != nil {
					t.Error(err)
					return
				}
				if snap.Head == nil || len(snap.Agents) == 0 {
					return
				}
				u := snap.Agents[rnd.IntN(len(snap.Agents))].Username
				o, err := st.Claim(bg, acd.Claim{Queue: "sales", Caller: snap.Head.ID, Agents: []string{u}})
				if errors.Is(err, acd.ErrNotHead) || errors.Is(err, acd.ErrAgentsBusy) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if prev, dup := byAgent[u]; dup {
					t.Errorf("%s offered %s and %s", u, prev, o.Caller)
				}
				byAgent[u] = o.Caller
				byCaller[o.Caller]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(byAgent) != agents {
		t.Fatalf("%d agents offered, want %d", len(byAgent), agents)
	}
	for _, id := range want[:agents] {
		if byCaller[id] != 1 {
			t.Fatalf("caller %s offered %d times; offers %v", id, byCaller[id], byAgent)
		}
	}
	if len(byCaller) != agents {
		t.Fatalf("callers offered: %v, want the first %d", byCaller, agents)
	}
	snap := must(st.Snapshot(bg, "sales"))(t)
	if snap.Head == nil || snap.Head.ID != want[agents] || snap.Waiting != callers-agents {
		t.Fatalf("head %+v, waiting %d", snap.Head, snap.Waiting)
	}
}

func (s suite) revisions(t *testing.T) {
	st := s.newStore(t)
	login(t, st, "ada", nil)
	var last uint64
	up := func(what string, rev uint64) {
		t.Helper()
		if rev <= last {
			t.Fatalf("%s got revision %d after %d", what, rev, last)
		}
		last = rev
	}
	c := enqueue(t, st, "sales", "a", 0)
	up("enqueue", c.Seq)
	enqueue(t, st, "sales", "b", 0)
	o := claim(t, st, "sales", "a", "ada")
	up("claim", o.Rev)
	d := must(st.Decline(bg, o.OfferRef, "ada", acd.NoAnswer, 0))(t)
	up("decline", d.Rev)
	o = claim(t, st, "sales", "a", "ada")
	up("claim", o.Rev)
	an := must(st.Answer(bg, o.OfferRef, "ada"))(t)
	up("answer", an.Rev)
	rm := must(st.Remove(bg, "b", acd.Overflowed))(t)
	up("remove", rm.Rev)
}

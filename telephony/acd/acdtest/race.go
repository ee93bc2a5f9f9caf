package acdtest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/telephony/acd"
)

// RaceOptions size Race.
type RaceOptions struct {
	Callers int // 400 when zero
	Agents  int // 30 when zero
	Seed    uint64
}

// Race runs two nodes, each with its own router on its own store, where
// the two stores share state (two clients of one Redis, or one memory
// store twice). Callers arrive in a burst on both nodes into three queues
// (longest-idle with VIPs, ring-all, round-robin); simulated agents answer,
// let ring out, reject or fail at random, and are put back from break and
// made reachable again; some callers hang up while waiting or ringing.
//
// Every change the test makes is recorded with the revision the store gave
// it, and replayed in revision order against a model afterwards: no agent
// may be offered a call while ringing or on a call, no caller offered
// while already offered, every claim must take the first waiting caller of
// its queue by (key, arrival), and every caller must end answered or
// abandoned, once.
func Race(t *testing.T, a, b acd.Store, o RaceOptions) {
	if o.Callers == 0 {
		o.Callers = 400
	}
	if o.Agents == 0 {
		o.Agents = 30
	}
	var all []string
	for i := range o.Agents {
		all = append(all, fmt.Sprintf("agent%02d", i))
	}
	third := o.Agents / 3
	cfg := acd.Config{Queues: []acd.Queue{
		{Name: "sales", Strategy: acd.LongestIdle, Members: all[:2*third], RingTimeout: time.Second, MaxMisses: 3,
			WrapUp: 3 * time.Millisecond, Priority: []acd.PriorityRule{{Tag: "vip", Ahead: 20 * time.Millisecond}}},
		{Name: "support", Strategy: acd.RingAll, Members: all[third:], RingTimeout: time.Second, MaxMisses: 3},
		{Name: "billing", Strategy: acd.RoundRobin, Members: all[third/2:], RingTimeout: time.Second},
	}}
	queues := []string{"sales", "support", "billing"}
	for _, u := range all {
		if _, err := a.Login(bg, acd.AgentLogin{Username: u, Endpoint: "PJSIP/" + u, Reachable: true}); err != nil {
			t.Fatal(err)
		}
	}

	h := &race{t: t, want: o.Callers, done: make(chan struct{}), resolved: map[string]string{}}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	for i, st := range []acd.Store{a, b} {
		cs := &countingStore{Store: st}
		r, err := acd.NewRouter(cs, cfg, acd.Options{Node: fmt.Sprintf("node%d", i+1), Seed: o.Seed + uint64(i) + 1})
		if err != nil {
			t.Fatal(err)
		}
		n := &node{r: r, st: cs, kick: make(chan struct{}, 1)}
		h.nodes = append(h.nodes, n)
	}
	for _, n := range h.nodes {
		h.wg.Go(func() { h.loop(ctx, n, queues) })
	}

	rnd := rand.New(rand.NewPCG(o.Seed, 99))
	var timers []*time.Timer
	start := time.Now()
	for i := range o.Callers {
		n := h.nodes[i%2]
		q := queues[rnd.IntN(len(queues))]
		var f acd.Facts
		if rnd.IntN(10) == 0 {
			f.Tags = []string{"vip"}
		}
		id := fmt.Sprintf("call%04d", i)
		c, err := n.r.Enqueue(bg, q, id, f)
		if err != nil {
			t.Fatal(err)
		}
		h.record(event{rev: c.Seq, kind: "enqueue", queue: q, caller: id, key: c.Key().UnixMilli(), seq: c.Seq})
		h.kickAll()
		if rnd.IntN(100) < 15 {
			wait := time.Duration(5+rnd.IntN(80)) * time.Millisecond
			timers = append(timers, time.AfterFunc(wait, func() { h.abandon(n, id) }))
		}
		if i%20 == 19 {
			time.Sleep(time.Millisecond)
		}
	}
	select {
	case <-h.done:
	case <-time.After(90 * time.Second):
		h.mu.Lock()
		t.Errorf("after 90 s only %d of %d callers were answered or abandoned", len(h.resolved), o.Callers)
		h.mu.Unlock()
	}
	elapsed := time.Since(start)
	for _, tm := range timers {
		tm.Stop()
	}
	stop()
	h.wg.Wait()
	h.verify(o.Callers)

	// Nothing is left behind: the queues are empty and no agent rings.
	for _, q := range queues {
		if cs := must(a.Callers(bg, q))(t); len(cs) != 0 {
			t.Errorf("queue %s still holds %v", q, ids(cs))
		}
	}
	for _, ag := range must(b.Agents(bg))(t) {
		if ag.State == acd.Ringing || ag.State == acd.OnCall {
			t.Errorf("agent %s is left %s", ag.Username, ag.State)
		}
	}
	for i, n := range h.nodes {
		t.Logf("node%d: %d offers made, %d claims lost (%d caller taken, %d agents taken)",
			i+1, n.offers.Load(), n.st.notHead.Load()+n.st.busy.Load(), n.st.notHead.Load(), n.st.busy.Load())
	}
	t.Logf("%d callers in %v: %d answered, %d abandoned; %d declines", o.Callers, elapsed.Round(time.Millisecond),
		h.count("answered"), h.count("abandoned"), h.declines.Load())
}

// countingStore counts a node's lost claims.
type countingStore struct {
	acd.Store
	notHead, busy atomic.Int64
}

func (c *countingStore) Claim(ctx context.Context, cl acd.Claim) (acd.Offer, error) {
	o, err := c.Store.Claim(ctx, cl)
	switch {
	case errors.Is(err, acd.ErrNotHead), errors.Is(err, acd.ErrNotFound):
		c.notHead.Add(1)
	case errors.Is(err, acd.ErrAgentsBusy):
		c.busy.Add(1)
	}
	return o, err
}

type node struct {
	r      *acd.Router
	st     *countingStore
	kick   chan struct{}
	offers atomic.Int64
}

// event is one recorded change.
type event struct {
	rev      uint64
	kind     string // enqueue, claim, answer, decline, remove, finish
	queue    string
	caller   string
	attempt  int
	agents   []string // claim: rung; answer, decline, finish: the agent
	released []string
	requeued bool
	key      int64
	seq      uint64
}

type race struct {
	t        *testing.T
	nodes    []*node
	wg       sync.WaitGroup
	want     int
	done     chan struct{}
	declines atomic.Int64

	mu       sync.Mutex
	events   []event
	resolved map[string]string
}

func (h *race) record(e event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, e)
	var end string
	switch e.kind {
	case "answer":
		end = "answered"
	case "remove":
		end = "abandoned"
	default:
		return
	}
	if prev, dup := h.resolved[e.caller]; dup {
		h.t.Errorf("caller %s %s after being %s", e.caller, end, prev)
		return
	}
	h.resolved[e.caller] = end
	if len(h.resolved) == h.want {
		close(h.done)
	}
}

func (h *race) count(what string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, v := range h.resolved {
		if v == what {
			n++
		}
	}
	return n
}

func (h *race) kickAll() {
	for _, n := range h.nodes {
		select {
		case n.kick <- struct{}{}:
		default:
		}
	}
}

// loop is a node's driver: route every queue until nothing is left to
// offer, then wait for a kick, or poll, since a wrap-up ends unannounced.
func (h *race) loop(ctx context.Context, n *node, queues []string) {
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, q := range queues {
			for ctx.Err() == nil {
				o, ok, err := n.r.Next(bg, q)
				if errors.Is(err, acd.ErrContended) {
					continue
				}
				if err != nil {
					h.t.Error(err)
					return
				}
				if !ok {
					break
				}
				n.offers.Add(1)
				var rung []string
				for _, a := range o.Agents {
					rung = append(rung, a.Username)
				}
				h.record(event{rev: o.Rev, kind: "claim", queue: q, caller: o.Caller, attempt: o.Attempt, agents: rung})
				for i, u := range rung {
					h.wg.Go(func() { h.agent(n, o, u, uint64(i)) })
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-n.kick:
		case <-tick.C:
		}
	}
}

// agent plays one offered agent: after a moment it answers (half the
// time), lets it ring out, rejects, or fails to ring.
func (h *race) agent(n *node, o acd.Offer, u string, i uint64) {
	rnd := rand.New(rand.NewPCG(o.Rev, i))
	time.Sleep(time.Duration(rnd.IntN(3000)) * time.Microsecond)
	var why acd.Outcome
	switch p := rnd.IntN(100); {
	case p < 50:
		an, err := n.r.Answer(bg, o.OfferRef, u)
		if errors.Is(err, acd.ErrStale) {
			return // another agent answered, or the caller hung up
		}
		if err != nil {
			h.t.Error(err)
			return
		}
		h.record(event{rev: an.Rev, kind: "answer", caller: o.Caller, attempt: o.Attempt, agents: []string{u}, released: an.Released})
		h.kickAll()
		time.Sleep(time.Duration(rnd.IntN(4000)) * time.Microsecond)
		ag, err := n.r.Finish(bg, o.OfferRef, u)
		if err != nil {
			h.t.Errorf("finish %s#%d by %s: %v", o.Caller, o.Attempt, u, err)
			return
		}
		h.record(event{rev: ag.Rev, kind: "finish", caller: o.Caller, attempt: o.Attempt, agents: []string{u}})
		h.kickAll()
		return
	case p < 75:
		why = acd.NoAnswer
	case p < 95:
		why = acd.Rejected
	default:
		why = acd.Failed
	}
	d, err := n.r.Decline(bg, o.OfferRef, u, why)
	if errors.Is(err, acd.ErrStale) {
		return
	}
	if err != nil {
		h.t.Error(err)
		return
	}
	h.declines.Add(1)
	h.record(event{rev: d.Rev, kind: "decline", caller: o.Caller, attempt: o.Attempt, agents: []string{u}, requeued: d.Requeued})
	h.kickAll()
	if d.Agent.State == acd.Break || !d.Agent.Reachable {
		// A supervisor puts them back, and the phone registers again.
		time.Sleep(5 * time.Millisecond)
		if d.Agent.State == acd.Break {
			if _, err := n.st.SetState(bg, u, acd.Available, ""); err != nil {
				h.t.Error(err)
			}
		}
		if !d.Agent.Reachable {
			if _, err := n.st.SetReachable(bg, u, true); err != nil {
				h.t.Error(err)
			}
		}
		h.kickAll()
	}
}

func (h *race) abandon(n *node, id string) {
	rm, err := n.r.Abandon(bg, id)
	if errors.Is(err, acd.ErrNotFound) {
		return // answered first
	}
	if err != nil {
		h.t.Error(err)
		return
	}
	h.record(event{rev: rm.Rev, kind: "remove", caller: id, released: rm.Released})
	h.kickAll()
}

// verify replays the recorded changes in revision order against a model
// of the queues and agents, counting what the store must never do.
func (h *race) verify(callers int) {
	t := h.t
	h.mu.Lock()
	log := slices.Clone(h.events)
	h.mu.Unlock()
	slices.SortFunc(log, func(x, y event) int { return cmp.Compare(x.rev, y.rev) })
	for i := 1; i < len(log); i++ {
		if log[i].rev == log[i-1].rev {
			t.Errorf("revision %d given twice: %+v and %+v", log[i].rev, log[i-1], log[i])
		}
	}

	type waiter struct {
		key int64
		seq uint64
	}
	type offer struct {
		queue   string
		attempt int
		ringing []string
		w       waiter
	}
	waiting := map[string]map[string]waiter{} // queue → caller → order
	offered := map[string]*offer{}
	queueOf := map[string]string{}
	ringing := map[string]string{} // agent → caller#attempt
	onCall := map[string]string{}
	var doubleAgent, doubleCaller, skipped, other int
	name := func(id string, att int) string { return fmt.Sprintf("%s#%d", id, att) }
	for _, e := range log {
		switch e.kind {
		case "enqueue":
			if _, known := queueOf[e.caller]; known {
				other++
				t.Errorf("rev %d: %s enqueued twice", e.rev, e.caller)
			}
			queueOf[e.caller] = e.queue
			if waiting[e.queue] == nil {
				waiting[e.queue] = map[string]waiter{}
			}
			waiting[e.queue][e.caller] = waiter{e.key, e.seq}
		case "claim":
			if _, dup := offered[e.caller]; dup {
				doubleCaller++
				t.Errorf("rev %d: %s offered while already offered", e.rev, e.caller)
				continue
			}
			w, ok := waiting[e.queue][e.caller]
			if !ok {
				other++
				t.Errorf("rev %d: %s claimed but not waiting in %s", e.rev, e.caller, e.queue)
				continue
			}
			for id, x := range waiting[e.queue] {
				if x.key < w.key || x.key == w.key && x.seq < w.seq {
					skipped++
					t.Errorf("rev %d: %s offered while %s waited ahead of it in %s", e.rev, e.caller, id, e.queue)
				}
			}
			for _, u := range e.agents {
				if _, busy := onCall[u]; busy {
					doubleAgent++
					t.Errorf("rev %d: %s offered %s while on call %s", e.rev, u, e.caller, onCall[u])
				}
				if r, busy := ringing[u]; busy {
					doubleAgent++
					t.Errorf("rev %d: %s offered %s while ringing for %s", e.rev, u, e.caller, r)
				}
				ringing[u] = name(e.caller, e.attempt)
			}
			delete(waiting[e.queue], e.caller)
			offered[e.caller] = &offer{queue: e.queue, attempt: e.attempt, ringing: slices.Clone(e.agents), w: w}
		case "answer":
			u := e.agents[0]
			of := offered[e.caller]
			if of == nil || of.attempt != e.attempt || ringing[u] != name(e.caller, e.attempt) {
				other++
				t.Errorf("rev %d: %s answered %s#%d not offered to them", e.rev, u, e.caller, e.attempt)
				continue
			}
			rest := slices.DeleteFunc(slices.Clone(of.ringing), func(x string) bool { return x == u })
			slices.Sort(rest)
			rel := slices.Sorted(slices.Values(e.released))
			if !slices.Equal(rest, rel) {
				other++
				t.Errorf("rev %d: answering %s released %v, %v were ringing", e.rev, e.caller, rel, rest)
			}
			for _, x := range of.ringing {
				delete(ringing, x)
			}
			onCall[u] = name(e.caller, e.attempt)
			delete(offered, e.caller)
		case "finish":
			u := e.agents[0]
			if onCall[u] != name(e.caller, e.attempt) {
				other++
				t.Errorf("rev %d: %s finished %s#%d while on %q", e.rev, u, e.caller, e.attempt, onCall[u])
			}
			delete(onCall, u)
		case "decline":
			u := e.agents[0]
			of := offered[e.caller]
			if of == nil || of.attempt != e.attempt || ringing[u] != name(e.caller, e.attempt) {
				other++
				t.Errorf("rev %d: %s declined %s#%d not offered to them", e.rev, u, e.caller, e.attempt)
				continue
			}
			delete(ringing, u)
			of.ringing = slices.DeleteFunc(of.ringing, func(x string) bool { return x == u })
			if (len(of.ringing) == 0) != e.requeued {
				other++
				t.Errorf("rev %d: %s declined by %s, requeued %v with %v still ringing", e.rev, e.caller, u, e.requeued, of.ringing)
			}
			if len(of.ringing) == 0 {
				waiting[of.queue][e.caller] = of.w
				delete(offered, e.caller)
			}
		case "remove":
			if of := offered[e.caller]; of != nil {
				rel := slices.Sorted(slices.Values(e.released))
				ring := slices.Sorted(slices.Values(of.ringing))
				if !slices.Equal(rel, ring) {
					other++
					t.Errorf("rev %d: %s hung up, released %v, %v were ringing", e.rev, e.caller, rel, ring)
				}
				for _, x := range of.ringing {
					delete(ringing, x)
				}
				delete(offered, e.caller)
			} else if _, ok := waiting[queueOf[e.caller]][e.caller]; ok {
				if len(e.released) != 0 {
					other++
					t.Errorf("rev %d: waiting %s hung up and released %v", e.rev, e.caller, e.released)
				}
				delete(waiting[queueOf[e.caller]], e.caller)
			} else {
				other++
				t.Errorf("rev %d: %s removed but neither waiting nor offered", e.rev, e.caller)
			}
		}
	}
	for u, c := range onCall {
		other++
		t.Errorf("%s never finished %s", u, c)
	}
	left := len(offered)
	for _, w := range waiting {
		left += len(w)
	}
	if left != 0 {
		t.Errorf("%d callers neither answered nor abandoned in the replay", left)
	}
	h.mu.Lock()
	resolved := len(h.resolved)
	h.mu.Unlock()
	if resolved != callers || len(queueOf) != callers {
		t.Errorf("%d enqueued, %d resolved, want %d", len(queueOf), resolved, callers)
	}
	t.Logf("replayed %d changes: %d double offers to an agent, %d callers offered twice at once, %d callers skipped, %d other faults",
		len(log), doubleAgent, doubleCaller, skipped, other)
}

package acd_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/telephony/acd"
	"github.com/tamas-cc/tamas/telephony/acd/memacd"
)

var bg = context.Background()

// clock is a hand-moved clock for the memory store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// sim is one queue on a memory store with a clock the test moves.
type sim struct {
	t   *testing.T
	clk *clock
	st  *memacd.Store
	r   *acd.Router
	q   acd.Queue
	n   int
	// last is the caller enqueued last.
	last acd.Caller
}

func newSim(t *testing.T, q acd.Queue, store acd.Store) *sim {
	t.Helper()
	clk := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	st := memacd.New(memacd.Options{Now: clk.Now})
	if store == nil {
		store = st
	}
	if q.RingTimeout == 0 {
		q.RingTimeout = 15 * time.Second
	}
	r, err := acd.NewRouter(store, acd.Config{Queues: []acd.Queue{q}}, acd.Options{Node: "n1", Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	return &sim{t: t, clk: clk, st: st, r: r, q: q}
}

func (s *sim) login(user string, skills map[string]int) {
	s.t.Helper()
	if _, err := s.st.Login(bg, acd.AgentLogin{Username: user, Endpoint: "PJSIP/" + user, Reachable: true, Skills: skills}); err != nil {
		s.t.Fatal(err)
	}
}

func (s *sim) enqueue(f acd.Facts) acd.Caller {
	s.t.Helper()
	s.n++
	c, err := s.r.Enqueue(bg, s.q.Name, fmt.Sprint("call", s.n), f)
	if err != nil {
		s.t.Fatal(err)
	}
	s.last = c
	return c
}

// next routes and fails the test if nothing was offered.
func (s *sim) next() acd.Offer {
	s.t.Helper()
	o, ok, err := s.r.Next(bg, s.q.Name)
	if err != nil || !ok {
		s.t.Fatalf("next: ok %v, err %v", ok, err)
	}
	return o
}

func (s *sim) none() {
	s.t.Helper()
	if o, ok, err := s.r.Next(bg, s.q.Name); err != nil || ok {
		s.t.Fatalf("next offered %+v (err %v), want nothing", o, err)
	}
}

// serve answers an offer with its first agent and ends the call at once.
func (s *sim) serve(o acd.Offer) string {
	s.t.Helper()
	u := o.Agents[0].Username
	if _, err := s.r.Answer(bg, o.OfferRef, u); err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.r.Finish(bg, o.OfferRef, u); err != nil {
		s.t.Fatal(err)
	}
	return u
}

func (s *sim) setState(user string, to acd.AgentState) {
	s.t.Helper()
	if _, err := s.st.SetState(bg, user, to, ""); err != nil {
		s.t.Fatal(err)
	}
}

func (s *sim) offerable() []acd.Agent {
	s.t.Helper()
	snap, err := s.st.Snapshot(bg, s.q.Name)
	if err != nil {
		s.t.Fatal(err)
	}
	return snap.Agents
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 1)) }

func users(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("agent%02d", i))
	}
	return out
}

func TestNextNothingToDo(t *testing.T) {
	s := newSim(t, acd.Queue{Name: "q", Strategy: acd.LongestIdle, Members: []string{"ada"}}, nil)
	s.none()
	s.enqueue(acd.Facts{})
	s.none() // nobody logged in
	s.login("bob", nil)
	s.none() // not a member
	s.login("ada", nil)
	s.serve(s.next())
	s.none() // nobody waits
	if _, _, err := s.r.Next(bg, "nowhere"); !errors.Is(err, acd.ErrNotFound) {
		t.Fatalf("next in an unknown queue: %v", err)
	}
}

func TestRingAllRingsEveryFreeMember(t *testing.T) {
	s := newSim(t, acd.Queue{Name: "q", Strategy: acd.RingAll, Members: []string{"ada", "bob", "cat", "dan"}}, nil)
	for _, u := range []string{"ada", "bob", "cat", "dan", "eve"} {
		s.login(u, nil)
	}
	s.setState("dan", acd.Break)
	s.enqueue(acd.Facts{})
	s.enqueue(acd.Facts{})
	o := s.next()
	var rung []string
	for _, a := range o.Agents {
		rung = append(rung, a.Username)
	}
	if !slices.Equal(rung, []string{"ada", "bob", "cat"}) || o.RingTimeout != 15*time.Second {
		t.Fatalf("rang %v (timeout %v), want every free member", rung, o.RingTimeout)
	}
	s.none() // every member rings for the first caller
	an, err := s.r.Answer(bg, o.OfferRef, "bob")
	if err != nil || !slices.Equal(an.Released, []string{"ada", "cat"}) {
		t.Fatalf("answered: %+v %v", an, err)
	}
	o2 := s.next()
	if len(o2.Agents) != 2 || o2.Caller != "call2" {
		t.Fatalf("second offer %+v", o2)
	}
}

// Over 10,000 routes with members away at random, ring-all rings exactly
// the free members, and the one who answers takes the call from the rest.
func TestRingAllStatistical(t *testing.T) {
	us := users(8)
	s := newSim(t, acd.Queue{Name: "q", Strategy: acd.RingAll, Members: us[:6]}, nil)
	for _, u := range us {
		s.login(u, nil)
	}
	rnd := newRand(6)
	answeredBy := map[string]int{}
	for i := range 10000 {
		var away []string
		for _, u := range us {
			if rnd.Float64() < 0.3 {
				away = append(away, u)
				s.setState(u, acd.Break)
			}
		}
		var want []string
		for _, u := range us[:6] {
			if !slices.Contains(away, u) {
				want = append(want, u)
			}
		}
		s.enqueue(acd.Facts{})
		o, ok, err := s.r.Next(bg, "q")
		if err != nil || ok != (len(want) > 0) {
			t.Fatalf("route %d: ok %v, err %v, %d free", i, ok, err, len(want))
		}
		if !ok {
			s.removeHead()
		} else {
			var rung []string
			for _, a := range o.Agents {
				rung = append(rung, a.Username)
			}
			if !slices.Equal(rung, want) {
				t.Fatalf("route %d rang %v, free members were %v", i, rung, want)
			}
			u := rung[rnd.IntN(len(rung))]
			an, err := s.r.Answer(bg, o.OfferRef, u)
			if err != nil || len(an.Released) != len(rung)-1 || slices.Contains(an.Released, u) {
				t.Fatalf("route %d: %s answered, released %v: %v", i, u, an.Released, err)
			}
			if _, err := s.r.Finish(bg, o.OfferRef, u); err != nil {
				t.Fatal(err)
			}
			answeredBy[u]++
		}
		for _, u := range away {
			s.setState(u, acd.Available)
		}
	}
	// Who answers is the agents' doing; here they answer at random, and
	// every member gets their share.
	checkSpread(t, answeredBy, us[:6], 0.1)
}

// Round-robin over 10,000 routes, with each agent away for a fifth of
// them at random, gives every agent its share within ±5 %; with everyone
// present it is a strict rotation.
func TestRoundRobinFair(t *testing.T) {
	const routes = 10000
	us := users(7)
	s := newSim(t, acd.Queue{Name: "q", Strategy: acd.RoundRobin, Members: us}, nil)
	for _, u := range us {
		s.login(u, nil)
	}
	for i := range 3 * len(us) {
		s.enqueue(acd.Facts{})
		if got := s.serve(s.next()); got != us[i%len(us)] {
			t.Fatalf("route %d went to %s, want %s", i, got, us[i%len(us)])
		}
	}
	rnd := newRand(1)
	count := map[string]int{}
	for range routes {
		var away []string
		for _, u := range us {
			if rnd.Float64() < 0.2 {
				away = append(away, u)
				s.setState(u, acd.Break)
			}
		}
		s.enqueue(acd.Facts{})
		if o, ok, err := s.r.Next(bg, "q"); err != nil {
			t.Fatal(err)
		} else if ok {
			count[s.serve(o)]++
		} else if len(away) != len(us) {
			t.Fatal("no offer with agents free")
		} else {
			s.removeHead()
		}
		for _, u := range away {
			s.setState(u, acd.Available)
		}
	}
	checkSpread(t, count, us, 0.05)
}

func (s *sim) removeHead() {
	s.t.Helper()
	cs, err := s.st.Callers(bg, s.q.Name)
	if err != nil || len(cs) == 0 {
		s.t.Fatalf("callers %v %v", cs, err)
	}
	if _, err := s.r.Abandon(bg, cs[0].ID); err != nil {
		s.t.Fatal(err)
	}
}

func checkSpread(t *testing.T, count map[string]int, us []string, within float64) {
	t.Helper()
	total := 0
	for _, u := range us {
		total += count[u]
	}
	mean := float64(total) / float64(len(us))
	for _, u := range us {
		if d := (float64(count[u]) - mean) / mean; d > within || d < -within {
			t.Errorf("%s took %d calls, mean %.0f (%+.1f %%)", u, count[u], mean, 100*d)
		}
	}
	t.Logf("calls per agent: %v, mean %.0f", count, mean)
}

// Random over 10,000 routes passes a chi-square test of uniformity at
// the 0.1 % level (9 degrees of freedom: 27.88).
func TestRandomUniform(t *testing.T) {
	const routes = 10000
	us := users(10)
	s := newSim(t, acd.Queue{Name: "q", Strategy: acd.Random, Members: us}, nil)
	for _, u := range us {
		s.login(u, nil)
	}
	count := map[string]int{}
	prev, repeats := "", 0
	for range routes {
		s.enqueue(acd.Facts{})
		u := s.serve(s.next())
		count[u]++
		if u == prev {
			repeats++
		}
		prev = u
	}
	exp := float64(routes) / float64(len(us))
	chi := 0.0
	for _, u := range us {
		d := float64(count[u]) - exp
		chi += d * d / exp
	}
	if chi > 27.88 {
		t.Fatalf("chi-square %.2f > 27.88: %v", chi, count)
	}
	// Independent picks repeat the previous agent about 1 time in 10; a
	// rotation never would.
	if repeats < routes/20 || repeats > routes/5 {
		t.Fatalf("%d repeats of the previous agent in %d routes", repeats, routes)
	}
	t.Logf("chi-square %.2f, repeats %d", chi, repeats)
}

// busySim runs calls of random lengths: agents are free or not as calls
// end, which is what longest-idle, fewest-calls and skills choose among.
type busySim struct {
	*sim
	rnd *rand.Rand
	// longest is the longest call, in seconds.
	longest int
	ends    map[string]struct {
		at time.Time
		o  acd.Offer
	}
}

func newBusySim(s *sim, seed uint64, longest int) *busySim {
	return &busySim{sim: s, rnd: newRand(seed), longest: longest, ends: map[string]struct {
		at time.Time
		o  acd.Offer
	}{}}
}

// route is one offer a step made, with what the router saw before it.
type route struct {
	free    []acd.Agent  // offerable agents
	waiting []acd.Caller // waiting callers
	o       acd.Offer
}

// step moves the clock, ends the calls due, queues one caller with facts
// f, and routes until nothing more can be offered; every offer is
// answered at once.
func (b *busySim) step(f acd.Facts) []route {
	b.t.Helper()
	b.clk.Advance(time.Duration(b.rnd.IntN(5000)) * time.Millisecond)
	now := b.clk.Now()
	for u, e := range b.ends {
		if !now.Before(e.at) {
			if _, err := b.r.Finish(bg, e.o.OfferRef, u); err != nil {
				b.t.Fatal(err)
			}
			delete(b.ends, u)
		}
	}
	b.enqueue(f)
	var out []route
	for {
		r := route{free: b.offerable()}
		cs, err := b.st.Callers(bg, b.q.Name)
		if err != nil {
			b.t.Fatal(err)
		}
		for _, c := range cs {
			if c.State == acd.Waiting {
				r.waiting = append(r.waiting, c)
			}
		}
		o, ok, err := b.r.Next(bg, b.q.Name)
		if err != nil {
			b.t.Fatal(err)
		}
		if !ok {
			return out
		}
		u := o.Agents[0].Username
		if _, err := b.r.Answer(bg, o.OfferRef, u); err != nil {
			b.t.Fatal(err)
		}
		b.ends[u] = struct {
			at time.Time
			o  acd.Offer
		}{now.Add(time.Duration(1+b.rnd.IntN(b.longest)) * time.Second), o}
		r.o = o
		out = append(out, r)
	}
}

// Longest-idle always picks the agent whose last call ended first.
func TestLongestIdleAlwaysLongest(t *testing.T) {
	us := users(8)
	s := newSim(t, acd.Queue{Name: "q", Strategy: acd.LongestIdle, Members: us}, nil)
	for i, u := range us {
		s.login(u, nil)
		s.clk.Advance(time.Duration(i) * time.Second)
	}
	b := newBusySim(s, 3, 15)
	offers, choices := 0, 0
	for range 10000 {
		for _, r := range b.step(acd.Facts{}) {
			offers++
			free, o := r.free, r.o
			if len(free) > 1 {
				choices++
			}
			want := slices.MinFunc(free, func(x, y acd.Agent) int {
				if c := x.IdleSince().Compare(y.IdleSince()); c != 0 {
					return c
				}
				return strings.Compare(x.Username, y.Username)
			})
			if got := o.Agents[0].Username; got != want.Username {
				t.Fatalf("offered %s idle since %v, %s was idle since %v", got, o.Agents[0].IdleSince(), want.Username, want.IdleSince())
			}
		}
	}
	if offers < 5000 || choices < offers/4 {
		t.Fatalf("%d offers in 10,000 steps, %d with a choice: the test proves little", offers, choices)
	}
	t.Logf("%d offers, %d of them with several agents free", offers, choices)
}

// Fewest-calls always picks an agent with the fewest calls, and brings
// agents who logged in late level with the others.
func TestFewestCallsEqualises(t *testing.T) {
	us := users(6)
	s := newSim(t, acd.Queue{Name: "q", Strategy: acd.FewestCalls, Members: us}, nil)
	for _, u := range us[:3] {
		s.login(u, nil)
	}
	b := newBusySim(s, 4, 10)
	for i := range 10000 {
		if i == 3000 {
			for _, u := range us[3:] {
				s.login(u, nil)
			}
		}
		for _, r := range b.step(acd.Facts{}) {
			fewest := slices.MinFunc(r.free, func(x, y acd.Agent) int { return x.Calls - y.Calls })
			if a := r.o.Agents[0]; a.Calls != fewest.Calls {
				t.Fatalf("route %d: offered %s with %d calls, %s had %d", i, a.Username, a.Calls, fewest.Username, fewest.Calls)
			}
		}
	}
	agents, err := s.st.Agents(bg)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := agents[0].Calls, agents[0].Calls
	for _, a := range agents {
		lo, hi = min(lo, a.Calls), max(hi, a.Calls)
	}
	// An agent on a call can fall behind by the calls the others take
	// meanwhile, no more.
	if hi-lo > 3 {
		t.Fatalf("calls range from %d to %d: %v", lo, hi, agents)
	}
	t.Logf("calls from %d to %d", lo, hi)
}

// Skills: the best level free always gets the call, and a caller who
// waited long enough accepts lower levels.
func TestSkillsBestLevelAndWidening(t *testing.T) {
	q := acd.Queue{Name: "q", Strategy: acd.BestSkill, Skill: acd.SkillNeed{Name: "sales", MinLevel: 5,
		Widen: []acd.Widen{{After: 30 * time.Second, MinLevel: 3}, {After: time.Minute, MinLevel: 1}}},
		Priority: []acd.PriorityRule{{Tag: "vip", Ahead: 45 * time.Second}}}
	s := newSim(t, q, nil)
	levels := map[string]int{"a9": 9, "b7": 7, "c7": 7, "d4": 4, "e2": 2}
	for u, l := range levels {
		s.login(u, map[string]int{"sales": l})
	}
	s.login("nosales", map[string]int{"support": 10})

	rnd := newRand(5)
	for i := range 10000 {
		var away []string
		for u := range levels {
			if rnd.Float64() < 0.5 {
				away = append(away, u)
				s.setState(u, acd.Break)
			}
		}
		s.enqueue(acd.Facts{})
		free := s.offerable()
		o, ok, err := s.r.Next(bg, "q")
		if err != nil {
			t.Fatal(err)
		}
		best := 0
		for _, a := range free {
			if l := a.Skills["sales"]; l >= 5 {
				best = max(best, l)
			}
		}
		switch {
		case best == 0 && ok:
			t.Fatalf("route %d offered %s below level 5 to a new caller", i, o.Agents[0].Username)
		case best > 0 && !ok:
			t.Fatalf("route %d offered nothing with level %d free", i, best)
		case ok && o.Agents[0].Skills["sales"] != best:
			t.Fatalf("route %d offered %s, level %d was free", i, o.Agents[0].Username, best)
		case ok:
			s.serve(o)
		default:
			s.removeHead()
		}
		for _, u := range away {
			s.setState(u, acd.Available)
		}
	}

	// Only the low levels free: nothing at first, d4 after 30 s, e2
	// after a minute; a VIP counts their 45 s as waited.
	for _, u := range []string{"a9", "b7", "c7"} {
		s.setState(u, acd.Break)
	}
	s.setState("d4", acd.Break)
	s.enqueue(acd.Facts{})
	s.none()
	s.clk.Advance(30 * time.Second)
	s.setState("d4", acd.Available)
	if o := s.next(); o.Agents[0].Username != "d4" {
		t.Fatalf("after 30 s offered %s", o.Agents[0].Username)
	} else {
		s.serve(o)
	}
	s.setState("d4", acd.Break)
	s.enqueue(acd.Facts{})
	s.clk.Advance(30 * time.Second)
	s.none()
	s.clk.Advance(30 * time.Second)
	if o := s.next(); o.Agents[0].Username != "e2" {
		t.Fatalf("after 60 s offered %s", o.Agents[0].Username)
	} else {
		s.serve(o)
	}
	s.setState("e2", acd.Break)
	s.setState("d4", acd.Available)
	s.enqueue(acd.Facts{Tags: []string{"vip"}})
	if o := s.next(); o.Agents[0].Username != "d4" {
		t.Fatalf("a VIP was offered %s", o.Agents[0].Username)
	}
}

// Priority: callers are served by key (arrival less the rule's ahead),
// FIFO among equals; a caller is overtaken only by callers who arrived
// less than the largest ahead after them, so nobody starves.
func TestPriorityOrderAndNoStarvation(t *testing.T) {
	q := acd.Queue{Name: "q", Strategy: acd.LongestIdle, Members: []string{"ada"},
		Priority: []acd.PriorityRule{{Tag: "vip", Ahead: 2 * time.Minute}, {Segment: "gold", Ahead: 30 * time.Second}}}
	s := newSim(t, q, nil)
	s.login("ada", nil)
	s.setState("ada", acd.Break)
	n1 := s.enqueue(acd.Facts{})
	s.clk.Advance(10 * time.Second)
	n2 := s.enqueue(acd.Facts{})
	s.clk.Advance(10 * time.Second)
	vip := s.enqueue(acd.Facts{Tags: []string{"vip"}})
	s.clk.Advance(5 * time.Second)
	gold := s.enqueue(acd.Facts{Segment: "gold"}) // key 5 s before n1's
	s.clk.Advance(time.Second)
	n3 := s.enqueue(acd.Facts{})
	vip2 := s.enqueue(acd.Facts{Tags: []string{"vip"}})
	want := []string{vip.ID, vip2.ID, gold.ID, n1.ID, n2.ID, n3.ID}
	s.setState("ada", acd.Available)
	var got []string
	for range want {
		got = append(got, s.serveCaller(s.next()))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("served %v, want %v", got, want)
	}

	// A VIP every 10 s, one call served every 15 s: the VIP backlog grows
	// for ever, yet a normal caller is served once the VIPs who arrived
	// within 2 minutes of them are.
	s.setState("ada", acd.Break)
	normal := s.enqueue(acd.Facts{})
	arrived := map[string]time.Time{normal.ID: normal.Enqueued}
	s.setState("ada", acd.Available)
	served := false
	for tick := 1; tick <= 600 && !served; tick++ {
		s.clk.Advance(5 * time.Second)
		if tick%2 == 0 {
			c := s.enqueue(acd.Facts{Tags: []string{"vip"}})
			arrived[c.ID] = c.Enqueued
		}
		if tick%3 != 0 {
			continue
		}
		id := s.serveCaller(s.next())
		if id == normal.ID {
			served = true
		} else if arrived[id].Sub(normal.Enqueued) >= 2*time.Minute {
			t.Fatalf("a VIP who came %v after the normal caller went first", arrived[id].Sub(normal.Enqueued))
		}
	}
	if !served {
		t.Fatal("the normal caller starved")
	}
}

// Over 10,000 callers arriving at random, a quarter of them with a
// priority, served by three agents: each offer goes to the waiting caller
// with the smallest key (FIFO among equals), and whoever it overtakes
// arrived less than the largest ahead before it.
func TestPriorityStatistical(t *testing.T) {
	const most = 2 * time.Minute
	q := acd.Queue{Name: "q", Strategy: acd.LongestIdle, Members: users(3),
		Priority: []acd.PriorityRule{{Tag: "vip", Ahead: most}, {Segment: "gold", Ahead: 30 * time.Second}}}
	s := newSim(t, q, nil)
	for _, u := range users(3) {
		s.login(u, nil)
	}
	b := newBusySim(s, 8, 8)
	facts := []acd.Facts{{Tags: []string{"vip"}}, {Segment: "gold"}, {}, {}, {}, {}, {}, {}}
	overtaken := 0
	for i := range 10000 {
		for _, r := range b.step(facts[b.rnd.IntN(len(facts))]) {
			var served *acd.Caller
			for j := range r.waiting {
				if r.waiting[j].ID == r.o.Caller {
					served = &r.waiting[j]
				}
			}
			if served == nil {
				t.Fatalf("route %d: %s was not waiting", i, r.o.Caller)
			}
			for _, c := range r.waiting {
				if c.ID != served.ID && c.Before(served) {
					t.Fatalf("route %d: %s served before %s, which was ahead", i, served.ID, c.ID)
				}
				if c.Enqueued.Before(served.Enqueued) {
					overtaken++
					if d := served.Enqueued.Sub(c.Enqueued); d >= most {
						t.Fatalf("route %d: %s overtook %s, who came %v earlier", i, served.ID, c.ID, d)
					}
				}
			}
		}
	}
	if overtaken == 0 {
		t.Fatal("nobody was ever overtaken: the test proves nothing")
	}
	t.Logf("%d overtakings, all by callers who came less than %v later", overtaken, most)
}

func (s *sim) serveCaller(o acd.Offer) string {
	s.t.Helper()
	s.serve(o)
	return o.Caller
}

// lossy is a store on which other nodes win races: before chosen claims
// reach the store it takes the agent away (steal) or the head caller.
type lossy struct {
	acd.Store
	mu     sync.Mutex
	claims int
	steal  func(n int, c acd.Claim) // runs before claim n (from 1)
}

func (l *lossy) Claim(ctx context.Context, c acd.Claim) (acd.Offer, error) {
	l.mu.Lock()
	l.claims++
	n := l.claims
	l.mu.Unlock()
	if l.steal != nil {
		l.steal(n, c)
	}
	return l.Store.Claim(ctx, c)
}

func TestNextRetriesLostRaces(t *testing.T) {
	q := acd.Queue{Name: "q", Strategy: acd.LongestIdle, Members: []string{"ada", "bob", "cat"}}
	s := newSim(t, q, nil)
	l := &lossy{Store: s.st}
	r, err := acd.NewRouter(l, acd.Config{Queues: []acd.Queue{{Name: "q", Strategy: acd.LongestIdle,
		Members: q.Members, RingTimeout: time.Second}}}, acd.Options{Node: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range q.Members {
		s.login(u, nil)
		s.clk.Advance(time.Second)
	}
	c1 := s.enqueue(acd.Facts{})
	c2 := s.enqueue(acd.Facts{})

	// Another node takes ada (the longest idle) just before our claim:
	// the router moves on to bob.
	l.steal = func(n int, c acd.Claim) {
		if n == 1 {
			if _, err := s.st.SetState(bg, c.Agents[0], acd.Break, "elsewhere"); err != nil {
				t.Error(err)
			}
		}
	}
	o, ok, err := r.Next(bg, "q")
	if err != nil || !ok || o.Caller != c1.ID || o.Agents[0].Username != "bob" || l.claims != 2 {
		t.Fatalf("after losing ada: %+v %v %v (%d claims)", o, ok, err, l.claims)
	}

	// Another node offers the head caller first: a fresh snapshot, the
	// next caller.
	s.setState("ada", acd.Available)
	c3 := s.enqueue(acd.Facts{})
	l.claims = 0
	l.steal = func(n int, c acd.Claim) {
		if n == 1 {
			if _, err := s.st.Claim(bg, acd.Claim{Queue: "q", Caller: c.Caller, Agents: []string{"cat"}, Node: "n2"}); err != nil {
				t.Error(err)
			}
		}
	}
	o, ok, err = r.Next(bg, "q")
	if err != nil || !ok || o.Caller != c3.ID || o.Agents[0].Username != "ada" || l.claims != 2 {
		t.Fatalf("after losing the head %s: %+v %v %v (%d claims)", c2.ID, o, ok, err, l.claims)
	}

	// Losing every time ends in ErrContended, not a loop.
	s2 := newSim(t, acd.Queue{Name: "q", Strategy: acd.RoundRobin, Members: []string{"ada", "dan"}}, nil)
	s2.login("ada", nil)
	s2.login("dan", nil)
	s2.setState("dan", acd.Break)
	s2.enqueue(acd.Facts{})
	l2 := &lossy{Store: s2.st, steal: func(n int, c acd.Claim) {
		s2.setState(c.Agents[0], acd.Break)
		s2.setState(other(c.Agents[0]), acd.Available)
	}}
	r2, err := acd.NewRouter(l2, acd.Config{Queues: []acd.Queue{{Name: "q", Strategy: acd.RoundRobin,
		Members: []string{"ada", "dan"}, RingTimeout: time.Second}}}, acd.Options{Node: "n1", Snapshots: 4})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r2.Next(bg, "q"); !errors.Is(err, acd.ErrContended) || l2.claims != 4 {
		t.Fatalf("always losing: %v after %d claims", err, l2.claims)
	}
}

func other(u string) string {
	if u == "ada" {
		return "dan"
	}
	return "ada"
}

func TestRouterQueues(t *testing.T) {
	c := load(t)
	st := memacd.New(memacd.Options{})
	r, err := acd.NewRouter(st, c, acd.Options{Node: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	if q, ok := r.QueueForLine("sales-line"); !ok || q.Name != "sales" {
		t.Fatalf("queue for sales-line: %v %v", q.Name, ok)
	}
	if _, ok := r.QueueForLine("unknown"); ok {
		t.Fatal("a queue for an unknown line")
	}
	for _, tc := range []struct {
		a    acd.Agent
		want []string
	}{
		{acd.Agent{Username: "ada", Skills: map[string]int{"sales": 1}}, []string{"sales"}},
		{acd.Agent{Username: "ada"}, nil},
		{acd.Agent{Username: "dan"}, []string{"support"}},
		{acd.Agent{Username: "zed", Skills: map[string]int{"sales": 9}}, nil},
	} {
		if got := r.QueuesOf(tc.a); !slices.Equal(got, tc.want) {
			t.Errorf("queues of %+v = %v, want %v", tc.a, got, tc.want)
		}
	}
	if _, err := acd.NewRouter(st, acd.Config{Queues: []acd.Queue{{Name: "x"}}}, acd.Options{Node: "n1"}); err == nil {
		t.Fatal("an invalid configuration was accepted")
	}

	// A VIP enqueued through the router is placed by the rules; overflow
	// takes the caller out and says where to.
	if _, err := r.Enqueue(bg, "sales", "plain", acd.Facts{}); err != nil {
		t.Fatal(err)
	}
	vip, err := r.Enqueue(bg, "sales", "vip", acd.Facts{Tags: []string{"vip"}})
	if err != nil || vip.Position != 1 || vip.Ahead != 2*time.Minute || vip.Node != "n1" {
		t.Fatalf("vip: %+v %v", vip, err)
	}
	rm, to, err := r.Overflow(bg, "plain")
	if err != nil || rm.Caller.ID != "plain" || to != (acd.Overflow{Kind: acd.OverflowQueue, Target: "support"}) {
		t.Fatalf("overflow: %+v %+v %v", rm, to, err)
	}
	if _, _, err := r.Overflow(bg, "plain"); !errors.Is(err, acd.ErrNotFound) {
		t.Fatalf("overflow twice: %v", err)
	}
	if _, err := r.Enqueue(bg, "nowhere", "x", acd.Facts{}); !errors.Is(err, acd.ErrNotFound) {
		t.Fatalf("enqueue in an unknown queue: %v", err)
	}
}

// The router counts misses against the queue's max_misses and starts
// its wrap-up.
func TestRouterAppliesQueueSettings(t *testing.T) {
	q := acd.Queue{Name: "q", Strategy: acd.LongestIdle, Members: []string{"ada"}, MaxMisses: 2, WrapUp: 30 * time.Second}
	s := newSim(t, q, nil)
	s.login("ada", nil)
	s.enqueue(acd.Facts{})
	for i := 1; i <= 2; i++ {
		o := s.next()
		d, err := s.r.Decline(bg, o.OfferRef, "ada", acd.NoAnswer)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[int]acd.AgentState{1: acd.Available, 2: acd.Break}[i]; d.Agent.State != want {
			t.Fatalf("after %d misses: %+v", i, d.Agent)
		}
	}
	s.setState("ada", acd.Available)
	o := s.next()
	if _, err := s.r.Answer(bg, o.OfferRef, "ada"); err != nil {
		t.Fatal(err)
	}
	a, err := s.r.Finish(bg, o.OfferRef, "ada")
	if err != nil || a.State != acd.WrapUp || a.Until.Sub(a.Since) != 30*time.Second {
		t.Fatalf("finished: %+v %v", a, err)
	}
	s.enqueue(acd.Facts{})
	s.none()
	s.clk.Advance(30 * time.Second)
	s.next()
}

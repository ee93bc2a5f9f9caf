package acdtest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/telephony/acd"
)

// Bench sizes a routing benchmark.
type Bench struct {
	Callers int // waiting, 500 when zero
	Agents  int // available, 200 when zero
}

// Run measures one route decision — the head caller and the agent(s)
// chosen from a fresh snapshot and claimed, Router.Next as a driver calls
// it — with b.Callers waiting and b.Agents free, for each strategy. The
// offered caller is answered, the call finished and a new caller queued
// between routes, so every route sees the same sizes. The p50, p99 and
// max reported are of the routes alone; ns/op is the whole cycle (the
// timer is left running: stopping it reads memory statistics, which stops
// the world on every route).
func (bc Bench) Run(b *testing.B, newStore func(b *testing.B) acd.Store) {
	if bc.Callers == 0 {
		bc.Callers = 500
	}
	if bc.Agents == 0 {
		bc.Agents = 200
	}
	for _, strategy := range []acd.Strategy{acd.LongestIdle, acd.RoundRobin, acd.BestSkill, acd.RingAll} {
		b.Run(string(strategy), func(b *testing.B) { bc.run(b, newStore(b), strategy) })
	}
}

func (bc Bench) run(b *testing.B, st acd.Store, strategy acd.Strategy) {
	q := acd.Queue{Name: "bench", Strategy: strategy, RingTimeout: 15 * time.Second}
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range bc.Agents {
		u := fmt.Sprintf("agent%03d", i)
		skills := map[string]int{"sales": 1 + rnd.IntN(10), "support": 1 + rnd.IntN(10)}
		if _, err := st.Login(bg, acd.AgentLogin{Username: u, Endpoint: "PJSIP/" + u, Reachable: true, Skills: skills}); err != nil {
			b.Fatal(err)
		}
		q.Members = append(q.Members, u)
	}
	if strategy == acd.BestSkill {
		q.Skill = acd.SkillNeed{Name: "sales", MinLevel: 5, Widen: []acd.Widen{{After: time.Minute, MinLevel: 1}}}
	}
	r, err := acd.NewRouter(st, acd.Config{Queues: []acd.Queue{q}}, acd.Options{Node: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	enqueue := func() {
		n++
		if _, err := r.Enqueue(bg, "bench", fmt.Sprint("call", n), acd.Facts{}); err != nil {
			b.Fatal(err)
		}
	}
	for range bc.Callers {
		enqueue()
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		o, ok, err := r.Next(bg, "bench")
		d := time.Since(t0)
		if err != nil || !ok {
			b.Fatalf("next: %v %v", ok, err)
		}
		lat = append(lat, d)
		u := o.Agents[0].Username
		if _, err := r.Answer(bg, o.OfferRef, u); err != nil {
			b.Fatal(err)
		}
		if _, err := r.Finish(bg, o.OfferRef, u); err != nil {
			b.Fatal(err)
		}
		enqueue()
	}
	b.StopTimer()
	slices.Sort(lat)
	q50, q99 := quantile(lat, 0.50), quantile(lat, 0.99)
	b.ReportMetric(float64(q50.Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(q99.Nanoseconds())/1e3, "p99-µs")
	b.ReportMetric(float64(lat[len(lat)-1].Nanoseconds())/1e3, "max-µs")
}

// quantile returns the p-quantile of sorted durations.
func quantile(sorted []time.Duration, p float64) time.Duration {
	return sorted[min(int(p*float64(len(sorted))), len(sorted)-1)]
}

package acd

import (
	"cmp"
	"slices"
	"strings"
)

// route is a queue as the router uses it: members in a set, since every
// route checks every free agent against them.
type route struct {
	*Queue
	members map[string]bool
}

func newRoute(q *Queue) *route {
	r := &route{Queue: q}
	if len(q.Members) > 0 {
		r.members = map[string]bool{}
		for _, m := range q.Members {
			r.members[m] = true
		}
	}
	return r
}

// serves is Queue.Serves with the member set.
func (q *route) serves(a *Agent, min int) bool {
	if q.members != nil && !q.members[a.Username] {
		return false
	}
	return q.skilled(a, min)
}

// candidates ranks who may take snapshot s's head caller under the
// queue's strategy: each group is one claim, tried in order. Ring-all
// makes one group of every eligible agent, the others one group per
// agent. shuffle is Random's. Nil when nobody waits or nobody is
// eligible.
func (q *route) candidates(s *Snapshot, shuffle func(n int, swap func(i, j int))) [][]string {
	if s.Head == nil {
		return nil
	}
	// Widening counts the caller's priority as waiting time, so the head
	// (the smallest key) always accepts at least the levels anyone behind
	// them would: serving only the head never leaves an agent idle that a
	// caller further back could have had.
	min := q.MinLevel(s.Now.Sub(s.Head.Key()))
	var el []*Agent
	for i := range s.Agents {
		a := &s.Agents[i]
		if a.Offerable(s.Now) && q.serves(a, min) {
			el = append(el, a)
		}
	}
	if len(el) == 0 {
		return nil
	}
	idle := func(a, b *Agent) int {
		if c := a.IdleSince().Compare(b.IdleSince()); c != 0 {
			return c
		}
		return strings.Compare(a.Username, b.Username)
	}
	switch q.Strategy {
	case RingAll:
		all := make([]string, len(el))
		for i, a := range el {
			all[i] = a.Username
		}
		slices.Sort(all)
		return [][]string{all}
	case LongestIdle:
		slices.SortFunc(el, idle)
	case RoundRobin:
		slices.SortFunc(el, func(a, b *Agent) int { return strings.Compare(a.Username, b.Username) })
		// Start after the last agent offered, even if they have left.
		i, _ := slices.BinarySearchFunc(el, s.LastOffered, func(a *Agent, u string) int {
			if a.Username <= u {
				return -1
			}
			return 1
		})
		el = append(el[i:], el[:i]...)
	case FewestCalls:
		slices.SortFunc(el, func(a, b *Agent) int {
			return cmp.Or(cmp.Compare(a.Calls, b.Calls), idle(a, b))
		})
	case Random:
		shuffle(len(el), func(i, j int) { el[i], el[j] = el[j], el[i] })
	case BestSkill:
		sk := q.Skill.Name
		slices.SortFunc(el, func(a, b *Agent) int {
			return cmp.Or(cmp.Compare(b.Skills[sk], a.Skills[sk]), idle(a, b))
		})
	}
	out := make([][]string, len(el))
	for i, a := range el {
		out[i] = []string{a.Username}
	}
	return out
}

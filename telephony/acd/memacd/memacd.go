// Package memacd is the in-process acd.Store: the default for a single
// Tamas node. One mutex makes every method atomic; state is lost on restart.
package memacd

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/tamas-cc/tamas/telephony/acd"
)

// Options configure a Store.
type Options struct {
	// Now is the store's clock (time.Now when nil); tests move it by hand.
	Now func() time.Time
}

// Store is an in-memory [acd.Store].
type Store struct {
	now func() time.Time

	mu     sync.Mutex
	rev    uint64
	agents map[string]*acd.Agent
	// names are the agents' usernames in order, so reads need not sort.
	names   []string
	callers map[string]*acd.Caller
	queues  map[string]*queue
}

// queue keeps its callers sorted by acd.Caller.Before: all of them for
// positions, the waiting ones for the head.
type queue struct {
	all, wait []*acd.Caller
	last      string
}

// New returns an empty store.
func New(o Options) *Store {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Store{now: o.Now, agents: map[string]*acd.Agent{}, callers: map[string]*acd.Caller{}, queues: map[string]*queue{}}
}

// clock reads the time at the millisecond, as the Redis store keeps it, so
// both order and report alike.
func (s *Store) clock() time.Time { return time.UnixMilli(s.now().UnixMilli()) }

func (s *Store) next() uint64 {
	s.rev++
	return s.rev
}

// agentCopy is what a reads as at now; the copy shares the skills map,
// which is never changed in place.
func agentCopy(a *acd.Agent, now time.Time) acd.Agent {
	c := *a
	c.Settle(now)
	return c
}

// changed counts a change to a and returns a as it now reads.
func (s *Store) changed(a *acd.Agent, now time.Time) acd.Agent {
	c := agentCopy(a, now)
	c.Rev = s.next()
	return c
}

func (s *Store) agent(u string) (*acd.Agent, error) {
	a := s.agents[u]
	if a == nil {
		return nil, fmt.Errorf("acd: agent %s: %w", u, acd.ErrNotFound)
	}
	return a, nil
}

// Login implements acd.Store.
func (s *Store) Login(ctx context.Context, l acd.AgentLogin) (acd.Agent, error) {
	if err := l.Check(); err != nil {
		return acd.Agent{}, err
	}
	if err := ctx.Err(); err != nil {
		return acd.Agent{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	a := s.agents[l.Username]
	if a == nil {
		a = &acd.Agent{Username: l.Username, State: l.State, Since: now, LoggedIn: now}
		if l.State == acd.Break {
			a.Reason = l.Reason
		}
		s.agents[l.Username] = a
		i, _ := slices.BinarySearch(s.names, l.Username)
		s.names = slices.Insert(s.names, i, l.Username)
	}
	a.Endpoint, a.Reachable, a.Skills = l.Endpoint, l.Reachable, maps.Clone(l.Skills)
	return s.changed(a, now), nil
}

// Logout implements acd.Store.
func (s *Store) Logout(ctx context.Context, username string) (acd.Agent, error) {
	if err := ctx.Err(); err != nil {
		return acd.Agent{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.agent(username)
	if err != nil {
		return acd.Agent{}, err
	}
	if err := acd.CheckLogout(a.State); err != nil {
		return acd.Agent{}, fmt.Errorf("acd: logout %s: %w", username, err)
	}
	delete(s.agents, username)
	if i, ok := slices.BinarySearch(s.names, username); ok {
		s.names = slices.Delete(s.names, i, i+1)
	}
	return acd.Agent{Username: username, State: acd.LoggedOut, Since: s.clock(), Rev: s.next()}, nil
}

// SetState implements acd.Store.
func (s *Store) SetState(ctx context.Context, username string, to acd.AgentState, reason string) (acd.Agent, error) {
	if err := acd.CheckText(reason); err != nil {
		return acd.Agent{}, fmt.Errorf("acd: agent %s: reason: %w", username, err)
	}
	if err := ctx.Err(); err != nil {
		return acd.Agent{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.agent(username)
	if err != nil {
		return acd.Agent{}, err
	}
	now := s.clock()
	a.Settle(now)
	if err := acd.CheckSet(a.State, to); err != nil {
		return acd.Agent{}, fmt.Errorf("acd: agent %s: %w", username, err)
	}
	if to != acd.Break {
		reason = ""
	}
	if a.State != to || a.Reason != reason {
		a.State, a.Reason, a.Since, a.Until = to, reason, now, time.Time{}
	}
	if to == acd.Available {
		a.Misses = 0
	}
	return s.changed(a, now), nil
}

// SetReachable implements acd.Store.
func (s *Store) SetReachable(ctx context.Context, username string, reachable bool) (acd.Agent, error) {
	if err := ctx.Err(); err != nil {
		return acd.Agent{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.agent(username)
	if err != nil {
		return acd.Agent{}, err
	}
	a.Reachable = reachable
	return s.changed(a, s.clock()), nil
}

// Agent implements acd.Store.
func (s *Store) Agent(ctx context.Context, username string) (acd.Agent, error) {
	if err := ctx.Err(); err != nil {
		return acd.Agent{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.agent(username)
	if err != nil {
		return acd.Agent{}, err
	}
	return agentCopy(a, s.clock()), nil
}

// Agents implements acd.Store.
func (s *Store) Agents(ctx context.Context) ([]acd.Agent, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	out := make([]acd.Agent, 0, len(s.agents))
	for _, u := range s.names {
		out = append(out, agentCopy(s.agents[u], now))
	}
	return out, nil
}

func (s *Store) queue(name string) *queue {
	q := s.queues[name]
	if q == nil {
		q = &queue{}
		s.queues[name] = q
	}
	return q
}

func cmpCaller(a, b *acd.Caller) int {
	switch {
	case a == b:
		return 0
	case a.Before(b):
		return -1
	}
	return 1
}

func insert(list []*acd.Caller, c *acd.Caller) []*acd.Caller {
	i, _ := slices.BinarySearchFunc(list, c, cmpCaller)
	return slices.Insert(list, i, c)
}

func drop(list []*acd.Caller, c *acd.Caller) []*acd.Caller {
	if i, ok := slices.BinarySearchFunc(list, c, cmpCaller); ok {
		return slices.Delete(list, i, i+1)
	}
	return list
}

// callerCopy is what a caller reads as at now.
func (s *Store) callerCopy(c *acd.Caller, now time.Time) acd.Caller {
	out := *c
	out.Ringing = slices.Clone(c.Ringing)
	if i, ok := slices.BinarySearchFunc(s.queues[c.Queue].all, c, cmpCaller); ok {
		out.Position = i + 1
	}
	out.Wait = max(now.Sub(c.Enqueued), 0)
	return out
}

// Enqueue implements acd.Store.
func (s *Store) Enqueue(ctx context.Context, e acd.Entry) (acd.Caller, error) {
	if err := e.Check(); err != nil {
		return acd.Caller{}, err
	}
	if err := ctx.Err(); err != nil {
		return acd.Caller{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.callers[e.ID]; c != nil {
		return acd.Caller{}, fmt.Errorf("acd: enqueue %s in %s: in %s: %w", e.ID, e.Queue, c.Queue, acd.ErrQueued)
	}
	now := s.clock()
	c := &acd.Caller{ID: e.ID, Queue: e.Queue, State: acd.Waiting, Node: e.Node, Enqueued: now,
		Ahead: e.Ahead.Truncate(time.Millisecond), Seq: s.next()}
	s.callers[e.ID] = c
	q := s.queue(e.Queue)
	q.all = insert(q.all, c)
	q.wait = insert(q.wait, c)
	return s.callerCopy(c, now), nil
}

// release frees the agents ringing for c's current offer, but for keep.
func (s *Store) release(c *acd.Caller, keep string, now time.Time) []string {
	var out []string
	for _, u := range c.Ringing {
		a := s.agents[u]
		if u == keep || a == nil || a.State != acd.Ringing || a.Call != c.ID || a.Attempt != c.Attempt {
			continue
		}
		a.State, a.Since, a.Call, a.Attempt = acd.Available, now, "", 0
		out = append(out, u)
	}
	return out
}

// forget takes c out of the store.
func (s *Store) forget(c *acd.Caller) {
	q := s.queues[c.Queue]
	q.all = drop(q.all, c)
	q.wait = drop(q.wait, c)
	delete(s.callers, c.ID)
}

// Remove implements acd.Store.
func (s *Store) Remove(ctx context.Context, id string, why acd.RemoveReason) (acd.Removed, error) {
	if err := ctx.Err(); err != nil {
		return acd.Removed{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.callers[id]
	if c == nil {
		return acd.Removed{}, fmt.Errorf("acd: remove %s (%s): %w", id, why, acd.ErrNotFound)
	}
	now := s.clock()
	var rm acd.Removed
	if c.State == acd.Offered {
		rm.Released = s.release(c, "", now)
	}
	rm.Caller = s.callerCopy(c, now)
	s.forget(c)
	rm.Rev = s.next()
	return rm, nil
}

// Caller implements acd.Store.
func (s *Store) Caller(ctx context.Context, id string) (acd.Caller, error) {
	if err := ctx.Err(); err != nil {
		return acd.Caller{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.callers[id]
	if c == nil {
		return acd.Caller{}, fmt.Errorf("acd: caller %s: %w", id, acd.ErrNotFound)
	}
	return s.callerCopy(c, s.clock()), nil
}

// Callers implements acd.Store.
func (s *Store) Callers(ctx context.Context, queue string) ([]acd.Caller, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	q := s.queues[queue]
	if q == nil {
		return nil, nil
	}
	out := make([]acd.Caller, len(q.all))
	for i, c := range q.all {
		out[i] = *c
		out[i].Ringing = slices.Clone(c.Ringing)
		out[i].Position = i + 1
		out[i].Wait = max(now.Sub(c.Enqueued), 0)
	}
	return out, nil
}

// Snapshot implements acd.Store.
func (s *Store) Snapshot(ctx context.Context, queue string) (acd.Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return acd.Snapshot{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	snap := acd.Snapshot{Now: now, Queue: queue}
	if q := s.queues[queue]; q != nil {
		if len(q.wait) > 0 {
			h := s.callerCopy(q.wait[0], now)
			snap.Head = &h
		}
		snap.Waiting = len(q.wait)
		snap.LastOffered = q.last
	}
	for _, u := range s.names {
		if a := s.agents[u]; a.Offerable(now) {
			snap.Agents = append(snap.Agents, agentCopy(a, now))
		}
	}
	return snap, nil
}

// Claim implements acd.Store.
func (s *Store) Claim(ctx context.Context, cl acd.Claim) (acd.Offer, error) {
	if err := ctx.Err(); err != nil {
		return acd.Offer{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.callers[cl.Caller]
	if c == nil || c.Queue != cl.Queue {
		return acd.Offer{}, fmt.Errorf("acd: claim %s in %s: %w", cl.Caller, cl.Queue, acd.ErrNotFound)
	}
	q := s.queues[c.Queue]
	if c.State != acd.Waiting || q.wait[0] != c {
		return acd.Offer{}, fmt.Errorf("acd: claim %s in %s: %w", cl.Caller, cl.Queue, acd.ErrNotHead)
	}
	now := s.clock()
	att := c.Attempt + 1
	var got []*acd.Agent
	for _, u := range cl.Agents {
		a := s.agents[u]
		if a == nil || !a.Offerable(now) {
			continue
		}
		a.State, a.Reason, a.Since, a.Until, a.Call, a.Attempt = acd.Ringing, "", now, time.Time{}, c.ID, att
		got = append(got, a)
	}
	if len(got) == 0 {
		return acd.Offer{}, fmt.Errorf("acd: claim %s in %s: %w", cl.Caller, cl.Queue, acd.ErrAgentsBusy)
	}
	c.State, c.Attempt, c.OfferedAt, c.OfferedBy, c.Ringing = acd.Offered, att, now, cl.Node, nil
	for _, a := range got {
		c.Ringing = append(c.Ringing, a.Username)
	}
	q.wait = q.wait[1:]
	q.last = got[0].Username
	o := acd.Offer{OfferRef: acd.OfferRef{Queue: c.Queue, Caller: c.ID, Attempt: att}, At: now,
		Holder: c.Node, Enqueued: c.Enqueued, Rev: s.next()}
	o.Position = s.callerCopy(c, now).Position
	for _, a := range got {
		o.Agents = append(o.Agents, agentCopy(a, now))
		o.Agents[len(o.Agents)-1].Rev = o.Rev
	}
	return o, nil
}

// ringingFor returns the agent if it is ringing for ref, the caller if
// the offer is current.
func (s *Store) ringingFor(ref acd.OfferRef, agent string) (*acd.Agent, *acd.Caller) {
	a := s.agents[agent]
	if a == nil || a.State != acd.Ringing || a.Call != ref.Caller || a.Attempt != ref.Attempt {
		return nil, nil
	}
	c := s.callers[ref.Caller]
	if c == nil || c.State != acd.Offered || c.Attempt != ref.Attempt {
		return a, nil
	}
	return a, c
}

func stale(op string, ref acd.OfferRef, agent string) error {
	return fmt.Errorf("acd: %s %s#%d by %s: %w", op, ref.Caller, ref.Attempt, agent, acd.ErrStale)
}

// Answer implements acd.Store.
func (s *Store) Answer(ctx context.Context, ref acd.OfferRef, agent string) (acd.Answered, error) {
	if err := ctx.Err(); err != nil {
		return acd.Answered{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, c := s.ringingFor(ref, agent)
	if c == nil {
		return acd.Answered{}, stale("answer", ref, agent)
	}
	now := s.clock()
	a.State, a.Since, a.Misses = acd.OnCall, now, 0
	a.Calls++
	an := acd.Answered{Released: s.release(c, agent, now), Caller: s.callerCopy(c, now)}
	s.forget(c)
	an.Agent = s.changed(a, now)
	an.Rev = an.Agent.Rev
	return an, nil
}

// Decline implements acd.Store.
func (s *Store) Decline(ctx context.Context, ref acd.OfferRef, agent string, why acd.Outcome, maxMisses int) (acd.Declined, error) {
	if err := acd.CheckOutcome(why); err != nil {
		return acd.Declined{}, err
	}
	if err := ctx.Err(); err != nil {
		return acd.Declined{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, c := s.ringingFor(ref, agent)
	if a == nil {
		return acd.Declined{}, stale("decline", ref, agent)
	}
	now := s.clock()
	a.State, a.Since, a.Call, a.Attempt = acd.Available, now, "", 0
	switch why {
	case acd.Failed:
		a.Reachable = false
	default:
		a.Misses++
		if maxMisses > 0 && a.Misses >= maxMisses {
			a.State, a.Reason = acd.Break, acd.BreakMissed
		}
	}
	var d acd.Declined
	if c != nil {
		c.Ringing = slices.DeleteFunc(c.Ringing, func(u string) bool { return u == agent })
		if len(c.Ringing) == 0 {
			c.State, c.Ringing, c.OfferedAt, c.OfferedBy = acd.Waiting, nil, time.Time{}, ""
			q := s.queues[c.Queue]
			q.wait = insert(q.wait, c)
			d.Requeued = true
		}
		d.Caller = s.callerCopy(c, now)
	}
	d.Agent = s.changed(a, now)
	d.Rev = d.Agent.Rev
	return d, nil
}

// Finish implements acd.Store.
func (s *Store) Finish(ctx context.Context, ref acd.OfferRef, agent string, wrapUp time.Duration) (acd.Agent, error) {
	if err := ctx.Err(); err != nil {
		return acd.Agent{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.agents[agent]
	if a == nil || a.State != acd.OnCall || a.Call != ref.Caller || a.Attempt != ref.Attempt {
		return acd.Agent{}, stale("finish", ref, agent)
	}
	now := s.clock()
	a.State, a.Since, a.LastCallEnd, a.Call, a.Attempt = acd.Available, now, now, "", 0
	if wrapUp = wrapUp.Truncate(time.Millisecond); wrapUp > 0 {
		a.State, a.Until = acd.WrapUp, now.Add(wrapUp)
	}
	return s.changed(a, now), nil
}

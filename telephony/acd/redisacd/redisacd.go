// Package redisacd is the acd.Store for several Tamas nodes sharing one
// Redis. Every method is one Lua script, so each is atomic across nodes
// and reads the Redis clock: a claim checks the head caller and every
// agent and moves them in one step, which is what keeps two nodes from
// offering one agent two calls or one caller twice. All keys sit under one
// prefix holding a hash tag, so a Redis Cluster keeps them in one slot as
// the scripts need.
package redisacd

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tamas-cc/tamas/telephony/acd"
)

// Options configure a Store.
type Options struct {
	// Prefix namespaces the keys ("{tamas:acd}:"). Keep a hash tag in it
	// for Redis Cluster.
	Prefix string
}

// Store is a Redis-backed [acd.Store].
type Store struct {
	c redis.UniversalClient
	p string
	// The states each change is allowed from, worked out once from acd's
	// rules and handed to the scripts, so the rules live in one place.
	logoutFrom []any
	setFrom    map[acd.AgentState][]any

	// decoded keeps each agent's last line read in a list with what it
	// decoded to: a snapshot reads every free agent, most unchanged since
	// the last one, and parsing them all again was most of its Go time.
	mu      sync.Mutex
	decoded map[string]decoded
}

type decoded struct {
	line string
	a    acd.Agent
}

var allStates = []acd.AgentState{acd.Available, acd.Ringing, acd.OnCall, acd.WrapUp, acd.Break}

// New returns a store on client after checking that Redis answers; the
// caller keeps ownership of the client.
func New(ctx context.Context, client redis.UniversalClient, o Options) (*Store, error) {
	if client == nil {
		return nil, errors.New("redis acd: no client")
	}
	if o.Prefix == "" {
		o.Prefix = "{tamas:acd}:"
	}
	if err := client.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("redis acd: %w", err)
	}
	s := &Store{c: client, p: o.Prefix, setFrom: map[acd.AgentState][]any{}, decoded: map[string]decoded{}}
	for _, from := range allStates {
		if acd.CheckLogout(from) == nil {
			s.logoutFrom = append(s.logoutFrom, string(from))
		}
		for _, to := range []acd.AgentState{acd.Available, acd.Break} {
			if acd.CheckSet(from, to) == nil {
				s.setFrom[to] = append(s.setFrom[to], string(from))
			}
		}
	}
	return s, nil
}

// reply is a script's answer past its code.
type reply struct {
	rev  uint64
	now  time.Time
	rest []any
}

// run runs a script and maps its error codes; what names the operation
// in errors.
// changed decodes the agent a change returned.
func changed(r reply, i int) (acd.Agent, error) {
	a, err := decodeAgent(r.rest[i], r.now)
	a.Rev = r.rev
	return a, err
}

func (s *Store) run(ctx context.Context, sc *redis.Script, what string, args ...any) (reply, error) {
	res, err := sc.Run(ctx, s.c, nil, append([]any{s.p}, args...)...).Slice()
	if err != nil {
		return reply{}, fmt.Errorf("redis acd: %s: %w", what, err)
	}
	code, _ := res[0].(string)
	switch code {
	case "ok":
	case "not_found":
		return reply{}, fmt.Errorf("acd: %s: %w", what, acd.ErrNotFound)
	case "queued":
		return reply{}, fmt.Errorf("acd: %s: in %s: %w", what, str(res, 1), acd.ErrQueued)
	case "transition":
		return reply{}, fmt.Errorf("acd: %s: %w: from %s", what, acd.ErrTransition, str(res, 1))
	case "not_head":
		return reply{}, fmt.Errorf("acd: %s: %w", what, acd.ErrNotHead)
	case "busy":
		return reply{}, fmt.Errorf("acd: %s: %w", what, acd.ErrAgentsBusy)
	case "stale":
		return reply{}, fmt.Errorf("acd: %s: %w", what, acd.ErrStale)
	default:
		return reply{}, fmt.Errorf("redis acd: %s: unexpected reply %v", what, res)
	}
	if len(res) < 3 {
		return reply{}, fmt.Errorf("redis acd: %s: short reply %v", what, res)
	}
	rev, err1 := strconv.ParseUint(str(res, 1), 10, 64)
	ms, err2 := strconv.ParseInt(str(res, 2), 10, 64)
	if err1 != nil || err2 != nil {
		return reply{}, fmt.Errorf("redis acd: %s: unexpected reply %v", what, res)
	}
	return reply{rev: rev, now: time.UnixMilli(ms), rest: res[3:]}, nil
}

func str(v []any, i int) string {
	if i >= len(v) {
		return ""
	}
	s, _ := v[i].(string)
	return s
}

func num(v []any, i int) int64 {
	n, _ := strconv.ParseInt(str(v, i), 10, 64)
	return n
}

func ms(v []any, i int) time.Time {
	if n := num(v, i); n > 0 {
		return time.UnixMilli(n)
	}
	return time.Time{}
}

func list(v []any, i int) []any {
	if i >= len(v) {
		return nil
	}
	l, _ := v[i].([]any)
	return l
}

// Field positions in the scripts' AF and CF.
const (
	aUser = iota
	aState
	aReason
	aSince
	aUntil
	aLogin
	aCalls
	aMiss
	aLast
	aEndpoint
	aReach
	aCall
	aAttempt
	aSkills
	aFields
)

const (
	cID = iota
	cQueue
	cState
	cNode
	cEnqueued
	cAhead
	cSeq
	cAttempt
	cRing
	cOffered
	cBy
	cMember
	cPosition
	cFields
)

// decodeAgent reads an agent's line: its AF fields joined by the unit
// separator.
func decodeAgent(v any, now time.Time) (acd.Agent, error) {
	l, _ := v.(string)
	var f [aFields]string
	rest := l
	for i := range f {
		var ok bool
		if f[i], rest, ok = strings.Cut(rest, "\x1f"); !ok && i != aFields-1 {
			return acd.Agent{}, fmt.Errorf("redis acd: malformed agent %q", l)
		}
	}
	if f[aUser] == "" {
		return acd.Agent{}, fmt.Errorf("redis acd: malformed agent %q", l)
	}
	t := func(s string) time.Time {
		if n, _ := strconv.ParseInt(s, 10, 64); n > 0 {
			return time.UnixMilli(n)
		}
		return time.Time{}
	}
	i := func(s string) int { n, _ := strconv.Atoi(s); return n }
	a := acd.Agent{
		Username: f[aUser], State: acd.AgentState(f[aState]), Reason: f[aReason],
		Since: t(f[aSince]), Until: t(f[aUntil]), LoggedIn: t(f[aLogin]),
		Calls: i(f[aCalls]), Misses: i(f[aMiss]), LastCallEnd: t(f[aLast]),
		Endpoint: f[aEndpoint], Reachable: f[aReach] == "1",
		Call: f[aCall], Attempt: i(f[aAttempt]),
		Skills: decodeSkills(f[aSkills]),
	}
	a.Settle(now)
	return a, nil
}

func encodeSkills(sk map[string]int) string {
	names := slices.Sorted(maps.Keys(sk))
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(n)
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(sk[n]))
	}
	return b.String()
}

func decodeSkills(s string) map[string]int {
	if s == "" {
		return nil
	}
	out := map[string]int{}
	for p := range strings.SplitSeq(s, ",") {
		name, lvl, _ := strings.Cut(p, ":")
		out[name], _ = strconv.Atoi(lvl)
	}
	return out
}

func decodeCaller(v any, now time.Time) (acd.Caller, error) {
	f, _ := v.([]any)
	if len(f) != cFields || str(f, cID) == "" {
		return acd.Caller{}, fmt.Errorf("redis acd: malformed caller %v", v)
	}
	c := acd.Caller{
		ID: str(f, cID), Queue: str(f, cQueue), State: acd.CallerState(str(f, cState)), Node: str(f, cNode),
		Enqueued: ms(f, cEnqueued), Ahead: time.Duration(num(f, cAhead)) * time.Millisecond,
		Seq: uint64(num(f, cSeq)), Attempt: int(num(f, cAttempt)), OfferedAt: ms(f, cOffered),
		OfferedBy: str(f, cBy), Position: int(num(f, cPosition)),
	}
	if r := str(f, cRing); r != "" {
		c.Ringing = strings.Split(r, ",")
	}
	c.Wait = max(now.Sub(c.Enqueued), 0)
	return c, nil
}

func decodeNames(v []any) []string {
	if len(v) == 0 {
		return nil
	}
	out := make([]string, len(v))
	for i := range v {
		out[i] = str(v, i)
	}
	return out
}

func bit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// Login implements acd.Store.
func (s *Store) Login(ctx context.Context, l acd.AgentLogin) (acd.Agent, error) {
	if err := l.Check(); err != nil {
		return acd.Agent{}, err
	}
	reason := l.Reason
	if l.State != acd.Break {
		reason = ""
	}
	r, err := s.run(ctx, loginScript, "login "+l.Username, l.Username, l.Endpoint, bit(l.Reachable), string(l.State), reason, encodeSkills(l.Skills))
	if err != nil {
		return acd.Agent{}, err
	}
	return changed(r, 0)
}

// Logout implements acd.Store.
func (s *Store) Logout(ctx context.Context, username string) (acd.Agent, error) {
	r, err := s.run(ctx, logoutScript, "logout "+username, append([]any{username}, s.logoutFrom...)...)
	if err != nil {
		return acd.Agent{}, err
	}
	s.mu.Lock()
	delete(s.decoded, username)
	s.mu.Unlock()
	return acd.Agent{Username: username, State: acd.LoggedOut, Since: r.now, Rev: r.rev}, nil
}

// SetState implements acd.Store.
func (s *Store) SetState(ctx context.Context, username string, to acd.AgentState, reason string) (acd.Agent, error) {
	if err := acd.CheckText(reason); err != nil {
		return acd.Agent{}, fmt.Errorf("acd: agent %s: reason: %w", username, err)
	}
	from, ok := s.setFrom[to]
	if !ok {
		return acd.Agent{}, fmt.Errorf("acd: agent %s: %w", username, acd.CheckSet(acd.Available, to))
	}
	if to != acd.Break {
		reason = ""
	}
	r, err := s.run(ctx, setStateScript, "agent "+username+" to "+string(to), append([]any{username, string(to), reason}, from...)...)
	if err != nil {
		return acd.Agent{}, err
	}
	return changed(r, 0)
}

// SetReachable implements acd.Store.
func (s *Store) SetReachable(ctx context.Context, username string, reachable bool) (acd.Agent, error) {
	r, err := s.run(ctx, reachScript, "agent "+username, username, bit(reachable))
	if err != nil {
		return acd.Agent{}, err
	}
	return changed(r, 0)
}

// Agent implements acd.Store.
func (s *Store) Agent(ctx context.Context, username string) (acd.Agent, error) {
	r, err := s.run(ctx, agentScript, "agent "+username, username)
	if err != nil {
		return acd.Agent{}, err
	}
	return decodeAgent(r.rest[0], r.now)
}

// Agents implements acd.Store.
func (s *Store) Agents(ctx context.Context) ([]acd.Agent, error) {
	r, err := s.run(ctx, agentScript, "agents")
	if err != nil {
		return nil, err
	}
	return s.agents(list(r.rest, 0), r.now)
}

func (s *Store) agents(v []any, now time.Time) ([]acd.Agent, error) {
	// A line starts with the username and the separator sorts before any
	// character a name may hold, so lines sort as their usernames; sorting
	// strings is cheaper than sorting agents.
	slices.SortFunc(v, func(a, b any) int { x, _ := a.(string); y, _ := b.(string); return strings.Compare(x, y) })
	out := make([]acd.Agent, 0, len(v))
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range v {
		l, _ := x.(string)
		u, _, _ := strings.Cut(l, "\x1f")
		if d, ok := s.decoded[u]; ok && d.line == l {
			a := d.a
			a.Settle(now)
			out = append(out, a)
			continue
		}
		// Kept unsettled (the zero time settles nothing): whether a
		// wrap-up ran out depends on the time of each read.
		raw, err := decodeAgent(x, time.Time{})
		if err != nil {
			return nil, err
		}
		s.decoded[u] = decoded{line: l, a: raw}
		raw.Settle(now)
		out = append(out, raw)
	}
	return out, nil
}

// Enqueue implements acd.Store.
func (s *Store) Enqueue(ctx context.Context, e acd.Entry) (acd.Caller, error) {
	if err := e.Check(); err != nil {
		return acd.Caller{}, err
	}
	r, err := s.run(ctx, enqueueScript, "enqueue "+e.ID+" in "+e.Queue, e.ID, e.Queue, e.Node, e.Ahead.Milliseconds())
	if err != nil {
		return acd.Caller{}, err
	}
	return decodeCaller(r.rest[0], r.now)
}

// Remove implements acd.Store.
func (s *Store) Remove(ctx context.Context, id string, why acd.RemoveReason) (acd.Removed, error) {
	r, err := s.run(ctx, removeScript, "remove "+id+" ("+string(why)+")", id)
	if err != nil {
		return acd.Removed{}, err
	}
	c, err := decodeCaller(r.rest[0], r.now)
	if err != nil {
		return acd.Removed{}, err
	}
	return acd.Removed{Caller: c, Released: decodeNames(list(r.rest, 1)), Rev: r.rev}, nil
}

// Caller implements acd.Store.
func (s *Store) Caller(ctx context.Context, id string) (acd.Caller, error) {
	r, err := s.run(ctx, callerScript, "caller "+id, id)
	if err != nil {
		return acd.Caller{}, err
	}
	return decodeCaller(r.rest[0], r.now)
}

// Callers implements acd.Store.
func (s *Store) Callers(ctx context.Context, queue string) ([]acd.Caller, error) {
	r, err := s.run(ctx, callersScript, "callers of "+queue, queue)
	if err != nil {
		return nil, err
	}
	v := list(r.rest, 0)
	out := make([]acd.Caller, 0, len(v))
	for _, x := range v {
		c, err := decodeCaller(x, r.now)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Snapshot implements acd.Store.
func (s *Store) Snapshot(ctx context.Context, queue string) (acd.Snapshot, error) {
	r, err := s.run(ctx, snapshotScript, "snapshot of "+queue, queue)
	if err != nil {
		return acd.Snapshot{}, err
	}
	snap := acd.Snapshot{Now: r.now, Queue: queue, Waiting: int(num(r.rest, 1)), LastOffered: str(r.rest, 2)}
	if h := list(r.rest, 0); len(h) > 0 {
		c, err := decodeCaller(h, r.now)
		if err != nil {
			return acd.Snapshot{}, err
		}
		snap.Head = &c
	}
	if snap.Agents, err = s.agents(list(r.rest, 3), r.now); err != nil {
		return acd.Snapshot{}, err
	}
	// "free" holds wrap-ups still running too.
	snap.Agents = slices.DeleteFunc(snap.Agents, func(a acd.Agent) bool { return !a.Offerable(r.now) })
	return snap, nil
}

// Claim implements acd.Store.
func (s *Store) Claim(ctx context.Context, cl acd.Claim) (acd.Offer, error) {
	args := make([]any, 0, 3+len(cl.Agents))
	args = append(args, cl.Queue, cl.Caller, cl.Node)
	for _, a := range cl.Agents {
		args = append(args, a)
	}
	r, err := s.run(ctx, claimScript, "claim "+cl.Caller+" in "+cl.Queue, args...)
	if err != nil {
		return acd.Offer{}, err
	}
	c, err := decodeCaller(r.rest[0], r.now)
	if err != nil {
		return acd.Offer{}, err
	}
	o := acd.Offer{OfferRef: acd.OfferRef{Queue: c.Queue, Caller: c.ID, Attempt: c.Attempt}, At: r.now,
		Holder: c.Node, Position: c.Position, Enqueued: c.Enqueued, Rev: r.rev}
	for _, x := range list(r.rest, 1) {
		a, err := decodeAgent(x, r.now)
		if err != nil {
			return acd.Offer{}, err
		}
		// The script sends each line as it was before the claim, with the
		// fields it wrote: set them as it did.
		a.State, a.Reason, a.Since, a.Until, a.Call, a.Attempt = acd.Ringing, "", r.now, time.Time{}, c.ID, c.Attempt
		a.Rev = r.rev
		o.Agents = append(o.Agents, a)
	}
	return o, nil
}

func refArgs(ref acd.OfferRef, agent string) []any {
	return []any{ref.Caller, strconv.Itoa(ref.Attempt), agent}
}

func refName(op string, ref acd.OfferRef, agent string) string {
	return fmt.Sprintf("%s %s#%d by %s", op, ref.Caller, ref.Attempt, agent)
}

// Answer implements acd.Store.
func (s *Store) Answer(ctx context.Context, ref acd.OfferRef, agent string) (acd.Answered, error) {
	r, err := s.run(ctx, answerScript, refName("answer", ref, agent), refArgs(ref, agent)...)
	if err != nil {
		return acd.Answered{}, err
	}
	c, err := decodeCaller(r.rest[0], r.now)
	if err != nil {
		return acd.Answered{}, err
	}
	a, err := changed(r, 1)
	if err != nil {
		return acd.Answered{}, err
	}
	return acd.Answered{Agent: a, Caller: c, Released: decodeNames(list(r.rest, 2)), Rev: r.rev}, nil
}

// Decline implements acd.Store.
func (s *Store) Decline(ctx context.Context, ref acd.OfferRef, agent string, why acd.Outcome, maxMisses int) (acd.Declined, error) {
	if err := acd.CheckOutcome(why); err != nil {
		return acd.Declined{}, err
	}
	r, err := s.run(ctx, declineScript, refName("decline", ref, agent),
		append(refArgs(ref, agent), string(why), maxMisses, acd.BreakMissed)...)
	if err != nil {
		return acd.Declined{}, err
	}
	a, err := changed(r, 0)
	if err != nil {
		return acd.Declined{}, err
	}
	d := acd.Declined{Agent: a, Requeued: str(r.rest, 1) == "1", Rev: r.rev}
	if v := list(r.rest, 2); len(v) > 0 {
		if d.Caller, err = decodeCaller(v, r.now); err != nil {
			return acd.Declined{}, err
		}
	}
	return d, nil
}

// Finish implements acd.Store.
func (s *Store) Finish(ctx context.Context, ref acd.OfferRef, agent string, wrapUp time.Duration) (acd.Agent, error) {
	r, err := s.run(ctx, finishScript, refName("finish", ref, agent), append(refArgs(ref, agent), wrapUp.Milliseconds())...)
	if err != nil {
		return acd.Agent{}, err
	}
	return changed(r, 0)
}

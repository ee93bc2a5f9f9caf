package screenpop

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"time"
)

// CallIndex remembers, for recent calls, whom their pops went to and who
// answered. It follows the supervisors' channel, which carries every pop
// from every node, so any node can tell whether an agent had a call —
// whichever node caught it.
type CallIndex struct {
	bus    Bus
	ctx    context.Context
	maxAge time.Duration
	cancel func()

	mu    sync.Mutex
	calls map[string]indexedCall
	// pos is the last message applied; a gap after it is read from the
	// channel's history, so a message the live feed lost is not missed.
	pos Position
	// changed is closed when the index applies a message, waking those
	// Had holds; made only while someone waits.
	changed chan struct{}
}

type indexedCall struct {
	agents     []string
	answeredBy string
	at         time.Time
}

// maxIndexedCalls bounds the index; past it, calls older than maxAge go.
const maxIndexedCalls = 50000

// WatchCalls starts an index over bus's pops; Close stops it.
func WatchCalls(ctx context.Context, bus Bus) (*CallIndex, error) {
	ix := &CallIndex{bus: bus, ctx: ctx, calls: map[string]indexedCall{}, maxAge: 12 * time.Hour}
	// What the channel retains comes first: a node started mid-shift knows
	// the calls already in progress. Anything published between this read
	// and the subscription shows as a gap and is read then.
	if recent, _, err := bus.History(ctx, SupervisorChannel, "", 0, 0); err == nil {
		for _, m := range recent {
			ix.apply(m)
		}
	}
	cancel, err := bus.Subscribe(ctx, SupervisorChannel, ix.receive)
	if err != nil {
		return nil, err
	}
	ix.cancel = cancel
	return ix, nil
}

// receive applies a live message, first catching up from history when the
// feed skipped messages or says it may have.
func (ix *CallIndex) receive(m Message) {
	pos := ix.position()
	gap := m.Data == nil || (pos.Epoch != "" && (m.Epoch != pos.Epoch || m.Seq > pos.Seq+1))
	if gap && pos.Epoch != "" {
		ctx, cancel := context.WithTimeout(ix.ctx, 5*time.Second)
		missed, _, err := ix.bus.History(ctx, SupervisorChannel, pos.Epoch, pos.Seq, 0)
		if errors.Is(err, ErrHistoryGone) {
			missed, _, err = ix.bus.History(ctx, SupervisorChannel, "", 0, 0)
		}
		cancel()
		if err == nil {
			for _, h := range missed {
				ix.apply(h)
			}
		}
	}
	if m.Data != nil {
		ix.apply(m)
	}
}

// position is the last message applied.
func (ix *CallIndex) position() Position {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.pos
}

func (ix *CallIndex) apply(m Message) {
	if pos := ix.position(); m.Epoch == pos.Epoch && m.Seq <= pos.Seq {
		return // already applied
	}
	// Only what the index keeps is decoded: the rest of a pop (matches,
	// history) is skipped without being built.
	var env struct {
		Kind string `json:"kind"`
		Pop  *struct {
			ID         string   `json:"id"`
			Agents     []string `json:"agents"`
			AnsweredBy string   `json:"answered_by"`
		} `json:"pop"`
	}
	isPop := json.Unmarshal(m.Data, &env) == nil && env.Kind == "pop" && env.Pop != nil && env.Pop.ID != ""
	ix.mu.Lock()
	defer ix.mu.Unlock()
	// Every message moves the index on, a pop or not: Had may be waiting
	// for it to reach a position.
	ix.pos = Position{Epoch: m.Epoch, Seq: m.Seq}
	if ix.changed != nil {
		close(ix.changed)
		ix.changed = nil
	}
	if !isPop {
		return
	}
	p := env.Pop
	if len(ix.calls) >= maxIndexedCalls {
		cutoff := time.Now().Add(-ix.maxAge)
		for id, c := range ix.calls {
			if c.at.Before(cutoff) {
				delete(ix.calls, id)
			}
		}
		if len(ix.calls) >= maxIndexedCalls {
			clear(ix.calls)
		}
	}
	ix.calls[p.ID] = indexedCall{agents: slices.Clone(p.Agents), answeredBy: p.AnsweredBy, at: time.Now()}
}

// Allowed reports whether the index knows the call and, if so, whether
// username had it: the agent who answered, or before anyone answered (or
// when the PBX does not say), an agent the pop went to.
func (ix *CallIndex) Allowed(callID, username string) (known, allowed bool) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.allowed(callID, username)
}

// allowed is Allowed with ix.mu held.
func (ix *CallIndex) allowed(callID, username string) (known, allowed bool) {
	c, ok := ix.calls[callID]
	if !ok {
		return false, false
	}
	if c.answeredBy != "" {
		return true, c.answeredBy == username
	}
	return true, slices.Contains(c.agents, username)
}

// learnWait bounds how long Had waits for the index to learn a call.
const learnWait = time.Second

// Had reports, as Allowed does, whether the index knows the call and
// whether username had it; but where Allowed says no, Had first waits for
// the index to catch up, up to a second or until ctx ends. The console
// opens a wrap-up when its own pop says the agent answered, and the
// supervisors' copy this index follows may trail it by moments.
//
// The rule that lets Had stop waiting: each version of a pop is published
// on the supervisors' channel before its agents' channels (see
// Service.publish), so whatever version an agent's console has seen was on
// that channel before the console asked. Had reads the channel's position
// when asked; once the index has applied the channel up to there, its
// answer is final and Had returns at once, for a call it has never heard of
// too. Only while the index trails that position does Had wait, woken by
// each message it applies. A position it cannot read (the bus is down)
// gives no such proof: Had then waits out the deadline.
func (ix *CallIndex) Had(ctx context.Context, callID, username string) (known, had bool) {
	if known, had = ix.Allowed(callID, username); had {
		return known, had
	}
	ctx, cancel := context.WithTimeout(ctx, learnWait)
	defer cancel()
	target, err := ix.bus.Position(ctx, SupervisorChannel)
	for {
		ix.mu.Lock()
		known, had = ix.allowed(callID, username)
		final := had || (err == nil && reached(ix.pos, target))
		if !final && ix.changed == nil {
			ix.changed = make(chan struct{})
		}
		changed := ix.changed
		ix.mu.Unlock()
		if final {
			return known, had
		}
		select {
		case <-ctx.Done():
			return known, had
		case <-changed:
		}
	}
}

// reached reports whether an index at pos has applied every message up to
// target; a channel with nothing on it has nothing to apply.
func reached(pos, target Position) bool {
	return target.Seq == 0 || (pos.Epoch == target.Epoch && pos.Seq >= target.Seq)
}

// AnsweredBy returns who answered the call, if the index knows.
func (ix *CallIndex) AnsweredBy(callID string) string {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.calls[callID].answeredBy
}

// Close stops following the bus.
func (ix *CallIndex) Close() {
	if ix.cancel != nil {
		ix.cancel()
	}
}

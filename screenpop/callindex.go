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
	mu     sync.Mutex
	calls  map[string]indexedCall
	maxAge time.Duration
	cancel func()
	// pos is the last message applied; a gap after it is read from the
	// channel's history, so a message the live feed lost is not missed.
	pos Position
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
	gap := m.Data == nil || (ix.pos.Epoch != "" && (m.Epoch != ix.pos.Epoch || m.Seq > ix.pos.Seq+1))
	if gap && ix.pos.Epoch != "" {
		ctx, cancel := context.WithTimeout(ix.ctx, 5*time.Second)
		missed, _, err := ix.bus.History(ctx, SupervisorChannel, ix.pos.Epoch, ix.pos.Seq, 0)
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

func (ix *CallIndex) apply(m Message) {
	if m.Epoch == ix.pos.Epoch && m.Seq <= ix.pos.Seq {
		return // already applied
	}
	ix.pos = Position{Epoch: m.Epoch, Seq: m.Seq}
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
	if json.Unmarshal(m.Data, &env) != nil || env.Kind != "pop" || env.Pop == nil || env.Pop.ID == "" {
		return
	}
	p := env.Pop
	ix.mu.Lock()
	defer ix.mu.Unlock()
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
	c, ok := ix.calls[callID]
	ix.mu.Unlock()
	if !ok {
		return false, false
	}
	if c.answeredBy != "" {
		return true, c.answeredBy == username
	}
	return true, slices.Contains(c.agents, username)
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

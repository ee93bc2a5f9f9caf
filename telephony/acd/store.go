package acd

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// CallerState is where a queued caller stands.
type CallerState string

const (
	// Waiting callers are on hold, to be offered.
	Waiting CallerState = "waiting"
	// Offered callers have one or more agents' phones ringing for them.
	Offered CallerState = "offered"
)

// Caller is one call in a queue.
type Caller struct {
	// ID is the driver's name for the call (an Asterisk channel id).
	ID    string
	Queue string
	State CallerState
	// Node is the Tamas node holding the call, which alone can act on it.
	Node     string
	Enqueued time.Time
	// Ahead is how far priority moved the caller: they are ordered as if
	// they had called at Enqueued-Ahead.
	Ahead time.Duration
	// Seq is the store's revision at Enqueue, which orders callers with
	// the same key by arrival.
	Seq uint64
	// Position is the caller's place in the queue from 1, counting the
	// callers being offered: a caller keeps their place while offered.
	Position int
	// Wait is how long the caller had waited when read.
	Wait time.Duration
	// Attempt counts the offers made to this caller; while Offered it
	// names the current offer.
	Attempt int
	// Ringing are the agents ringing for the current offer.
	Ringing []string
	// OfferedAt is when the current offer was made, OfferedBy the node
	// that made it.
	OfferedAt time.Time
	OfferedBy string
}

// Key is the instant the caller is ordered by.
func (c *Caller) Key() time.Time { return c.Enqueued.Add(-c.Ahead) }

// Before reports whether c is served before d: the earlier key, then the
// earlier arrival.
func (c *Caller) Before(d *Caller) bool {
	ck, dk := c.Key().UnixMilli(), d.Key().UnixMilli()
	if ck != dk {
		return ck < dk
	}
	return c.Seq < d.Seq
}

// Entry is a caller to enqueue.
type Entry struct {
	ID    string
	Queue string
	Node  string
	Ahead time.Duration
}

// Check validates an entry.
func (e *Entry) Check() error {
	if e.ID == "" || len(e.ID) > 200 {
		return fmt.Errorf("acd: enqueue: call id %q must be 1 to 200 bytes", e.ID)
	}
	if err := CheckName(e.Queue); err != nil {
		return fmt.Errorf("acd: enqueue %s: queue: %w", e.ID, err)
	}
	if e.Ahead < 0 {
		return fmt.Errorf("acd: enqueue %s: negative ahead %v", e.ID, e.Ahead)
	}
	return nil
}

// Claim asks to offer a queue's head caller to agents.
type Claim struct {
	Queue string
	// Caller must be the queue's first waiting caller.
	Caller string
	// Agents are rung if still offerable: one agent, or for ring-all
	// every candidate. The claim fails only if none is.
	Agents []string
	// Node is the node placing the offer.
	Node string
}

// OfferRef names one offer of a caller.
type OfferRef struct {
	Queue   string
	Caller  string
	Attempt int
}

// Offer is a claim that succeeded: the caller is Offered and Agents are
// Ringing for it.
type Offer struct {
	OfferRef
	Agents []Agent
	At     time.Time
	// Holder is the node holding the caller: the one that can bridge
	// them, which need not be the node that made the offer.
	Holder string
	// Position and Enqueued are the caller's, for the driver's records.
	Position int
	Enqueued time.Time
	// RingTimeout is the queue's (filled in by the Router).
	RingTimeout time.Duration
	Rev         uint64
}

// Outcome is why an offered agent did not take the call.
type Outcome string

const (
	// NoAnswer: the phone rang out. Counts as a miss.
	NoAnswer Outcome = "no_answer"
	// Rejected: the agent refused the call. Counts as a miss.
	Rejected Outcome = "rejected"
	// Failed: the agent's endpoint could not be rung. Not a miss, but the
	// agent is marked unreachable until the driver says otherwise.
	Failed Outcome = "failed"
)

// Answered is the result of an agent taking an offered call.
type Answered struct {
	Agent Agent
	// Caller as they were when answered; they are out of the queue now.
	Caller Caller
	// Released are the other agents that were ringing (ring-all), back to
	// available: the driver hangs up their legs.
	Released []string
	Rev      uint64
}

// Declined is the result of an offered agent not taking the call.
type Declined struct {
	Agent Agent
	// Requeued says no agent rings for the caller any more: they are
	// waiting again, at their original place.
	Requeued bool
	Caller   Caller
	Rev      uint64
}

// RemoveReason says why a caller left the queue without being answered.
type RemoveReason string

const (
	Abandoned  RemoveReason = "abandoned"
	Overflowed RemoveReason = "overflowed"
)

// Removed is the result of a caller leaving the queue unanswered.
type Removed struct {
	Caller Caller
	// Released are the agents that were ringing for the caller, back to
	// available with no miss counted: the driver hangs up their legs.
	Released []string
	Rev      uint64
}

// Snapshot is what the Router decides from: one queue's head and every
// agent who may take a call, read at one instant.
type Snapshot struct {
	Now   time.Time
	Queue string
	// Head is the first waiting caller; nil when nobody waits.
	Head *Caller
	// Waiting counts the queue's waiting callers.
	Waiting int
	// LastOffered is the agent the queue last made an offer to.
	LastOffered string
	// Agents are the offerable agents (all queues), by username.
	Agents []Agent
}

// Store holds queue and agent state, shared by the nodes that use the same
// store. Each method is atomic; every change gets the next revision of a
// counter the whole store shares, returned as Rev, so changes can be
// ordered. The stores show a wrap-up that ran out as available.
type Store interface {
	// Login logs an agent in. Logging in again keeps the agent's state
	// and counters and replaces the endpoint, reachability and skills.
	Login(ctx context.Context, l AgentLogin) (Agent, error)
	// Logout logs an agent out, unless ringing or on a call
	// (ErrTransition). ErrNotFound if not logged in.
	Logout(ctx context.Context, username string) (Agent, error)
	// SetState moves an agent between available and break (see CheckSet).
	// Becoming available forgets the agent's misses.
	SetState(ctx context.Context, username string, to AgentState, reason string) (Agent, error)
	// SetReachable records whether the agent's endpoint can be rung.
	SetReachable(ctx context.Context, username string, reachable bool) (Agent, error)
	Agent(ctx context.Context, username string) (Agent, error)
	// Agents lists logged-in agents by username.
	Agents(ctx context.Context) ([]Agent, error)

	// Enqueue adds a waiting caller at the back of those with the same
	// key; ErrQueued if the id is in a queue already.
	Enqueue(ctx context.Context, e Entry) (Caller, error)
	// Remove takes a caller out of the queue, releasing the agents ringing
	// for them.
	Remove(ctx context.Context, id string, why RemoveReason) (Removed, error)
	Caller(ctx context.Context, id string) (Caller, error)
	// Callers lists a queue's callers in order, waiting and offered.
	Callers(ctx context.Context, queue string) ([]Caller, error)
	Snapshot(ctx context.Context, queue string) (Snapshot, error)

	// Claim makes an offer, atomically: the caller must be the queue's
	// first waiting caller (else ErrNotHead, or ErrNotFound if gone); the
	// claimed agents must be offerable (else ErrAgentsBusy if none is).
	Claim(ctx context.Context, c Claim) (Offer, error)
	// Answer gives the call to an agent ringing for the offer: the agent
	// goes on call, the caller leaves the queue, other ringing agents are
	// released. ErrStale if the offer is over or the agent not ringing for it.
	Answer(ctx context.Context, ref OfferRef, agent string) (Answered, error)
	// Decline releases one ringing agent: available, or on break after
	// maxMisses misses in a row (zero: never). When no agent rings any
	// more the caller waits again at their place. ErrStale as for Answer.
	Decline(ctx context.Context, ref OfferRef, agent string, why Outcome, maxMisses int) (Declined, error)
	// Finish ends an answered call for the agent: wrap-up for wrapUp
	// (available at once when zero). ErrStale unless on that call.
	Finish(ctx context.Context, ref OfferRef, agent string, wrapUp time.Duration) (Agent, error)
}

var (
	// ErrNotFound: no such agent or caller.
	ErrNotFound = errors.New("acd: not found")
	// ErrQueued: the caller is in a queue already.
	ErrQueued = errors.New("acd: caller already queued")
	// ErrTransition: the agent's state does not allow the change.
	ErrTransition = errors.New("acd: state change not allowed")
	// ErrNotHead: the caller claimed is not the queue's first waiting
	// caller any more; the race was lost.
	ErrNotHead = errors.New("acd: caller is not the first waiting")
	// ErrAgentsBusy: none of the agents claimed could be offered the call.
	ErrAgentsBusy = errors.New("acd: agents not offerable")
	// ErrStale: the offer named is over, or the agent is not in it.
	ErrStale = errors.New("acd: offer is over")
	// ErrContended: Next lost the race for every candidate it tried;
	// other nodes made progress meanwhile.
	ErrContended = errors.New("acd: lost every claim")
)

// CheckOutcome validates a decline's outcome.
func CheckOutcome(o Outcome) error {
	switch o {
	case NoAnswer, Rejected, Failed:
		return nil
	}
	return fmt.Errorf("acd: unknown outcome %q", o)
}

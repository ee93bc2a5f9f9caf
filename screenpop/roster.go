package screenpop

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Availability is an agent's chosen state.
type Availability string

const (
	Offline   Availability = "offline"
	Available Availability = "available"
	OnBreak   Availability = "break"
	WrapUp    Availability = "wrapup"
)

// Valid reports whether a is a state an agent may choose.
func (a Availability) Valid() bool {
	switch a {
	case Offline, Available, OnBreak, WrapUp:
		return true
	}
	return false
}

// AgentState is an agent's availability as supervisors see it.
type AgentState struct {
	Username string       `json:"username"`
	State    Availability `json:"state"`
	Reason   string       `json:"reason,omitempty"`
	Since    time.Time    `json:"since"`
}

// Roster holds agents' availability on this node, for targeting pre-pops at
// available agents and for the supervisors' view.
type Roster struct {
	mu     sync.RWMutex
	agents map[string]AgentState
}

// NewRoster returns an empty roster: every agent offline.
func NewRoster() *Roster { return &Roster{agents: map[string]AgentState{}} }

// Set records an agent's state and returns it.
func (r *Roster) Set(username string, a Availability, reason string, at time.Time) AgentState {
	st := AgentState{Username: username, State: a, Reason: reason, Since: at}
	r.mu.Lock()
	if a == Offline {
		delete(r.agents, username)
	} else {
		r.agents[username] = st
	}
	r.mu.Unlock()
	return st
}

// Get returns an agent's state (Offline when unknown).
func (r *Roster) Get(username string) AgentState {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if st, ok := r.agents[username]; ok {
		return st
	}
	return AgentState{Username: username, State: Offline}
}

// Available lists available agents in username order.
func (r *Roster) Available() []string {
	r.mu.RLock()
	out := make([]string, 0, len(r.agents))
	for u, st := range r.agents {
		if st.State == Available {
			out = append(out, u)
		}
	}
	r.mu.RUnlock()
	sort.Strings(out)
	return out
}

// All lists every agent not offline, in username order.
func (r *Roster) All() []AgentState {
	r.mu.RLock()
	out := make([]AgentState, 0, len(r.agents))
	for _, st := range r.agents {
		out = append(out, st)
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Username < out[j].Username })
	return out
}

// PublishState records an agent's availability in r and tells supervisors
// and the agent's other consoles through publish (nil: nobody). It
// returns the state and the first publishing error.
func PublishState(ctx context.Context, r *Roster, pub Publisher,
	username string, a Availability, reason string) (AgentState, error) {
	st := r.Set(username, a, reason, time.Now())
	if pub == nil {
		return st, nil
	}
	data, _ := json.Marshal(Envelope{Kind: "agent_state", Agent: &st})
	var first error
	for _, ch := range []string{SupervisorChannel, UserChannel(username)} {
		if _, err := pub.Publish(ctx, ch, data); err != nil && first == nil {
			first = fmt.Errorf("publishing %s's state: %w", username, err)
		}
	}
	return st, first
}

// Presence is agents' availability as this node keeps and tells it: a
// change is recorded in Roster and published to supervisors and the
// agent's other consoles. It is a wrapup.Presence.
type Presence struct {
	Roster *Roster
	// Publisher tells the change (nil: nobody is told).
	Publisher Publisher
}

// State returns an agent's availability ("offline" when unknown).
func (p Presence) State(username string) string { return string(p.Roster.Get(username).State) }

// SetState records an agent's availability and publishes it; the state is
// recorded even when publishing fails.
func (p Presence) SetState(ctx context.Context, username, state string) error {
	a := Availability(state)
	if !a.Valid() {
		return fmt.Errorf("screenpop: %q is not an availability", state)
	}
	_, err := PublishState(ctx, p.Roster, p.Publisher, username, a, "")
	return err
}

package acd

import (
	"fmt"
	"time"
)

// AgentState is where an agent stands for call distribution.
type AgentState string

const (
	LoggedOut AgentState = "logged_out"
	Available AgentState = "available"
	Ringing   AgentState = "ringing"
	OnCall    AgentState = "on_call"
	WrapUp    AgentState = "wrapup"
	Break     AgentState = "break"
)

// BreakMissed is the reason given to an agent put on break for letting
// MaxMisses offers in a row ring out or rejecting them.
const BreakMissed = "missed_calls"

// Agent is an agent as the store holds them.
type Agent struct {
	Username string
	State    AgentState
	// Reason says why the agent is on break.
	Reason string
	// Since is when the agent entered State.
	Since time.Time
	// Until is when a wrap-up ends by itself; zero while it lasts until the
	// agent ends it. An agent read after Until reads as available.
	Until    time.Time
	LoggedIn time.Time
	// Calls is how many calls the agent answered since logging in.
	Calls int
	// Misses counts the offers in a row the agent did not answer.
	Misses      int
	LastCallEnd time.Time
	// Endpoint is what the driver dials to reach the agent
	// ("PJSIP/agent1000"); an unreachable endpoint is offered no call.
	Endpoint  string
	Reachable bool
	// Skills are the agent's skills by name, with levels from 1 to
	// MaxLevel. Read only: a store may share the map between the copies it
	// hands out (a login replaces it, never changes it).
	Skills map[string]int
	// Call and Attempt name the offer the agent is ringing for or the call
	// they are on.
	Call    string
	Attempt int
	// Rev is the store's revision of the change that returned the agent;
	// zero when only read.
	Rev uint64
}

// IdleSince is when the agent last had nothing to do for the queues: the
// end of their last call, or their login if they had none.
func (a *Agent) IdleSince() time.Time {
	if a.LastCallEnd.IsZero() {
		return a.LoggedIn
	}
	return a.LastCallEnd
}

// Offerable reports whether a call may be offered to the agent at now.
func (a *Agent) Offerable(now time.Time) bool {
	if !a.Reachable {
		return false
	}
	return a.State == Available || a.wrapDone(now)
}

func (a *Agent) wrapDone(now time.Time) bool {
	return a.State == WrapUp && !a.Until.IsZero() && !now.Before(a.Until)
}

// Settle shows an agent whose wrap-up ran out as available since its end,
// which is what the stores do on every read: a wrap-up ends by itself,
// without anyone writing it.
func (a *Agent) Settle(now time.Time) {
	if a.wrapDone(now) {
		a.State, a.Since, a.Until = Available, a.Until, time.Time{}
	}
}

// AgentLogin is what an agent logs in with.
type AgentLogin struct {
	Username string
	Endpoint string
	// Reachable is whether the endpoint is registered now; the driver
	// reports changes with SetReachable.
	Reachable bool
	Skills    map[string]int
	// State is Available (when empty) or Break, with Reason.
	State  AgentState
	Reason string
}

// Check validates a login and fills in its default state.
func (l *AgentLogin) Check() error {
	if err := CheckName(l.Username); err != nil {
		return fmt.Errorf("acd: login: username: %w", err)
	}
	if l.Endpoint == "" {
		return fmt.Errorf("acd: login %s: no endpoint", l.Username)
	}
	if err := CheckText(l.Endpoint); err != nil {
		return fmt.Errorf("acd: login %s: endpoint: %w", l.Username, err)
	}
	if err := CheckText(l.Reason); err != nil {
		return fmt.Errorf("acd: login %s: reason: %w", l.Username, err)
	}
	for s, lvl := range l.Skills {
		if err := CheckName(s); err != nil {
			return fmt.Errorf("acd: login %s: skill: %w", l.Username, err)
		}
		if lvl < 1 || lvl > MaxLevel {
			return fmt.Errorf("acd: login %s: skill %s: level %d is not between 1 and %d", l.Username, s, lvl, MaxLevel)
		}
	}
	switch l.State {
	case "":
		l.State = Available
	case Available, Break:
	default:
		return fmt.Errorf("acd: login %s: %w: cannot log in %s", l.Username, ErrTransition, l.State)
	}
	return nil
}

// CheckText checks free text an agent holds (an endpoint, a break
// reason): at most 200 bytes and no control characters, one of which the
// Redis store separates fields with.
func CheckText(s string) error {
	if len(s) > 200 {
		return fmt.Errorf("%.20q… is longer than 200 bytes", s)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%q holds a control character", s)
		}
	}
	return nil
}

// CheckSet validates a change an agent asks for (SetState) from state
// from to state to. Ringing and on_call are entered and left through
// offers only; logged_out through Logout.
func CheckSet(from, to AgentState) error {
	if to != Available && to != Break {
		return fmt.Errorf("%w: an agent cannot choose %s", ErrTransition, to)
	}
	switch from {
	case Available, Break, WrapUp:
		return nil
	}
	return fmt.Errorf("%w: %s to %s", ErrTransition, from, to)
}

// CheckLogout validates a logout from state from.
func CheckLogout(from AgentState) error {
	if from == Ringing || from == OnCall {
		return fmt.Errorf("%w: cannot log out while %s", ErrTransition, from)
	}
	return nil
}

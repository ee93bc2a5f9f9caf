// Package calllog turns a call's events into the record a CRM activity is
// made of: when the caller arrived, waited, was offered to an agent, talked
// and hung up; how long each part took; and how the call ended. It is pure:
// it stores nothing, so the same events always give the same record, and
// events seen twice change nothing.
package calllog

import (
	"slices"
	"time"

	"github.com/tamas-cc/tamas/telephony"
)

// Outcome is how a call ended, from the caller's side.
type Outcome string

const (
	// Answered: an agent talked with the caller.
	Answered Outcome = "answered"
	// AbandonedIVR: the caller hung up before reaching a queue or agent.
	AbandonedIVR Outcome = "abandoned_ivr"
	// AbandonedQueue: the caller hung up while waiting in a queue.
	AbandonedQueue Outcome = "abandoned_queue"
	// Missed: an agent's phone rang and nobody answered before the end.
	Missed Outcome = "missed"
	// Failed: the call ended for a technical reason (or the PBX connection
	// was lost) before anyone talked.
	Failed Outcome = "failed"
)

// Record is one call as the CRM keeps it.
type Record struct {
	// ID is the conversation's id (LinkedID): one record per call however
	// many legs it had.
	ID         string              `json:"id"`
	Direction  telephony.Direction `json:"direction"`
	PBX        string              `json:"pbx"`
	Node       string              `json:"node,omitempty"`
	Number     string              `json:"number"`
	CallerName string              `json:"caller_name,omitempty"`
	DNIS       string              `json:"dnis,omitempty"`
	Line       string              `json:"line,omitempty"`
	Digits     string              `json:"digits,omitempty"`
	Queue      string              `json:"queue,omitempty"`
	// Agents lists who was offered or took the call, in order, including
	// transfers (PBX endpoints, as the PBX named them).
	Agents     []string   `json:"agents,omitempty"`
	AnsweredBy string     `json:"answered_by,omitempty"`
	ArrivedAt  time.Time  `json:"arrived_at"`
	QueuedAt   *time.Time `json:"queued_at,omitempty"`
	OfferedAt  *time.Time `json:"offered_at,omitempty"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
	EndedAt    time.Time  `json:"ended_at"`
	// Durations: IVR from arrival to queue or agent, Wait in the queue or
	// ringing until an agent answered or the caller left, Talk with the
	// agent less Hold.
	IVR       time.Duration `json:"ivr"`
	Wait      time.Duration `json:"wait"`
	Talk      time.Duration `json:"talk"`
	Hold      time.Duration `json:"hold"`
	Outcome   Outcome       `json:"outcome"`
	Cause     string        `json:"cause,omitempty"`
	CauseCode int           `json:"cause_code,omitempty"`
	// Recordings name the PBX's recordings of the call.
	Recordings []string `json:"recordings,omitempty"`
	// PopMicros is how long the screen-pop took to build, from the call
	// event reaching Tamas.
	PopMicros int64 `json:"pop_build_us,omitempty"`
}

// Tracker follows calls in progress. It is not safe for concurrent use:
// feed it from the telephony source's single dispatcher.
type Tracker struct {
	calls map[string]*call
	done  map[string]bool
	order []string // done ids, oldest first, to bound done
}

type call struct {
	rec      Record
	primary  string
	heldAt   time.Time
	bridged  bool
	agentLeg map[string]bool
}

// maxDone bounds how many ended calls are remembered to ignore replays.
const maxDone = 100_000

// NewTracker returns an empty tracker.
func NewTracker() *Tracker {
	return &Tracker{calls: map[string]*call{}, done: map[string]bool{}}
}

func convID(c telephony.Call) string {
	if c.LinkedID != "" {
		return c.LinkedID
	}
	return c.ID
}

// Apply feeds one event. It returns the call's record when the event ends
// it, once: a replayed stream returns nothing the second time.
func (t *Tracker) Apply(ev telephony.Event) (Record, bool) {
	id := convID(ev.Call)
	if t.done[id] {
		return Record{}, false
	}
	c := t.calls[id]
	if ev.Type == telephony.CallStarted {
		if c != nil || ev.Call.Direction == telephony.Outbound && ev.Call.ID != id {
			if c != nil && ev.Call.ID != c.primary {
				c.agentLeg[ev.Call.ID] = true
			}
			return Record{}, false
		}
		arrived := ev.Call.StartedAt
		if arrived.IsZero() {
			arrived = ev.At
		}
		t.calls[id] = &call{primary: ev.Call.ID, agentLeg: map[string]bool{}, rec: Record{
			ID: id, Direction: ev.Call.Direction, PBX: ev.Call.PBX, Node: ev.Call.Node,
			Number: ev.Call.Caller.Number, CallerName: ev.Call.Caller.Name, DNIS: ev.Call.DNIS, Line: ev.Call.Line,
			ArrivedAt: arrived,
		}}
		return Record{}, false
	}
	if c == nil {
		return Record{}, false // a call that started before we ran, or not ours
	}
	r := &c.rec
	at := ev.At
	switch ev.Type {
	case telephony.DTMF:
		if ev.Call.ID == c.primary {
			r.Digits += ev.Digit
		}
	case telephony.Queued:
		if r.QueuedAt == nil {
			r.QueuedAt = &at
		}
		r.Queue = ev.Queue
	case telephony.AgentRinging:
		if r.OfferedAt == nil {
			r.OfferedAt = &at
		}
		r.addAgent(ev.Agent)
	case telephony.Bridged, telephony.Transferred:
		// Only the caller's own leg names the agent: on the agent's leg
		// the other party is the caller.
		if ev.Agent == "" || ev.Call.ID != c.primary {
			break
		}
		if !c.bridged {
			c.bridged = true
			r.AnsweredAt = &at
			r.AnsweredBy = ev.Agent
			if r.OfferedAt == nil {
				r.OfferedAt = &at
			}
		}
		r.addAgent(ev.Agent)
	case telephony.Recorded:
		if ev.Recording != "" && !slices.Contains(r.Recordings, ev.Recording) && len(r.Recordings) < 20 {
			r.Recordings = append(r.Recordings, ev.Recording)
		}
	case telephony.Held:
		if ev.Call.ID == c.primary && c.heldAt.IsZero() {
			c.heldAt = at
		}
	case telephony.Resumed:
		if ev.Call.ID == c.primary && !c.heldAt.IsZero() {
			r.Hold += at.Sub(c.heldAt)
			c.heldAt = time.Time{}
		}
	case telephony.Ended:
		if ev.Call.ID != c.primary {
			return Record{}, false // an agent's leg: the caller is still there
		}
		if !c.heldAt.IsZero() {
			r.Hold += at.Sub(c.heldAt)
		}
		r.EndedAt = at
		r.Cause, r.CauseCode = ev.Cause, ev.CauseCode
		r.finish()
		delete(t.calls, id)
		t.remember(id)
		return *r, true
	}
	return Record{}, false
}

func (r *Record) addAgent(a string) {
	if a != "" && !slices.Contains(r.Agents, a) {
		r.Agents = append(r.Agents, a)
	}
}

// finish derives the durations and the outcome once the call has ended.
func (r *Record) finish() {
	reached := r.EndedAt // when the caller left the IVR
	for _, t := range []*time.Time{r.QueuedAt, r.OfferedAt, r.AnsweredAt} {
		if t != nil && t.Before(reached) {
			reached = *t
		}
	}
	r.IVR = nonNeg(reached.Sub(r.ArrivedAt))
	waitEnd := r.EndedAt
	if r.AnsweredAt != nil {
		waitEnd = *r.AnsweredAt
		r.Talk = nonNeg(r.EndedAt.Sub(*r.AnsweredAt) - r.Hold)
	}
	if reached.Before(r.EndedAt) || r.AnsweredAt != nil {
		r.Wait = nonNeg(waitEnd.Sub(reached))
	}
	switch {
	case r.AnsweredAt != nil:
		r.Outcome = Answered
	case r.Cause == telephony.CauseLost || failure(r.CauseCode):
		r.Outcome = Failed
	case r.OfferedAt != nil:
		r.Outcome = Missed
	case r.QueuedAt != nil:
		r.Outcome = AbandonedQueue
	default:
		r.Outcome = AbandonedIVR
	}
}

// failure reports Q.850 causes that mean the network or PBX failed, not
// that someone hung up: congestion, temporary failure, out of order and
// the like (classes 3 and 4 of the cause values, 34–47 and 50–79).
func failure(code int) bool {
	return (code >= 34 && code <= 47) || (code >= 50 && code <= 79)
}

func nonNeg(d time.Duration) time.Duration { return max(d, 0) }

func (t *Tracker) remember(id string) {
	t.done[id] = true
	t.order = append(t.order, id)
	if len(t.order) > maxDone {
		delete(t.done, t.order[0])
		t.order = t.order[1:]
	}
}

// InProgress returns how many calls are being followed.
func (t *Tracker) InProgress() int { return len(t.calls) }

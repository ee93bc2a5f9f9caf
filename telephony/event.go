package telephony

import "time"

// EventType names what happened to a call.
type EventType string

const (
	CallStarted  EventType = "call_started"
	Ringing      EventType = "ringing"
	Answered     EventType = "answered"
	DTMF         EventType = "dtmf"
	Queued       EventType = "queued"
	AgentRinging EventType = "agent_ringing"
	Bridged      EventType = "bridged"
	Held         EventType = "held"
	Resumed      EventType = "resumed"
	Transferred  EventType = "transferred"
	Ended        EventType = "ended"
	// Recorded: the PBX started recording the call (or its bridge).
	Recorded EventType = "recorded"
)

// Event is one thing that happened to a call. Call is a snapshot taken when
// the event was produced; the fields after it are set only for the event
// types that carry them.
type Event struct {
	Type EventType `json:"type"`
	At   time.Time `json:"at"`
	Call Call      `json:"call"`

	// Digit is the key pressed, for DTMF.
	Digit string `json:"digit,omitempty"`
	// Queue is set for Queued and AgentRinging.
	Queue string `json:"queue,omitempty"`
	// Agent is the agent (or endpoint) rung, bridged or transferred to.
	Agent string `json:"agent,omitempty"`
	// PeerCallID is the other leg, for Bridged and Transferred.
	PeerCallID string `json:"peer_call_id,omitempty"`
	// Cause explains Ended: a Q.850 text such as "normal_clearing",
	// "user_busy", "no_answer", or "lost" when the PBX connection dropped
	// and the call was gone on resync.
	Cause string `json:"cause,omitempty"`
	// CauseCode is the Q.850 cause number when the PBX gave one.
	CauseCode int `json:"cause_code,omitempty"`
	// Recording names the PBX's recording, for Recorded (Asterisk's
	// recording name: the file under its recordings directory).
	Recording string `json:"recording,omitempty"`
}

// Cause values every PBX engine assigns the same way, beside the Q.850
// names ("user_busy", "no_user_response", …) it passes through.
const (
	// CauseNormalClearing: an ordinary hang-up.
	CauseNormalClearing = "normal_clearing"
	// CauseOriginatorCancel: the caller gave up before anyone answered.
	CauseOriginatorCancel = "originator_cancel"
	// CauseAnsweredElsewhere: another member of a ring group answered.
	CauseAnsweredElsewhere = "answered_elsewhere"
	// CauseNoAnswer: nobody answered in time.
	CauseNoAnswer = "no_answer"
	// CauseLost: the PBX connection dropped and the call was gone when it
	// came back, so how it ended is unknown. The Ended event's At is the
	// last moment the call was known to exist (the drop), not the
	// reconnection.
	CauseLost = "lost"
)

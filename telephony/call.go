package telephony

import "time"

// Direction says who placed the call.
type Direction string

const (
	Inbound  Direction = "inbound"
	Outbound Direction = "outbound"
)

// State is where a call stands.
type State string

const (
	StateRinging State = "ringing"
	StateUp      State = "up"
	StateQueued  State = "queued"
	StateBridged State = "bridged"
	StateHeld    State = "held"
	StateEnded   State = "ended"
)

// Party is one end of a call as the network presented it. Name and Number
// are untrusted: they come from strangers and must be escaped wherever shown.
type Party struct {
	Name   string `json:"name,omitempty"`
	Number string `json:"number,omitempty"`
}

// Call is one leg of a conversation as a PBX reported it.
type Call struct {
	// ID is unique per leg (Asterisk's channel id, a SIP Call-ID).
	ID string `json:"id"`
	// LinkedID groups all legs of one conversation (Asterisk's linkedid).
	LinkedID  string    `json:"linked_id"`
	Direction Direction `json:"direction"`
	Caller    Party     `json:"caller"`
	// DNIS is the number dialled; Line is its configured label, if any.
	DNIS  string `json:"dnis,omitempty"`
	Line  string `json:"line,omitempty"`
	State State  `json:"state"`
	// Node is the Tamas node that caught the call; PBX names the PBX (the
	// configured Asterisk name, or "sip").
	Node       string    `json:"node,omitempty"`
	PBX        string    `json:"pbx"`
	StartedAt  time.Time `json:"started_at"`
	AnsweredAt time.Time `json:"answered_at,omitzero"`
	EndedAt    time.Time `json:"ended_at,omitzero"`
}

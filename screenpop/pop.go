package screenpop

import (
	"time"

	"github.com/tamas-cc/tamas/crm"
)

// State is where the call behind a pop stands.
type State string

const (
	StateRinging  State = "ringing"
	StateQueued   State = "queued"
	StateOffered  State = "offered" // ringing at an agent's phone
	StateAnswered State = "answered"
	StateHeld     State = "held"
	StateEnded    State = "ended"
)

// Pop is what an agent's console shows about a call. It is published again,
// with the same ID and a higher Version, every time the call moves.
type Pop struct {
	// ID is the conversation's id (the call's LinkedID), stable across the
	// legs of one call.
	ID      string   `json:"id"`
	Version int      `json:"version"`
	State   State    `json:"state"`
	Call    CallInfo `json:"call"`
	// Matches are the contacts who may be calling, best first; empty for an
	// unknown or withheld caller.
	Matches []Match    `json:"matches"`
	Script  *ScriptRef `json:"script,omitempty"`
	Links   []Link     `json:"links,omitempty"`
	// Agents are the usernames the pop was sent to; AnsweredBy is the one
	// who took the call.
	Agents     []string  `json:"agents,omitempty"`
	AnsweredBy string    `json:"answered_by,omitempty"`
	Timing     Timing    `json:"timing"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// CallInfo is the call as the agent needs it. Number and CallerName come
// from the network: strangers choose them.
type CallInfo struct {
	ID        string `json:"id"`
	PBX       string `json:"pbx"`
	Node      string `json:"node,omitempty"`
	Direction string `json:"direction"`
	// Number is the caller's number as received; E164 and National are its
	// normalised forms when it was valid.
	Number        string `json:"number"`
	Class         string `json:"class"` // valid, withheld, internal, invalid
	E164          string `json:"e164,omitempty"`
	National      string `json:"national,omitempty"`
	International string `json:"international,omitempty"`
	Region        string `json:"region,omitempty"`
	CallerName    string `json:"caller_name,omitempty"`
	DNIS          string `json:"dnis,omitempty"`
	Line          string `json:"line,omitempty"`
	// IVRPath lists the menus the caller went through; Digits are the keys
	// pressed, in order.
	IVRPath    []string   `json:"ivr_path,omitempty"`
	Digits     string     `json:"digits,omitempty"`
	Queue      string     `json:"queue,omitempty"`
	QueuedAt   *time.Time `json:"queued_at,omitempty"`
	StartedAt  time.Time  `json:"started_at"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
	EndedAt    *time.Time `json:"ended_at,omitempty"`
	Cause      string     `json:"cause,omitempty"`
}

// Match is one contact who may be calling, with what the agent needs to
// greet them.
type Match struct {
	How     crm.MatchHow       `json:"how"`
	Phone   crm.Phone          `json:"phone"`
	Contact crm.ContactSummary `json:"contact"`
	// Segment is the contact's value segment (custom field "segment").
	Segment string `json:"segment,omitempty"`
	// History is the newest activities, Tasks the open follow-ups.
	History []crm.Activity `json:"history"`
	Tasks   []crm.Task     `json:"tasks"`
	Links   []Link         `json:"links,omitempty"`
}

// ScriptRef names the call script the agent should run.
type ScriptRef struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// Link is a labelled URL, e.g. the contact in an external CRM.
type Link struct {
	Label string `json:"label"`
	URL   string `json:"url"`
}

// Timing records how fast the pop was: from the call event reaching Tamas
// to the pop being ready to publish.
type Timing struct {
	EventAt     time.Time `json:"event_at"`
	BuiltAt     time.Time `json:"built_at"`
	BuildMicros int64     `json:"build_us"`
}

// Envelope is what travels on a console channel: a pop, or an agent's
// state change for supervisors.
type Envelope struct {
	Kind  string      `json:"kind"` // "pop", "agent_state", "task_due"
	Pop   *Pop        `json:"pop,omitempty"`
	Agent *AgentState `json:"agent,omitempty"`
	// Task is a follow-up fallen due, for Contact.
	Task    *crm.Task   `json:"task,omitempty"`
	Contact *DueContact `json:"contact,omitempty"`
}

// DueContact is whom a due follow-up is about, with the number to call
// back.
type DueContact struct {
	ID          int64  `json:"id"`
	DisplayName string `json:"display_name"`
	Number      string `json:"number,omitempty"`
}

// UserChannel is the channel of one user's consoles.
func UserChannel(username string) string { return "user:" + username }

// SupervisorChannel carries every pop and agent state to supervisors.
const SupervisorChannel = "role:supervisor"

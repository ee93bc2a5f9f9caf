package crm

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// ActivityKind says what an activity records.
type ActivityKind string

const (
	// ActivityCall is one call with the contact.
	ActivityCall ActivityKind = "call"
	// ActivityNote is a note an agent wrote.
	ActivityNote ActivityKind = "note"
)

// Valid reports whether k is a known kind.
func (k ActivityKind) Valid() bool { return k == ActivityCall || k == ActivityNote }

// Activity is one thing that happened with a contact. Calls are keyed by
// CallID so a call replayed or reported twice stays one activity.
type Activity struct {
	ID int64 `json:"id"`
	// ContactID is the contact concerned; 0 for a call from nobody in the
	// CRM (every call is logged, known caller or not).
	ContactID int64        `json:"contact_id,omitempty"`
	Kind      ActivityKind `json:"kind"`
	// CallID is the conversation's id (telephony LinkedID) for calls, empty
	// for notes.
	CallID    string `json:"call_id,omitempty"`
	Direction string `json:"direction,omitempty"`
	// Number is the other party's number as the network gave it.
	Number string `json:"number,omitempty"`
	// NumberE164 is Number normalised to E.164 ("+989121234567") when it
	// is a valid number: the caller's lookup reads it, so calls are found
	// by number whatever digits or spelling the network used.
	NumberE164  string `json:"number_e164,omitempty"`
	Agent       string `json:"agent,omitempty"`
	Subject     string `json:"subject,omitempty"`
	Body        string `json:"body,omitempty"`
	Disposition string `json:"disposition,omitempty"`
	// At is when it happened (a call's start); Duration is a call's length.
	At       time.Time     `json:"at"`
	Duration time.Duration `json:"duration,omitempty"`
	// Outcome, Queue and Line are a call's, kept as columns so activities
	// can be listed by them; Details holds the rest of the call's record
	// (a JSON object).
	Outcome string          `json:"outcome,omitempty"`
	Queue   string          `json:"queue,omitempty"`
	Line    string          `json:"line,omitempty"`
	Details json.RawMessage `json:"details,omitempty"`
	// WrapUp is the agent's finished wrap-up of the call: script, answers,
	// score, follow-ups (Disposition and Body hold its disposition and
	// notes).
	WrapUp    *WrapUp   `json:"wrapup,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Task is a follow-up someone has to do for a contact.
type Task struct {
	ID        int64     `json:"id"`
	ContactID int64     `json:"contact_id"`
	Title     string    `json:"title"`
	DueAt     time.Time `json:"due_at"`
	Assignee  string    `json:"assignee,omitempty"`
	// CallID is the call the follow-up was agreed on, if any.
	CallID    string     `json:"call_id,omitempty"`
	DoneAt    *time.Time `json:"done_at,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
}

// DuplicateCall is what AddActivity answers for a call activity whose
// CallID is stored already, as activity id: a takes the stored ID, and the
// error wraps ErrConflict.
func DuplicateCall(a *Activity, id int64) error {
	a.ID = id
	return fmt.Errorf("call %s already has activity %d: %w", a.CallID, id, ErrConflict)
}

// SortByDue orders tasks soonest due first, then oldest (lowest ID) first:
// the order of OpenTasks, ListTasks and ClaimDueTasks.
func SortByDue(tasks []Task) {
	slices.SortFunc(tasks, func(a, b Task) int {
		return cmp.Or(a.DueAt.Compare(b.DueAt), cmp.Compare(a.ID, b.ID))
	})
}

// ActivityStore keeps contacts' activities and follow-up tasks. Both
// database stores implement it beside [Store].
type ActivityStore interface {
	// AddActivity inserts a and sets its ID and CreatedAt. A call activity
	// whose CallID is already stored is not inserted twice: a gets the
	// stored ID and the call returns an error wrapping ErrConflict.
	AddActivity(ctx context.Context, a *Activity) error
	// CallActivity returns the activity of a call by its CallID, or
	// ErrNotFound.
	CallActivity(ctx context.Context, callID string) (*Activity, error)
	// ListActivities pages through activities in id order.
	ListActivities(ctx context.Context, q ActivityQuery) ([]Activity, error)
	// RecentActivities returns a contact's newest activities first.
	RecentActivities(ctx context.Context, contactID int64, limit int) ([]Activity, error)
	// AddTask inserts t and sets its ID and CreatedAt.
	AddTask(ctx context.Context, t *Task) error
	// CompleteTask marks a task done.
	CompleteTask(ctx context.Context, id int64, at time.Time) error
	// OpenTasks returns a contact's tasks not yet done, soonest due first.
	OpenTasks(ctx context.Context, contactID int64, limit int) ([]Task, error)
}

// TaskQueue hands out follow-ups as they fall due.
type TaskQueue interface {
	// ClaimDueTasks marks up to limit open tasks due at or before now as
	// announced and returns them, soonest first. Each task is returned
	// once, however many nodes ask.
	ClaimDueTasks(ctx context.Context, now time.Time, limit int) ([]Task, error)
}

// ActivityQuery filters ListActivities. Zero values mean no filter.
type ActivityQuery struct {
	ContactID int64
	Kind      ActivityKind
	Agent     string
	Queue     string
	Outcome   string
	// Disposition lists calls closed with this code.
	Disposition string
	// From and To bound At: From ≤ At < To.
	From, To time.Time
	// AfterID continues a listing after the last ID of the previous page.
	AfterID int64
	Limit   int
}

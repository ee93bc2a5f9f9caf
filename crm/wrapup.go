package crm

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// WrapUp is the agent's side of a call: the script run with its answers
// and score, the disposition, notes and follow-ups. It is saved as a draft
// at every answer, so a closed browser loses nothing, and finished once;
// finishing writes it onto the call's activity.
type WrapUp struct {
	CallID    string `json:"call_id"`
	ContactID int64  `json:"contact_id,omitempty"`
	Agent     string `json:"agent"`
	// Line and Queue are the call's, for the script's fields and the
	// queue's wrap-up time.
	Line  string `json:"line,omitempty"`
	Queue string `json:"queue,omitempty"`
	// Script, Version and Lang name the script run; Step is where the agent
	// is, Path the steps reached to get there.
	Script  string   `json:"script,omitempty"`
	Version int      `json:"version,omitempty"`
	Lang    string   `json:"lang,omitempty"`
	Step    string   `json:"step,omitempty"`
	Path    []string `json:"path,omitempty"`
	// Answers maps a question step's id to its checked value.
	Answers     json.RawMessage `json:"answers,omitempty"`
	Score       int             `json:"score"`
	Disposition string          `json:"disposition,omitempty"`
	Notes       string          `json:"notes,omitempty"`
	// Status is the contact's new funnel status, set when finished.
	Status Status `json:"status,omitempty"`
	// Tasks are the follow-ups created when finished.
	Tasks []Task `json:"tasks,omitempty"`
	// Rev is the stored revision this copy was read or saved at: a save or
	// finish from an older copy is refused with ErrConflict, so a second
	// tab or node cannot overwrite answers it never saw. Zero is a new
	// wrap-up.
	Rev       int64     `json:"rev"`
	StartedAt time.Time `json:"started_at"`
	UpdatedAt time.Time `json:"updated_at"`
	DoneAt    time.Time `json:"done_at,omitzero"`
}

// Done reports whether the wrap-up was finished.
func (w *WrapUp) Done() bool { return !w.DoneAt.IsZero() }

// WrapUpStore keeps wrap-ups. Both database stores implement it.
type WrapUpStore interface {
	// SaveWrapUp stores a draft and raises w.Rev. It returns an error
	// wrapping ErrConflict when the stored draft is not at w.Rev (another
	// copy saved meanwhile; Rev 0 when one exists already) or the call's
	// wrap-up is finished: a late autosave never undoes a finished one.
	SaveWrapUp(ctx context.Context, w *WrapUp) error
	// WrapUp returns a call's wrap-up, draft or finished, or ErrNotFound.
	WrapUp(ctx context.Context, callID string) (*WrapUp, error)
	// FinishWrapUp stores w as finished (w.DoneAt must be set) in one
	// transaction with what it does: the call activity's contact,
	// disposition, notes and script result (the activity is created if the
	// call's own record has not arrived yet, and AddActivity fills it in
	// later), the follow-up tasks (their IDs are set on w.Tasks), and the
	// contact's status, which only moves forward. A second finish, or one
	// from a copy older than the stored draft (w.Rev), returns an error
	// wrapping ErrConflict and changes nothing.
	FinishWrapUp(ctx context.Context, w *WrapUp) error
}

// LastDispositioner reads the disposition of a contact's latest call that
// has one; "" when none. Both stores implement it.
type LastDispositioner interface {
	LastDisposition(ctx context.Context, contactID int64) (string, error)
}

// Limits of a wrap-up.
const (
	MaxWrapUpSteps   = 200
	MaxWrapUpAnswers = 32 << 10
	MaxWrapUpTasks   = 10
)

// Validate checks a wrap-up before it is stored. Errors are *[FieldError].
func (w *WrapUp) Validate() error {
	if strings.TrimSpace(w.CallID) == "" || len(w.CallID) > 200 || !utf8.ValidString(w.CallID) {
		return fieldErr("call_id", "is required (at most 200 bytes)")
	}
	if w.ContactID < 0 {
		return fieldErr("contact_id", "is negative")
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{
		{"agent", w.Agent, 200}, {"line", w.Line, 200}, {"queue", w.Queue, 200}, {"script", w.Script, 200}, {"lang", w.Lang, 10}, {"step", w.Step, 200},
		{"disposition", w.Disposition, 200}, {"notes", w.Notes, MaxActivityBody},
	} {
		// PostgreSQL stores no NUL in text: refused here, not half-way.
		if !utf8.ValidString(f.v) || len(f.v) > f.max || strings.ContainsRune(f.v, 0) {
			return fieldErr(f.name, "must be valid UTF-8 of at most %d bytes, without NUL", f.max)
		}
	}
	if len(w.Path) > MaxWrapUpSteps || slices.ContainsFunc(w.Path, func(s string) bool { return len(s) > 200 }) {
		return fieldErr("path", "at most %d steps", MaxWrapUpSteps)
	}
	if len(w.Answers) > MaxWrapUpAnswers || (len(w.Answers) > 0 && !isJSONObject(w.Answers)) ||
		bytes.Contains(w.Answers, []byte(`\u0000`)) {
		return fieldErr("answers", "must be a JSON object of at most %d bytes", MaxWrapUpAnswers)
	}
	if w.Status != "" && !w.Status.Valid() {
		return fieldErr("status", "%q is not a status", w.Status)
	}
	if len(w.Tasks) > MaxWrapUpTasks {
		return fieldErr("tasks", "at most %d follow-ups", MaxWrapUpTasks)
	}
	for i := range w.Tasks {
		t := w.Tasks[i]
		t.ContactID = w.ContactID
		if err := t.Validate(); err != nil {
			if fe, ok := err.(*FieldError); ok && fe.Field == "contact_id" {
				return fieldErr("tasks", "a follow-up needs a contact: create a lead for the caller first")
			}
			return err
		}
	}
	if w.Done() && w.Disposition == "" {
		return fieldErr("disposition", "is required to finish")
	}
	return nil
}

// StatusesBefore returns the statuses a contact may move to s from: those
// earlier in the funnel, and inactive (a revived contact).
func StatusesBefore(s Status) []Status {
	switch s {
	case StatusQualified:
		return []Status{StatusLead, StatusInactive}
	case StatusCustomer:
		return []Status{StatusLead, StatusQualified, StatusInactive}
	case StatusInactive:
		return []Status{StatusLead, StatusQualified, StatusCustomer}
	}
	return []Status{StatusInactive}
}

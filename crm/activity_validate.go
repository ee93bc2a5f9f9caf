package crm

import (
	"strings"
	"unicode/utf8"
)

const (
	// MaxActivityBody bounds a note or call summary, in bytes.
	MaxActivityBody = 64 << 10
	// MaxTaskTitle bounds a task's title, in characters.
	MaxTaskTitle = 500
	// MaxRecords caps one page of RecentActivities or OpenTasks;
	// DefaultRecords is the page size asked for with a limit of zero or less.
	MaxRecords     = 100
	DefaultRecords = 5
)

// Validate checks an activity before it is stored. Errors are
// *[FieldError].
func (a *Activity) Validate() error {
	if !a.Kind.Valid() {
		return fieldErr("kind", "%q is not call or note", a.Kind)
	}
	if a.ContactID < 0 || (a.ContactID == 0 && a.Kind != ActivityCall) {
		return fieldErr("contact_id", "is required")
	}
	if len(a.Details) > MaxActivityBody || (len(a.Details) > 0 && !isJSONObject(a.Details)) {
		return fieldErr("details", "must be a JSON object of at most %d bytes", MaxActivityBody)
	}
	if len(a.Body) > MaxActivityBody {
		return fieldErr("body", "longer than %d bytes", MaxActivityBody)
	}
	if a.Kind == ActivityNote && strings.TrimSpace(a.Body) == "" {
		return fieldErr("body", "a note needs text")
	}
	if a.Duration < 0 {
		return fieldErr("duration", "is negative")
	}
	if a.NumberE164 != "" && !isE164(a.NumberE164) {
		return fieldErr("number_e164", "%q is not an E.164 number", a.NumberE164)
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{
		{"call_id", a.CallID, 200},
		{"direction", a.Direction, 50},
		{"number", a.Number, 200},
		{"agent", a.Agent, 200},
		{"subject", a.Subject, 500},
		{"body", a.Body, MaxActivityBody},
		{"disposition", a.Disposition, 200},
		{"outcome", a.Outcome, 50},
		{"queue", a.Queue, 200},
		{"line", a.Line, 200},
	} {
		if !utf8.ValidString(f.v) || strings.ContainsRune(f.v, 0) {
			return fieldErr(f.name, "is not valid UTF-8 text")
		}
		if len(f.v) > f.max {
			return fieldErr(f.name, "longer than %d bytes", f.max)
		}
	}
	return nil
}

// Validate checks a task before it is stored. Errors are *[FieldError].
func (t *Task) Validate() error {
	if t.ContactID <= 0 {
		return fieldErr("contact_id", "is required")
	}
	if !utf8.ValidString(t.Title) || strings.ContainsRune(t.Title, 0) {
		return fieldErr("title", "is not valid UTF-8 text")
	}
	if strings.TrimSpace(t.Title) == "" {
		return fieldErr("title", "is required")
	}
	if utf8.RuneCountInString(t.Title) > MaxTaskTitle {
		return fieldErr("title", "longer than %d characters", MaxTaskTitle)
	}
	if !utf8.ValidString(t.Assignee) || len(t.Assignee) > 200 {
		return fieldErr("assignee", "must be valid UTF-8 of at most 200 bytes")
	}
	if t.DueAt.IsZero() {
		return fieldErr("due_at", "is required")
	}
	return nil
}

// ClampLimit is the page size rule of activity and task reads: the default
// for zero or less, never more than MaxRecords.
func ClampLimit(limit int) int {
	if limit <= 0 {
		return DefaultRecords
	}
	return min(limit, MaxRecords)
}

// isE164 reports whether s is '+' and 2 to 20 ASCII digits: a country code
// and the longest national number phone.Parse reads as valid.
func isE164(s string) bool {
	if len(s) < 3 || len(s) > 21 || s[0] != '+' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

package crm

import "unicode/utf8"

// MaxActivityBody bounds a note or call summary.
const MaxActivityBody = 64 << 10

// Validate checks an activity before it is stored.
func (a *Activity) Validate() error {
	if !a.Kind.Valid() {
		return fieldErr("kind", "%q is not call or note", a.Kind)
	}
	if a.ContactID <= 0 {
		return fieldErr("contact_id", "is required")
	}
	if len(a.Body) > MaxActivityBody {
		return fieldErr("body", "longer than %d bytes", MaxActivityBody)
	}
	if a.Kind == ActivityNote && a.Body == "" {
		return fieldErr("body", "a note needs text")
	}
	for f, v := range map[string]string{"body": a.Body, "subject": a.Subject, "agent": a.Agent, "number": a.Number} {
		if !utf8.ValidString(v) {
			return fieldErr(f, "is not valid UTF-8")
		}
	}
	if len(a.Subject) > 500 || len(a.Agent) > 200 || len(a.Number) > 200 || len(a.CallID) > 200 {
		return fieldErr("subject", "a field is too long")
	}
	return nil
}

// Validate checks a task before it is stored.
func (t *Task) Validate() error {
	if t.ContactID <= 0 {
		return fieldErr("contact_id", "is required")
	}
	if t.Title == "" || len(t.Title) > 500 || !utf8.ValidString(t.Title) {
		return fieldErr("title", "needs 1 to 500 bytes of text")
	}
	if t.DueAt.IsZero() {
		return fieldErr("due_at", "is required")
	}
	return nil
}

// ClampLimit is the page size rule of activity and task reads.
func ClampLimit(limit int) int {
	if limit <= 0 {
		return 5
	}
	return min(limit, 100)
}

package crm

import (
	"errors"
	"fmt"
)

// ErrNotFound is returned when a contact does not exist or was deleted.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a write would break a uniqueness rule, or an
// update raced with another one.
var ErrConflict = errors.New("conflict")

// FieldError says which field of an input is wrong and why. The API turns it
// into {"error":{"code":"invalid","field":…}}.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Reason) }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// ContactNotFound is the error of a write that needs a live contact and
// finds it missing or deleted.
func ContactNotFound(id int64) error { return fmt.Errorf("contact %d: %w", id, ErrNotFound) }

// UnknownOrganization is the error of a contact whose i-th organization,
// id, is not a live organization.
func UnknownOrganization(i int, id int64) error {
	return &FieldError{Field: fmt.Sprintf("organizations[%d]", i), Reason: fmt.Sprintf("no organization %d", id)}
}

package crm

import (
	"context"
	"time"
)

// Store keeps contacts. Implementations must be safe for concurrent use.
// Phones handed to a store are already normalised (see [Directory.Normalize]);
// the store indexes E164, National and Tail and never parses numbers.
type Store interface {
	// CreateContact inserts c and sets its ID and timestamps.
	CreateContact(ctx context.Context, c *Contact) error
	// GetContact returns a live (not deleted) contact, or ErrNotFound.
	GetContact(ctx context.Context, id int64) (*Contact, error)
	// UpdateContact replaces every field of a live contact but its ID,
	// CreatedAt and DeletedAt; it sets UpdatedAt.
	UpdateContact(ctx context.Context, c *Contact) error
	// DeleteContact soft-deletes a contact: it disappears from reads and
	// lookups but its history stays.
	DeleteContact(ctx context.Context, id int64) error
	// ListContacts pages through live contacts in ID order.
	ListContacts(ctx context.Context, q ContactQuery) ([]Contact, error)
	// MatchPhone finds live contacts holding a number, best match first (see
	// [MatchHow] for the tiers). It must use indexes only: no scans.
	MatchPhone(ctx context.Context, key PhoneKey, limit int) ([]Match, error)
	// TouchInteraction records that a contact was just spoken with.
	TouchInteraction(ctx context.Context, id int64, at time.Time) error
	// BeginImport opens a bulk-write transaction.
	BeginImport(ctx context.Context) (ImportTx, error)
	// Ping checks the store can serve (for /readyz).
	Ping(ctx context.Context) error
	Close() error
}

// ImportTx is one bulk import: nothing it wrote is visible before Commit,
// and Rollback leaves the store as it was.
type ImportTx interface {
	// ContactByPhone returns the ID of a live contact of the given kind
	// holding the number, including contacts created earlier in this
	// transaction. A valid number is compared on E164; one that did not
	// normalise, on its digits (National) among numbers that did not either.
	ContactByPhone(ctx context.Context, kind Kind, p Phone) (int64, bool, error)
	// OrganizationByName returns the ID of a live organization with exactly
	// this name.
	OrganizationByName(ctx context.Context, name string) (int64, bool, error)
	CreateContact(ctx context.Context, c *Contact) error
	Commit() error
	Rollback() error
}

// ContactQuery filters and pages ListContacts. Zero values mean no filter.
type ContactQuery struct {
	// NamePrefix matches the start of the display name, first name or last
	// name, case-insensitively for ASCII.
	NamePrefix string
	Kind       Kind
	Status     Status
	Tag        string
	// OrganizationID lists the members of an organization.
	OrganizationID int64
	// AfterID continues a listing after the last ID of the previous page.
	AfterID int64
	Limit   int
}

// MaxListLimit caps one page of ListContacts, ListActivities and
// ListTasks.
const MaxListLimit = 500

// ListLimit is the page size rule of those listings: MaxListLimit for zero
// or less, never more.
func ListLimit(limit int) int {
	if limit <= 0 || limit > MaxListLimit {
		return MaxListLimit
	}
	return limit
}

// MatchLimit is how many contacts MatchPhone returns at most: MaxMatches
// for zero or less, never more.
func MatchLimit(limit int) int {
	if limit <= 0 || limit > MaxMatches {
		return MaxMatches
	}
	return limit
}

// PhoneKey is what a store needs to match a caller: the forms of the
// caller's number produced by crm/phone.
type PhoneKey struct {
	E164     string
	National string
	Tail     string
}

// Empty reports whether k has no form to match on: it matches nobody, and
// a store need not ask its database.
func (k PhoneKey) Empty() bool { return k.E164 == "" && k.National == "" && k.Tail == "" }

// MatchHow says how confidently a number matched, best first.
type MatchHow string

const (
	// MatchExact: the stored E.164 number equals the caller's.
	MatchExact MatchHow = "exact"
	// MatchNational: the number was stored without a country code and its
	// national significant number equals the caller's.
	MatchNational MatchHow = "national"
	// MatchSuffix: only the last TailDigits digits agree.
	MatchSuffix MatchHow = "suffix"
)

// Rank orders match tiers: lower is better.
func (h MatchHow) Rank() int {
	switch h {
	case MatchExact:
		return 0
	case MatchNational:
		return 1
	default:
		return 2
	}
}

// Match is one contact that may be the caller.
type Match struct {
	How     MatchHow       `json:"how"`
	Phone   Phone          `json:"phone"`
	Contact ContactSummary `json:"contact"`
}

// ContactSummary is the part of a contact a screen-pop shows at once.
type ContactSummary struct {
	ID            int64    `json:"id"`
	Kind          Kind     `json:"kind"`
	DisplayName   string   `json:"display_name"`
	Organizations []OrgRef `json:"organizations,omitempty"`
	Status        Status   `json:"status"`
	Owner         string   `json:"owner,omitempty"`
	Tags          []string `json:"tags,omitempty"`
	// Segment is the contact's value segment, the custom field "segment".
	Segment           string     `json:"segment,omitempty"`
	LastInteractionAt *time.Time `json:"last_interaction_at,omitempty"`
}

// EachContact calls fn for every live contact in ID order, for export. It
// pages by ID rather than holding one query open, so memory stays flat and a
// slow consumer pins neither a connection nor an old snapshot.
func EachContact(ctx context.Context, s Store, fn func(*Contact) error) error {
	var after int64
	for {
		page, err := s.ListContacts(ctx, ContactQuery{AfterID: after, Limit: MaxListLimit})
		if err != nil {
			return err
		}
		for i := range page {
			if err := fn(&page[i]); err != nil {
				return err
			}
		}
		if len(page) < MaxListLimit {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

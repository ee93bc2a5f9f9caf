package crm

import (
	"encoding/json"
	"strings"
	"time"
)

// Kind tells a person from an organization.
type Kind string

const (
	KindPerson       Kind = "person"
	KindOrganization Kind = "organization"
)

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return k == KindPerson || k == KindOrganization }

// Status is where a contact stands in the sales funnel. It only moves
// forward through lead → qualified → customer, but any status may become
// inactive and an inactive contact may be revived at any stage.
type Status string

const (
	StatusLead      Status = "lead"
	StatusQualified Status = "qualified"
	StatusCustomer  Status = "customer"
	StatusInactive  Status = "inactive"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case StatusLead, StatusQualified, StatusCustomer, StatusInactive:
		return true
	}
	return false
}

// PhoneLabel says what kind of line a number is.
type PhoneLabel string

const (
	LabelMobile PhoneLabel = "mobile"
	LabelWork   PhoneLabel = "work"
	LabelHome   PhoneLabel = "home"
	LabelFax    PhoneLabel = "fax"
	LabelMain   PhoneLabel = "main"
	LabelOther  PhoneLabel = "other"
)

// Valid reports whether l is a known label.
func (l PhoneLabel) Valid() bool {
	switch l {
	case LabelMobile, LabelWork, LabelHome, LabelFax, LabelMain, LabelOther:
		return true
	}
	return false
}

// Phone is one number of a contact, kept both as entered and in the forms
// lookups compare on. Stores index E164, National (for numbers stored
// without a country code) and Tail; they never compare Raw.
type Phone struct {
	Label PhoneLabel `json:"label"`
	// Raw is the number as it was entered or imported.
	Raw string `json:"raw"`
	// E164 is the normalised number, empty when it could not be made valid.
	E164 string `json:"e164,omitempty"`
	// National is the national significant number: digits only, no trunk
	// prefix, no country code.
	National string `json:"national,omitempty"`
	// HasCountryCode is false when the number was entered without one and the
	// country was assumed from the default region: such numbers also match
	// callers from other countries on National, with lower confidence.
	HasCountryCode bool   `json:"has_country_code"`
	Ext            string `json:"ext,omitempty"`
}

// Tail is the suffix key of a phone: its last TailDigits digits.
func (p Phone) Tail() string { return TailOf(p.National) }

// TailDigits is how many trailing digits the suffix match compares, the
// same width CRM connectors commonly use for LIKE '%…' matching.
const TailDigits = 8

// TailOf returns the last TailDigits digits of a digit string.
func TailOf(digits string) string {
	if len(digits) <= TailDigits {
		return digits
	}
	return digits[len(digits)-TailDigits:]
}

// DedupKey is what an import compares a number on to find a contact that
// already holds it (see [ImportTx.ContactByPhone]): its E.164 form when
// valid, else its digits, which cannot start with '+', so the two never
// collide. Empty when the number has neither: it then matches nobody.
func (p Phone) DedupKey() string {
	if p.E164 != "" {
		return p.E164
	}
	return p.National
}

// TagKey is the form tags are stored and filtered in.
func TagKey(tag string) string { return strings.ToLower(strings.TrimSpace(tag)) }

// Email is one address of a contact.
type Email struct {
	Label   string `json:"label,omitempty"`
	Address string `json:"address"`
}

// OrgRef names an organization a person belongs to.
type OrgRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name,omitempty"`
}

// Contact is a person or an organization.
type Contact struct {
	ID   int64 `json:"id"`
	Kind Kind  `json:"kind"`
	// FirstName and LastName are a person's; Name is an organization's name
	// and, for a person, left empty (DisplayName composes it).
	FirstName     string          `json:"first_name,omitempty"`
	LastName      string          `json:"last_name,omitempty"`
	Name          string          `json:"name,omitempty"`
	Organizations []OrgRef        `json:"organizations,omitempty"`
	Status        Status          `json:"status"`
	Owner         string          `json:"owner,omitempty"`
	Tags          []string        `json:"tags,omitempty"`
	Phones        []Phone         `json:"phones,omitempty"`
	Emails        []Email         `json:"emails,omitempty"`
	Custom        json.RawMessage `json:"custom,omitempty"`
	Notes         string          `json:"notes,omitempty"`
	// LastInteractionAt orders matches that are otherwise equal: the contact
	// spoken to most recently is the likeliest caller.
	LastInteractionAt *time.Time `json:"last_interaction_at,omitempty"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
	DeletedAt         *time.Time `json:"deleted_at,omitempty"`
}

// DisplayName is how the contact is shown: an organization's name, or a
// person's first and last name.
func (c *Contact) DisplayName() string {
	if c.Kind == KindOrganization {
		return c.Name
	}
	return joinName(c.FirstName, c.LastName)
}

// SearchKeys are the keys a store indexes a contact's names under, for
// [ContactQuery.NamePrefix]: its display name's and its last name's.
func (c *Contact) SearchKeys() (name, last string) {
	return SearchKey(c.DisplayName()), SearchKey(c.LastName)
}

func joinName(first, last string) string {
	return strings.TrimSpace(strings.TrimSpace(first) + " " + strings.TrimSpace(last))
}

package crm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tamas-cc/tamas/crm/phone"
)

// Directory is the CRM as the rest of Tamas uses it: it validates and
// normalises contacts before they reach the store, and answers caller-ID
// lookups.
type Directory struct {
	store Store
	norm  *phone.Normalizer
	now   func() time.Time
}

// NewDirectory returns a Directory over store that reads numbers without a
// country code as numbers of norm's default region.
func NewDirectory(store Store, norm *phone.Normalizer) *Directory {
	return &Directory{store: store, norm: norm, now: time.Now}
}

// Store returns the underlying store.
func (d *Directory) Store() Store { return d.store }

// Normalizer returns the phone normaliser.
func (d *Directory) Normalizer() *phone.Normalizer { return d.norm }

// LookupResult is the answer to "who is calling?".
type LookupResult struct {
	// Number is the caller's number as classified and normalised.
	Number phone.Number `json:"-"`
	// Matches are ranked best first: exact before national before suffix,
	// people before organizations, most recent interaction first.
	Matches []Match `json:"matches"`
}

// MaxMatches bounds how many contacts one lookup returns: more than a
// handful of candidates is noise on a screen-pop.
const MaxMatches = 10

// Lookup finds the contacts that may be calling from raw, a caller ID as the
// network presented it. Withheld, internal and unparseable numbers match
// nothing (an unparseable number may still match on its last digits).
func (d *Directory) Lookup(ctx context.Context, raw string) (LookupResult, error) {
	num := d.norm.Parse(raw)
	res := LookupResult{Number: num}
	key, ok := PhoneKeyOf(num)
	if !ok {
		return res, nil
	}
	m, err := d.store.MatchPhone(ctx, key, MaxMatches)
	if err != nil {
		return res, fmt.Errorf("lookup %q: %w", num.E164, err)
	}
	res.Matches = m
	return res, nil
}

// PhoneKeyOf returns the key a store matches a caller's number on, and false
// when the number cannot identify anyone (withheld, internal, or too short
// to trust a suffix match).
func PhoneKeyOf(num phone.Number) (PhoneKey, bool) {
	switch num.Class {
	case phone.Valid:
		return PhoneKey{E164: num.E164, National: num.National, Tail: TailOf(num.National)}, true
	case phone.Invalid:
		if len(num.National) < TailDigits {
			return PhoneKey{}, false
		}
		return PhoneKey{Tail: TailOf(num.National)}, true
	}
	return PhoneKey{}, false
}

// Limits on free text: a CRM field is no place for megabytes, and bounding
// them keeps a hostile import or API call from bloating every pop.
const (
	MaxNameLen   = 200
	MaxNotesLen  = 64 << 10
	MaxTagLen    = 64
	MaxTags      = 50
	MaxPhones    = 20
	MaxEmails    = 20
	MaxCustomLen = 16 << 10
)

// Normalize validates c and fills the derived fields of its phones. It
// rejects what no store should hold, naming the field.
func (d *Directory) Normalize(c *Contact) error {
	if c.Kind == "" {
		c.Kind = KindPerson
	}
	if !c.Kind.Valid() {
		return fieldErr("kind", "must be person or organization")
	}
	if c.Status == "" {
		c.Status = StatusLead
	}
	if !c.Status.Valid() {
		return fieldErr("status", "must be one of lead, qualified, customer, inactive")
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"first_name", &c.FirstName}, {"last_name", &c.LastName}, {"name", &c.Name}, {"owner", &c.Owner}} {
		*f.v = strings.TrimSpace(*f.v)
		if err := checkText(f.name, *f.v, MaxNameLen); err != nil {
			return err
		}
	}
	if err := checkText("notes", c.Notes, MaxNotesLen); err != nil {
		return err
	}
	switch c.Kind {
	case KindPerson:
		if c.FirstName == "" && c.LastName == "" {
			return fieldErr("first_name", "a person needs a first or last name")
		}
		c.Name = ""
		c.Organizations = uniqueOrgs(c.Organizations)
	case KindOrganization:
		if c.Name == "" {
			return fieldErr("name", "an organization needs a name")
		}
		c.FirstName, c.LastName = "", ""
		c.Organizations = nil
	}
	if len(c.Tags) > MaxTags {
		return fieldErr("tags", "at most %d tags", MaxTags)
	}
	tags := c.Tags[:0:0]
	seen := map[string]bool{}
	for _, t := range c.Tags {
		t = TagKey(t)
		if t == "" || seen[t] {
			continue
		}
		if err := checkText("tags", t, MaxTagLen); err != nil {
			return err
		}
		seen[t] = true
		tags = append(tags, t)
	}
	c.Tags = tags
	if len(c.Phones) > MaxPhones {
		return fieldErr("phones", "at most %d numbers", MaxPhones)
	}
	for i := range c.Phones {
		if err := d.NormalizePhone(&c.Phones[i]); err != nil {
			reason := err.Error()
			if fe, ok := errors.AsType[*FieldError](err); ok {
				reason = fe.Reason
			}
			return &FieldError{Field: fmt.Sprintf("phones[%d]", i), Reason: reason}
		}
	}
	if len(c.Emails) > MaxEmails {
		return fieldErr("emails", "at most %d addresses", MaxEmails)
	}
	for i := range c.Emails {
		e := &c.Emails[i]
		e.Address = strings.TrimSpace(e.Address)
		at := strings.IndexByte(e.Address, '@')
		if at <= 0 || at == len(e.Address)-1 || len(e.Address) > 254 || !utf8.ValidString(e.Address) || strings.ContainsAny(e.Address, " <>\"") {
			return fieldErr(fmt.Sprintf("emails[%d]", i), "not an email address")
		}
	}
	if len(c.Custom) > MaxCustomLen {
		return fieldErr("custom", "larger than %d bytes", MaxCustomLen)
	}
	if len(c.Custom) > 0 && !isJSONObject(c.Custom) {
		return fieldErr("custom", "must be a JSON object")
	}
	return nil
}

// NormalizePhone fills E164, National and HasCountryCode from Raw. A number
// that is not valid is still kept (a CRM holds what people typed) but only
// matches callers on its last digits; a withheld or empty one is refused.
func (d *Directory) NormalizePhone(p *Phone) error {
	if p.Label == "" {
		p.Label = LabelMobile
	}
	if !p.Label.Valid() {
		return fieldErr("label", "unknown label %q", p.Label)
	}
	p.Raw = strings.TrimSpace(p.Raw)
	if len(p.Raw) > 64 || !utf8.ValidString(p.Raw) {
		return fieldErr("raw", "not a phone number")
	}
	n := d.norm.Parse(p.Raw)
	switch n.Class {
	case phone.Valid:
		p.E164 = n.E164
	case phone.Invalid:
		p.E164 = ""
		if len(n.National) < 3 {
			return fieldErr("raw", "not a phone number")
		}
	default:
		return fieldErr("raw", "not a phone number (%s)", n.Class)
	}
	p.National = n.National
	p.HasCountryCode = n.HasCountryCode
	p.Ext = n.Ext
	return nil
}

func checkText(field, v string, max int) error {
	if len(v) > max {
		return fieldErr(field, "longer than %d bytes", max)
	}
	if !utf8.ValidString(v) {
		return fieldErr(field, "not valid UTF-8")
	}
	for _, r := range v {
		if r < 0x20 && r != '\n' && r != '\t' && r != '\r' {
			return fieldErr(field, "contains control characters")
		}
	}
	return nil
}

func isJSONObject(b []byte) bool {
	return strings.HasPrefix(strings.TrimSpace(string(b)), "{") && json.Valid(b)
}

// Create validates and stores a new contact.
func (d *Directory) Create(ctx context.Context, c *Contact) error {
	if err := d.Normalize(c); err != nil {
		return err
	}
	return d.store.CreateContact(ctx, c)
}

// Update validates and replaces a contact.
func (d *Directory) Update(ctx context.Context, c *Contact) error {
	if err := d.Normalize(c); err != nil {
		return err
	}
	return d.store.UpdateContact(ctx, c)
}

func uniqueOrgs(refs []OrgRef) []OrgRef {
	out := refs[:0:0]
	for _, r := range refs {
		dup := false
		for _, o := range out {
			dup = dup || o.ID == r.ID
		}
		if !dup {
			out = append(out, r)
		}
	}
	return out
}

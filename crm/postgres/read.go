package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/internal/listsql"
)

// orgsOfSQL aggregates the live organizations of the person c as JSON
// objects shaped like crm.OrgRef.
//
// Here and in matchSQL, contacts are read by primary key in a LATERAL
// subquery with LIMIT 1. The LIMIT cannot change the result (the key is
// unique) but keeps the planner from flattening the subquery into a join
// that it may choose to run by reading contacts whole, as it does when
// statistics are stale after a bulk import: each row stays one probe.
const orgsOfSQL = `(SELECT jsonb_agg(jsonb_build_object('id', o.id, 'name', o.name) ORDER BY o.name, o.id)
    FROM memberships ms CROSS JOIN LATERAL (
        SELECT o.id, o.name FROM contacts o WHERE o.id = ms.org_id AND o.deleted_at IS NULL LIMIT 1) o
    WHERE ms.person_id = c.id)`

// matchSQL answers a lookup in one round trip. Three index probes, one per
// tier (e164, national where stored without a country code, tail); the
// tiers exclude each other so a phone appears once, DISTINCT ON keeps each
// contact's best phone, and the ORDER BY is the ranking the pop shows. The
// organizations of the people found come along as JSON.
const matchSQL = `WITH t AS (
    SELECT 0 AS tier, p.contact_id, p.pos, p.label, p.raw, p.e164, p.national, p.has_cc, p.ext
    FROM phones p WHERE $1::text <> '' AND p.e164 = $1::text
    UNION ALL
    SELECT 1, p.contact_id, p.pos, p.label, p.raw, p.e164, p.national, p.has_cc, p.ext
    FROM phones p WHERE $2::text <> '' AND NOT p.has_cc AND p.national = $2::text AND p.e164 IS DISTINCT FROM $1::text
    UNION ALL
    SELECT 2, p.contact_id, p.pos, p.label, p.raw, p.e164, p.national, p.has_cc, p.ext
    FROM phones p WHERE $3::text <> '' AND p.tail = $3::text AND p.e164 IS DISTINCT FROM $1::text
        AND NOT (NOT p.has_cc AND p.national = $2::text)
), m AS (
    SELECT DISTINCT ON (contact_id) * FROM t ORDER BY contact_id, tier, pos
)
SELECT m.tier, m.label, m.raw, coalesce(m.e164, ''), m.national, m.has_cc, m.ext,
    c.id, c.kind, c.display_name, c.status, c.owner, c.tags, c.last_interaction_at, c.segment, ` + orgsOfSQL + `
FROM m CROSS JOIN LATERAL (
    SELECT c.id, c.kind, c.display_name, c.status, c.owner, c.tags, c.last_interaction_at,
        coalesce(c.custom->>'segment', '') AS segment
    FROM contacts c WHERE c.id = m.contact_id AND c.deleted_at IS NULL LIMIT 1) c
ORDER BY m.tier, c.kind = 'organization', c.last_interaction_at DESC NULLS LAST, c.id
LIMIT $4`

var tiers = [...]crm.MatchHow{crm.MatchExact, crm.MatchNational, crm.MatchSuffix}

// MatchPhone implements crm.Store.
func (s *Store) MatchPhone(ctx context.Context, key crm.PhoneKey, limit int) ([]crm.Match, error) {
	if key.Empty() {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, matchSQL, key.E164, key.National, key.Tail, crm.MatchLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("match phone: %w", err)
	}
	defer rows.Close()
	var out []crm.Match
	for rows.Next() {
		var m crm.Match
		var tier int
		var label, kind, status string
		var last *time.Time
		if err := rows.Scan(&tier, &label, &m.Phone.Raw, &m.Phone.E164, &m.Phone.National, &m.Phone.HasCountryCode,
			&m.Phone.Ext, &m.Contact.ID, &kind, &m.Contact.DisplayName, &status, &m.Contact.Owner, &m.Contact.Tags,
			&last, &m.Contact.Segment, &m.Contact.Organizations); err != nil {
			return nil, fmt.Errorf("match phone: %w", err)
		}
		if tier < 0 || tier >= len(tiers) {
			return nil, fmt.Errorf("match phone: unknown tier %d", tier)
		}
		m.How = tiers[tier]
		m.Phone.Label = crm.PhoneLabel(label)
		m.Contact.Kind, m.Contact.Status = crm.Kind(kind), crm.Status(status)
		if len(m.Contact.Tags) == 0 {
			m.Contact.Tags = nil
		}
		m.Contact.LastInteractionAt = utc(last)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("match phone: %w", err)
	}
	return out, nil
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// contactSelect reads whole contacts, phones and organizations included, so
// a page of them is one round trip.
const contactSelect = `SELECT c.id, c.kind, c.first_name, c.last_name, c.name, c.status, c.owner, c.tags, c.emails,
    c.custom, c.notes, c.last_interaction_at, c.created_at, c.updated_at,
    (SELECT jsonb_agg(jsonb_build_object('label', p.label, 'raw', p.raw, 'e164', coalesce(p.e164, ''),
        'national', p.national, 'has_country_code', p.has_cc, 'ext', p.ext) ORDER BY p.pos)
     FROM phones p WHERE p.contact_id = c.id),
    ` + orgsOfSQL + `
FROM contacts c`

func scanContact(r pgx.Row, c *crm.Contact) error {
	var kind, status string
	var custom []byte
	var last *time.Time
	if err := r.Scan(&c.ID, &kind, &c.FirstName, &c.LastName, &c.Name, &status, &c.Owner, &c.Tags, &c.Emails,
		&custom, &c.Notes, &last, &c.CreatedAt, &c.UpdatedAt, &c.Phones, &c.Organizations); err != nil {
		return err
	}
	c.Kind, c.Status = crm.Kind(kind), crm.Status(status)
	if len(c.Tags) == 0 {
		c.Tags = nil
	}
	if len(c.Emails) == 0 {
		c.Emails = nil
	}
	if custom != nil {
		c.Custom = custom
	}
	c.LastInteractionAt = utc(last)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return nil
}

// GetContact implements crm.Store.
func (s *Store) GetContact(ctx context.Context, id int64) (*crm.Contact, error) {
	var c crm.Contact
	err := scanContact(s.pool.QueryRow(ctx, contactSelect+` WHERE c.id = $1 AND c.deleted_at IS NULL`, id), &c)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, crm.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get contact %d: %w", id, err)
	}
	return &c, nil
}

// ListContacts implements crm.Store.
func (s *Store) ListContacts(ctx context.Context, q crm.ContactQuery) ([]crm.Contact, error) {
	w := listsql.Contacts(dialect, q, "c.tags @> ARRAY[?::text]")
	limit := w.Param(crm.ListLimit(q.Limit))
	rows, err := s.pool.Query(ctx, contactSelect+w.String()+` ORDER BY c.id LIMIT `+limit, w.Args...)
	if err != nil {
		return nil, fmt.Errorf("list contacts: %w", err)
	}
	defer rows.Close()
	var list []crm.Contact
	for rows.Next() {
		var c crm.Contact
		if err := scanContact(rows, &c); err != nil {
			return nil, fmt.Errorf("list contacts: %w", err)
		}
		list = append(list, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list contacts: %w", err)
	}
	return list, nil
}

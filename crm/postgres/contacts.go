package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tamas-cc/tamas/crm"
)

// querier is what the pool and a transaction have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// A contact is written with its phones and memberships in one statement.
// Its arguments, shared by insert and update:
//
//	$1–$14  contact columns
//	$15–$21 phones, one array per column
//	$22     organization IDs
//
// A person may only join live organizations. Rather than fail the statement
// (which would abort an import's transaction), the write is skipped and the
// statement reports the position of the first unknown organization.
const (
	missingOrgsCTE = `missing AS (
    SELECT min(u.ord) AS ord FROM unnest($22::bigint[]) WITH ORDINALITY AS u(id, ord)
    WHERE NOT EXISTS (SELECT 1 FROM contacts o WHERE o.id = u.id AND o.kind = 'organization' AND o.deleted_at IS NULL))`

	insertPhonesCTE = `p AS (
    INSERT INTO phones (contact_id, pos, label, raw, e164, national, has_cc, ext, tail)
    SELECT c.id, u.ord - 1, u.label, u.raw, nullif(u.e164, ''), u.national, u.has_cc, u.ext, u.tail
    FROM c, unnest($15::text[], $16::text[], $17::text[], $18::text[], $19::boolean[], $20::text[], $21::text[])
        WITH ORDINALITY AS u(label, raw, e164, national, has_cc, ext, tail, ord))`

	insertMembersCTE = `m AS (
    INSERT INTO memberships (person_id, org_id)
    SELECT DISTINCT c.id, u.id FROM c, unnest($22::bigint[]) AS u(id)
    ON CONFLICT DO NOTHING)`

	insertContactSQL = `WITH ` + missingOrgsCTE + `,
c AS (
    INSERT INTO contacts (kind, first_name, last_name, name, display_name, search_name, search_last, status, owner,
        tags, emails, custom, notes, last_interaction_at, created_at, updated_at)
    SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text, $9::text,
        $10::text[], $11::jsonb, $12::jsonb, $13::text, $14::timestamptz, now(), now()
    FROM missing WHERE missing.ord IS NULL
    RETURNING id, created_at),
` + insertPhonesCTE + `,
` + insertMembersCTE + `
SELECT c.id, c.created_at, missing.ord FROM missing LEFT JOIN c ON true`

	// The phones are replaced wholesale. Memberships that stay are left in
	// place: deleting and re-inserting the same key in one statement would
	// collide on it.
	updateContactSQL = `WITH ` + missingOrgsCTE + `,
c AS (
    UPDATE contacts SET kind = $1::text, first_name = $2::text, last_name = $3::text, name = $4::text,
        display_name = $5::text, search_name = $6::text, search_last = $7::text, status = $8::text, owner = $9::text,
        tags = $10::text[], emails = $11::jsonb, custom = $12::jsonb, notes = $13::text,
        last_interaction_at = $14::timestamptz, updated_at = now()
    WHERE id = $23 AND deleted_at IS NULL AND (SELECT ord FROM missing) IS NULL
    RETURNING id, created_at, updated_at),
dp AS (DELETE FROM phones WHERE contact_id IN (SELECT id FROM c)),
` + insertPhonesCTE + `,
dm AS (DELETE FROM memberships WHERE person_id IN (SELECT id FROM c) AND org_id <> ALL ($22::bigint[])),
` + insertMembersCTE + `
SELECT c.created_at, c.updated_at, missing.ord, EXISTS (SELECT 1 FROM contacts WHERE id = $23 AND deleted_at IS NULL)
FROM missing LEFT JOIN c ON true`

	// An update's statement reads the contact's phones and memberships as
	// of its start; locking the row first, in the same implicit
	// transaction, makes a concurrent update of the same contact wait and
	// then see the other's children rather than leave them behind.
	lockContactSQL = `SELECT 1 FROM contacts WHERE id = $1 AND deleted_at IS NULL FOR UPDATE`
)

// contactArgs returns $1–$22 for c.
func contactArgs(c *crm.Contact) []any {
	tags := c.Tags
	if tags == nil {
		tags = []string{}
	}
	emails := c.Emails
	if emails == nil {
		emails = []crm.Email{}
	}
	var custom any
	if len(c.Custom) > 0 {
		custom = []byte(c.Custom)
	}
	n := len(c.Phones)
	labels, raws, e164s, nationals := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	hasCC, exts, tails := make([]bool, n), make([]string, n), make([]string, n)
	for i, p := range c.Phones {
		labels[i], raws[i], e164s[i], nationals[i] = string(p.Label), p.Raw, p.E164, p.National
		hasCC[i], exts[i], tails[i] = p.HasCountryCode, p.Ext, p.Tail()
	}
	orgs := make([]int64, len(c.Organizations))
	for i, o := range c.Organizations {
		orgs[i] = o.ID
	}
	name, last := c.SearchKeys()
	return []any{
		string(c.Kind), c.FirstName, c.LastName, c.Name, c.DisplayName(), name, last,
		string(c.Status), c.Owner, tags, emails, custom, c.Notes, c.LastInteractionAt,
		labels, raws, e164s, nationals, hasCC, exts, tails,
		orgs,
	}
}

// orgError reports the organization at ord (counted from 1) as unknown.
func orgError(c *crm.Contact, ord int64) error {
	i := int(ord) - 1
	id := int64(0)
	if i >= 0 && i < len(c.Organizations) {
		id = c.Organizations[i].ID
	}
	return crm.UnknownOrganization(i, id)
}

func createContact(ctx context.Context, q querier, c *crm.Contact) error {
	var id *int64
	var created *time.Time
	var missing *int64
	if err := q.QueryRow(ctx, insertContactSQL, contactArgs(c)...).Scan(&id, &created, &missing); err != nil {
		return fmt.Errorf("insert contact: %w", err)
	}
	if missing != nil {
		return orgError(c, *missing)
	}
	if id == nil || created == nil {
		return errors.New("insert contact: no row returned")
	}
	c.ID = *id
	c.CreatedAt = created.UTC()
	c.UpdatedAt = c.CreatedAt
	c.DeletedAt = nil
	return nil
}

// CreateContact implements crm.Store.
func (s *Store) CreateContact(ctx context.Context, c *crm.Contact) error {
	return createContact(ctx, s.pool, c)
}

// UpdateContact implements crm.Store.
func (s *Store) UpdateContact(ctx context.Context, c *crm.Contact) error {
	var b pgx.Batch
	b.Queue(lockContactSQL, c.ID)
	b.Queue(updateContactSQL, append(contactArgs(c), c.ID)...)
	br := s.pool.SendBatch(ctx, &b)
	var created, updated *time.Time
	var missing *int64
	var live bool
	_, err := br.Exec()
	if err == nil {
		err = br.QueryRow().Scan(&created, &updated, &missing, &live)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("update contact %d: %w", c.ID, err)
	}
	switch {
	case !live:
		return crm.ErrNotFound
	case missing != nil:
		return orgError(c, *missing)
	case created == nil || updated == nil:
		// The contact was deleted between the lock and the update: the lock
		// makes this unreachable, but a nil time must not panic.
		return crm.ErrNotFound
	}
	c.CreatedAt, c.UpdatedAt = created.UTC(), updated.UTC()
	return nil
}

// DeleteContact implements crm.Store.
func (s *Store) DeleteContact(ctx context.Context, id int64) error {
	tag, err := s.pool.Exec(ctx, `UPDATE contacts SET deleted_at = now(), updated_at = now()
		WHERE id = $1 AND deleted_at IS NULL`, id)
	if err != nil {
		return fmt.Errorf("delete contact %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return crm.ErrNotFound
	}
	return nil
}

// TouchInteraction implements crm.Store. An older time never moves the
// clock back (greatest ignores NULL).
func (s *Store) TouchInteraction(ctx context.Context, id int64, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE contacts SET last_interaction_at = greatest(last_interaction_at, $1)
		WHERE id = $2 AND deleted_at IS NULL`, at, id)
	if err != nil {
		return fmt.Errorf("touch contact %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return crm.ErrNotFound
	}
	return nil
}

package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tamas-cc/tamas/crm"
)

const contactCols = `c.id, c.kind, c.first_name, c.last_name, c.name, c.status, c.owner, c.tags, c.emails,
	c.custom, c.notes, c.last_interaction_at, c.created_at, c.updated_at`

// writeStmts are the statements one contact write needs, bound to a
// transaction.
type writeStmts struct {
	insContact, updContact, insPhone, insTag, insMember *sql.Stmt
	delPhones, delTags, delMembers                      *sql.Stmt
}

func prepareWrite(ctx context.Context, tx *sql.Tx) (*writeStmts, error) {
	var ws writeStmts
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&ws.insContact, `INSERT INTO contacts (kind, first_name, last_name, name, display_name, search_name, search_last,
			status, owner, tags, emails, custom, notes, last_interaction_at, created_at, updated_at)
			VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`},
		{&ws.updContact, `UPDATE contacts SET kind=?, first_name=?, last_name=?, name=?, display_name=?, search_name=?,
			search_last=?, status=?, owner=?, tags=?, emails=?, custom=?, notes=?, last_interaction_at=?, updated_at=?
			WHERE id=? AND deleted_at IS NULL`},
		{&ws.insPhone, `INSERT INTO phones (contact_id, pos, label, raw, e164, national, has_cc, ext, tail)
			VALUES (?,?,?,?,?,?,?,?,?)`},
		{&ws.insTag, `INSERT OR IGNORE INTO contact_tags (tag, contact_id) VALUES (?,?)`},
		{&ws.insMember, `INSERT OR IGNORE INTO memberships (person_id, org_id)
			SELECT ?, id FROM contacts WHERE id=? AND kind='organization' AND deleted_at IS NULL`},
		{&ws.delPhones, `DELETE FROM phones WHERE contact_id=?`},
		{&ws.delTags, `DELETE FROM contact_tags WHERE contact_id=?`},
		{&ws.delMembers, `DELETE FROM memberships WHERE person_id=?`},
	} {
		st, err := tx.PrepareContext(ctx, p.sql)
		if err != nil {
			ws.close()
			return nil, err
		}
		*p.dst = st
	}
	return &ws, nil
}

func (ws *writeStmts) close() {
	for _, st := range []*sql.Stmt{ws.insContact, ws.updContact, ws.insPhone, ws.insTag, ws.insMember,
		ws.delPhones, ws.delTags, ws.delMembers} {
		if st != nil {
			st.Close()
		}
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v) // slices of strings and structs of strings cannot fail
	return string(b)
}

func customArg(c *crm.Contact) any {
	if len(c.Custom) == 0 {
		return nil
	}
	return string(c.Custom)
}

// contactFields appends a contact's columns, in the order of the
// contacts table from kind to last_interaction_at, to args.
func contactFields(args []any, c *crm.Contact) []any {
	tags, emails := c.Tags, c.Emails
	if tags == nil {
		tags = []string{}
	}
	if emails == nil {
		emails = []crm.Email{}
	}
	name, last := c.SearchKeys()
	return append(args, string(c.Kind), c.FirstName, c.LastName, c.Name, c.DisplayName(), name, last,
		string(c.Status), c.Owner, jsonText(tags), jsonText(emails), customArg(c), c.Notes, nullMS(c.LastInteractionAt))
}

func (ws *writeStmts) create(ctx context.Context, c *crm.Contact, now time.Time) error {
	res, err := ws.insContact.ExecContext(ctx, append(contactFields(nil, c), ms(now), ms(now))...)
	if err != nil {
		return fmt.Errorf("insert contact: %w", err)
	}
	if c.ID, err = res.LastInsertId(); err != nil {
		return err
	}
	c.CreatedAt, c.UpdatedAt = now, now
	return ws.children(ctx, c)
}

func (ws *writeStmts) children(ctx context.Context, c *crm.Contact) error {
	for i, p := range c.Phones {
		var e164 any
		if p.E164 != "" {
			e164 = p.E164
		}
		if _, err := ws.insPhone.ExecContext(ctx, c.ID, i, string(p.Label), p.Raw, e164, p.National,
			p.HasCountryCode, p.Ext, p.Tail()); err != nil {
			return fmt.Errorf("insert phone: %w", err)
		}
	}
	for _, t := range c.Tags {
		if _, err := ws.insTag.ExecContext(ctx, t, c.ID); err != nil {
			return fmt.Errorf("insert tag: %w", err)
		}
	}
	for i, o := range c.Organizations {
		res, err := ws.insMember.ExecContext(ctx, c.ID, o.ID)
		if err != nil {
			return fmt.Errorf("insert membership: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return crm.UnknownOrganization(i, o.ID)
		}
	}
	return nil
}

func (s *Store) writeTx(ctx context.Context, fn func(*sql.Tx, *writeStmts) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	ws, err := prepareWrite(ctx, tx)
	if err != nil {
		tx.Rollback()
		return fmt.Errorf("prepare: %w", err)
	}
	defer ws.close()
	if err := fn(tx, ws); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// CreateContact implements crm.Store.
func (s *Store) CreateContact(ctx context.Context, c *crm.Contact) error {
	now := now()
	return s.writeTx(ctx, func(_ *sql.Tx, ws *writeStmts) error { return ws.create(ctx, c, now) })
}

// UpdateContact implements crm.Store.
func (s *Store) UpdateContact(ctx context.Context, c *crm.Contact) error {
	now := now()
	return s.writeTx(ctx, func(tx *sql.Tx, ws *writeStmts) error {
		res, err := ws.updContact.ExecContext(ctx, append(contactFields(nil, c), ms(now), c.ID)...)
		if err != nil {
			return fmt.Errorf("update contact: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return crm.ErrNotFound
		}
		for _, st := range []*sql.Stmt{ws.delPhones, ws.delTags, ws.delMembers} {
			if _, err := st.ExecContext(ctx, c.ID); err != nil {
				return fmt.Errorf("update contact: %w", err)
			}
		}
		if err := ws.children(ctx, c); err != nil {
			return err
		}
		var created int64
		if err := tx.QueryRowContext(ctx, `SELECT created_at FROM contacts WHERE id=?`, c.ID).Scan(&created); err != nil {
			return err
		}
		c.CreatedAt, c.UpdatedAt = time.UnixMilli(created).UTC(), now
		return nil
	})
}

// DeleteContact implements crm.Store.
func (s *Store) DeleteContact(ctx context.Context, id int64) error {
	now := ms(time.Now())
	res, err := s.w.ExecContext(ctx, `UPDATE contacts SET deleted_at=?, updated_at=? WHERE id=? AND deleted_at IS NULL`, now, now, id)
	if err != nil {
		return fmt.Errorf("delete contact: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return crm.ErrNotFound
	}
	return nil
}

// TouchInteraction implements crm.Store.
func (s *Store) TouchInteraction(ctx context.Context, id int64, at time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE contacts SET last_interaction_at=max(coalesce(last_interaction_at,0),?)
		WHERE id=? AND deleted_at IS NULL`, ms(at), id)
	if err != nil {
		return fmt.Errorf("touch contact: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return crm.ErrNotFound
	}
	return nil
}

type scanner interface{ Scan(...any) error }

func scanContact(r scanner, c *crm.Contact) error {
	var tags, emails string
	var custom sql.NullString
	var last sql.NullInt64
	var created, updated int64
	var kind, status string
	if err := r.Scan(&c.ID, &kind, &c.FirstName, &c.LastName, &c.Name, &status, &c.Owner, &tags, &emails,
		&custom, &c.Notes, &last, &created, &updated); err != nil {
		return err
	}
	c.Kind, c.Status = crm.Kind(kind), crm.Status(status)
	if err := json.Unmarshal([]byte(tags), &c.Tags); err != nil {
		return fmt.Errorf("contact %d tags: %w", c.ID, err)
	}
	if err := json.Unmarshal([]byte(emails), &c.Emails); err != nil {
		return fmt.Errorf("contact %d emails: %w", c.ID, err)
	}
	if len(c.Tags) == 0 {
		c.Tags = nil
	}
	if len(c.Emails) == 0 {
		c.Emails = nil
	}
	if custom.Valid {
		c.Custom = json.RawMessage(custom.String)
	}
	c.LastInteractionAt = fromMS(last)
	c.CreatedAt, c.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return nil
}

// GetContact implements crm.Store.
func (s *Store) GetContact(ctx context.Context, id int64) (*crm.Contact, error) {
	var c crm.Contact
	err := scanContact(s.r.QueryRowContext(ctx, `SELECT `+contactCols+` FROM contacts c WHERE c.id=? AND c.deleted_at IS NULL`, id), &c)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, crm.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get contact %d: %w", id, err)
	}
	list := []crm.Contact{c}
	if err := s.loadChildren(ctx, list); err != nil {
		return nil, err
	}
	return &list[0], nil
}

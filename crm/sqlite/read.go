package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/internal/listsql"
)

// matchRows is how many phone rows a lookup reads: a contact may hold the
// number twice, so twice the matches it may return.
const matchRows = 2 * crm.MaxMatches

// readStmts are prepared once: the lookup is the hot path of every call.
type readStmts struct {
	match, orgsOf, orgsOfOne *sql.Stmt
	// recent and open read DefaultRecords rows: the page a pop shows. The
	// LIMIT is a literal for the reason given in prepareRead.
	recent, open *sql.Stmt
}

// stmts prepares the read statements on first use; it fails until the
// schema exists.
func (s *Store) stmts(ctx context.Context) (*readStmts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.q != nil {
		return s.q, nil
	}
	q, err := prepareRead(ctx, s.r)
	if err != nil {
		return nil, err
	}
	s.q = q
	return q, nil
}

func prepareRead(ctx context.Context, db *sql.DB) (*readStmts, error) {
	var q readStmts
	var err error
	// Three index probes, one per tier; the tiers exclude each other so a
	// phone appears once, and the ORDER BY is the ranking the pop shows.
	// "e164 IS NOT NULL" restates the partial index's condition, and the
	// LIMIT is a literal: SQLite re-prepares a statement on every call when
	// a bound value can change its plan, and that was 40% of a lookup.
	q.match, err = db.PrepareContext(ctx, `
SELECT m.tier, p.label, p.raw, coalesce(p.e164,''), p.national, p.has_cc, p.ext,
       c.id, c.kind, c.display_name, c.status, c.owner, c.tags, c.last_interaction_at,
       coalesce(CAST(json_extract(c.custom, '$.segment') AS TEXT), '')
FROM (
    SELECT 0 AS tier, id FROM phones WHERE ?1 <> '' AND e164 = ?1 AND e164 IS NOT NULL
    UNION ALL
    SELECT 1, id FROM phones WHERE ?2 <> '' AND has_cc = 0 AND national = ?2 AND e164 IS NOT ?1
    UNION ALL
    SELECT 2, id FROM phones WHERE ?3 <> '' AND tail = ?3 AND e164 IS NOT ?1
        AND NOT (has_cc = 0 AND national = ?2)
) m
JOIN phones p ON p.id = m.id
JOIN contacts c ON c.id = p.contact_id AND c.deleted_at IS NULL
ORDER BY m.tier, c.kind = 'organization', coalesce(c.last_interaction_at, 0) DESC, c.id
LIMIT `+strconv.Itoa(matchRows))
	if err != nil {
		return nil, fmt.Errorf("prepare match: %w", err)
	}
	q.orgsOf, err = db.PrepareContext(ctx, `
SELECT m.person_id, o.id, o.name FROM memberships m
JOIN contacts o ON o.id = m.org_id AND o.deleted_at IS NULL
WHERE m.person_id IN (SELECT value FROM json_each(?)) ORDER BY m.person_id, o.name`)
	if err != nil {
		q.match.Close()
		return nil, fmt.Errorf("prepare orgs: %w", err)
	}
	// Most callers are one person: a plain equality needs no json_each.
	q.orgsOfOne, err = db.PrepareContext(ctx, `
SELECT m.person_id, o.id, o.name FROM memberships m
JOIN contacts o ON o.id = m.org_id AND o.deleted_at IS NULL
WHERE m.person_id = ? ORDER BY o.name`)
	if err != nil {
		q.match.Close()
		q.orgsOf.Close()
		return nil, fmt.Errorf("prepare orgs: %w", err)
	}
	// A pop reads each match's history and follow-ups: prepared too.
	lim := strconv.Itoa(crm.DefaultRecords)
	q.recent, err = db.PrepareContext(ctx, `SELECT `+activityCols+` FROM activities WHERE contact_id=?
		ORDER BY at DESC, id DESC LIMIT `+lim)
	if err == nil {
		q.open, err = db.PrepareContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE contact_id=? AND done_at IS NULL
			ORDER BY due_at, id LIMIT `+lim)
	}
	if err != nil {
		for _, st := range []*sql.Stmt{q.match, q.orgsOf, q.orgsOfOne, q.recent} {
			if st != nil {
				st.Close()
			}
		}
		return nil, fmt.Errorf("prepare history: %w", err)
	}
	return &q, nil
}

func (q *readStmts) close() {
	for _, st := range []*sql.Stmt{q.match, q.orgsOf, q.orgsOfOne, q.recent, q.open} {
		st.Close()
	}
}

// MatchPhone implements crm.Store.
func (s *Store) MatchPhone(ctx context.Context, key crm.PhoneKey, limit int) ([]crm.Match, error) {
	q, err := s.stmts(ctx)
	if err != nil {
		return nil, err
	}
	if key.Empty() {
		return nil, nil
	}
	limit = crm.MatchLimit(limit)
	rows, err := q.match.QueryContext(ctx, key.E164, key.National, key.Tail)
	if err != nil {
		return nil, fmt.Errorf("match phone: %w", err)
	}
	defer rows.Close()
	var out []crm.Match
	seen := make(map[int64]bool, 4)
	var people []int64
	for rows.Next() {
		var m crm.Match
		var tier int
		var label, kind, status, tags string
		var last sql.NullInt64
		if err := rows.Scan(&tier, &label, &m.Phone.Raw, &m.Phone.E164, &m.Phone.National, &m.Phone.HasCountryCode,
			&m.Phone.Ext, &m.Contact.ID, &kind, &m.Contact.DisplayName, &status, &m.Contact.Owner, &tags, &last,
			&m.Contact.Segment); err != nil {
			return nil, fmt.Errorf("match phone: %w", err)
		}
		if seen[m.Contact.ID] || len(out) == limit {
			continue
		}
		seen[m.Contact.ID] = true
		m.How = [...]crm.MatchHow{crm.MatchExact, crm.MatchNational, crm.MatchSuffix}[tier]
		m.Phone.Label = crm.PhoneLabel(label)
		m.Contact.Kind, m.Contact.Status = crm.Kind(kind), crm.Status(status)
		m.Contact.Tags = decodeTags(tags)
		m.Contact.LastInteractionAt = fromMS(last)
		if m.Contact.Kind == crm.KindPerson {
			people = append(people, m.Contact.ID)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("match phone: %w", err)
	}
	if len(people) > 0 {
		st, arg := q.orgsOf, any(jsonText(people))
		if len(people) == 1 {
			st, arg = q.orgsOfOne, people[0]
		}
		orgs, err := orgsOf(ctx, st, arg)
		if err != nil {
			return nil, err
		}
		for i := range out {
			out[i].Contact.Organizations = orgs[out[i].Contact.ID]
		}
	}
	return out, nil
}

func decodeTags(s string) []string {
	if s == "[]" || s == "" {
		return nil
	}
	var t []string
	if json.Unmarshal([]byte(s), &t) != nil {
		return nil
	}
	return t
}

func orgsOf(ctx context.Context, st *sql.Stmt, arg any) (map[int64][]crm.OrgRef, error) {
	rows, err := st.QueryContext(ctx, arg)
	if err != nil {
		return nil, fmt.Errorf("organizations: %w", err)
	}
	defer rows.Close()
	out := make(map[int64][]crm.OrgRef)
	for rows.Next() {
		var pid int64
		var o crm.OrgRef
		if err := rows.Scan(&pid, &o.ID, &o.Name); err != nil {
			return nil, fmt.Errorf("organizations: %w", err)
		}
		out[pid] = append(out[pid], o)
	}
	return out, rows.Err()
}

// loadChildren fills phones and organizations of a page of contacts.
func (s *Store) loadChildren(ctx context.Context, list []crm.Contact) error {
	if len(list) == 0 {
		return nil
	}
	idx := make(map[int64]int, len(list))
	ids := make([]int64, len(list))
	for i := range list {
		idx[list[i].ID] = i
		ids[i] = list[i].ID
	}
	rows, err := s.r.QueryContext(ctx, `SELECT contact_id, label, raw, coalesce(e164,''), national, has_cc, ext
		FROM phones WHERE contact_id IN (SELECT value FROM json_each(?)) ORDER BY contact_id, pos`, jsonText(ids))
	if err != nil {
		return fmt.Errorf("phones: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var p crm.Phone
		var label string
		if err := rows.Scan(&id, &label, &p.Raw, &p.E164, &p.National, &p.HasCountryCode, &p.Ext); err != nil {
			return fmt.Errorf("phones: %w", err)
		}
		p.Label = crm.PhoneLabel(label)
		c := &list[idx[id]]
		c.Phones = append(c.Phones, p)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("phones: %w", err)
	}
	var people []int64
	for _, c := range list {
		if c.Kind == crm.KindPerson {
			people = append(people, c.ID)
		}
	}
	if len(people) == 0 {
		return nil
	}
	q, err := s.stmts(ctx)
	if err != nil {
		return err
	}
	orgs, err := orgsOf(ctx, q.orgsOf, jsonText(people))
	if err != nil {
		return err
	}
	for pid, o := range orgs {
		list[idx[pid]].Organizations = o
	}
	return nil
}

// ListContacts implements crm.Store.
func (s *Store) ListContacts(ctx context.Context, q crm.ContactQuery) ([]crm.Contact, error) {
	w := listsql.Contacts(dialect, q, "c.id IN (SELECT contact_id FROM contact_tags WHERE tag = ?)")
	limit := w.Param(crm.ListLimit(q.Limit))
	rows, err := s.r.QueryContext(ctx, `SELECT `+contactCols+` FROM contacts c`+w.String()+` ORDER BY c.id LIMIT `+limit,
		w.Args...)
	if err != nil {
		return nil, fmt.Errorf("list contacts: %w", err)
	}
	list, err := scanContacts(rows)
	if err != nil {
		return nil, fmt.Errorf("list contacts: %w", err)
	}
	return list, s.loadChildren(ctx, list)
}

func scanContacts(rows *sql.Rows) ([]crm.Contact, error) {
	defer rows.Close()
	var list []crm.Contact
	for rows.Next() {
		var c crm.Contact
		if err := scanContact(rows, &c); err != nil {
			return nil, err
		}
		list = append(list, c)
	}
	return list, rows.Err()
}

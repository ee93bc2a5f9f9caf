package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tamas-cc/tamas/crm"
)

// importChunk is how many contacts an import buffers before writing them
// with multi-row INSERTs: one statement per table per chunk instead of one
// per row is what lets a bulk import keep pace with the CSV reader.
const importChunk = 64

// importTx is one bulk import inside a single write transaction. Contacts
// get their IDs when buffered (the transaction holds SQLite's write lock, so
// nobody else can take them) and reach the tables chunk by chunk; the
// lookups below consult the unwritten chunk first, so an import sees its own
// rows at once.
type importTx struct {
	tx        *sql.Tx
	byPhone   *sql.Stmt
	byDigits  *sql.Stmt
	orgByName *sql.Stmt
	orgByID   *sql.Stmt
	now       int64
	nextID    int64
	done      bool

	tables      [4]*pending // contacts, phones, tags, members: in foreign-key order
	stmts       map[stmtKey]*sql.Stmt
	chunkPhones map[string][]phoneOwner // E.164, or digits of invalid numbers → buffered holders
	chunkOrgs   map[string]int64        // name → buffered organization
	knownOrgs   map[int64]bool          // organizations checked to exist
}

type phoneOwner struct {
	kind crm.Kind
	id   int64
}

type stmtKey struct {
	table, rows int
}

// pending is the buffered rows of one table.
type pending struct {
	insert string // "INSERT INTO t (a,b) VALUES "
	cols   int
	args   []any
}

func (p *pending) rows() int { return len(p.args) / p.cols }

const (
	tContacts = iota
	tPhones
	tTags
	tMembers
)

// BeginImport implements crm.Store.
func (s *Store) BeginImport(ctx context.Context) (crm.ImportTx, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin import: %w", err)
	}
	it := &importTx{
		tx: tx, now: ms(time.Now()),
		stmts: map[stmtKey]*sql.Stmt{}, chunkPhones: map[string][]phoneOwner{}, chunkOrgs: map[string]int64{},
		knownOrgs: map[int64]bool{},
		tables: [4]*pending{
			{insert: `INSERT INTO contacts (id, kind, first_name, last_name, name, display_name, search_name, search_last,
				status, owner, tags, emails, custom, notes, last_interaction_at, created_at, updated_at) VALUES `, cols: 17},
			{insert: `INSERT INTO phones (contact_id, pos, label, raw, e164, national, has_cc, ext, tail) VALUES `, cols: 9},
			{insert: `INSERT OR IGNORE INTO contact_tags (tag, contact_id) VALUES `, cols: 2},
			{insert: `INSERT OR IGNORE INTO memberships (person_id, org_id) VALUES `, cols: 2},
		},
	}
	err = tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM contacts`).Scan(&it.nextID)
	if err == nil {
		it.byPhone, err = tx.PrepareContext(ctx, `SELECT p.contact_id FROM phones p
			JOIN contacts c ON c.id = p.contact_id AND c.deleted_at IS NULL AND c.kind = ?
			WHERE p.e164 = ? AND p.e164 IS NOT NULL LIMIT 1`)
	}
	if err == nil {
		it.byDigits, err = tx.PrepareContext(ctx, `SELECT p.contact_id FROM phones p
			JOIN contacts c ON c.id = p.contact_id AND c.deleted_at IS NULL AND c.kind = ?
			WHERE p.tail = ? AND p.national = ? AND p.e164 IS NULL LIMIT 1`)
	}
	if err == nil {
		it.orgByName, err = tx.PrepareContext(ctx, `SELECT id FROM contacts
			WHERE search_name = ? AND name = ? AND kind = 'organization' AND deleted_at IS NULL LIMIT 1`)
	}
	if err == nil {
		it.orgByID, err = tx.PrepareContext(ctx, `SELECT id FROM contacts
			WHERE id = ? AND kind = 'organization' AND deleted_at IS NULL`)
	}
	if err != nil {
		it.Rollback()
		return nil, fmt.Errorf("begin import: %w", err)
	}
	return it, nil
}

func (it *importTx) ContactByPhone(ctx context.Context, kind crm.Kind, p crm.Phone) (int64, bool, error) {
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	key := p.DedupKey()
	if key == "" {
		return 0, false, nil
	}
	for _, o := range it.chunkPhones[key] {
		if o.kind == kind {
			return o.id, true, nil
		}
	}
	if p.E164 == "" {
		return queryID(ctx, it.byDigits, string(kind), p.Tail(), p.National)
	}
	return queryID(ctx, it.byPhone, string(kind), p.E164)
}

func (it *importTx) OrganizationByName(ctx context.Context, name string) (int64, bool, error) {
	if id, ok := it.chunkOrgs[name]; ok {
		return id, true, nil
	}
	return queryID(ctx, it.orgByName, crm.SearchKey(name), name)
}

func queryID(ctx context.Context, st *sql.Stmt, args ...any) (int64, bool, error) {
	var id int64
	err := st.QueryRowContext(ctx, args...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return id, true, nil
}

// CreateContact buffers c, which the caller may reuse once it returns.
// Membership errors are reported here, against this contact, never later at
// a flush where they could not be told apart.
func (it *importTx) CreateContact(ctx context.Context, c *crm.Contact) error {
	if it.done {
		return errors.New("import already finished")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for i, o := range c.Organizations {
		ok, err := it.orgExists(ctx, o.ID)
		if err != nil {
			return err
		}
		if !ok {
			return crm.UnknownOrganization(i, o.ID)
		}
	}
	c.ID = it.nextID
	it.nextID++
	now := time.UnixMilli(it.now).UTC()
	c.CreatedAt, c.UpdatedAt = now, now
	t := it.tables[tContacts]
	t.args = append(contactFields(append(t.args, c.ID), c), it.now, it.now)
	for i, p := range c.Phones {
		var e164 any
		if p.E164 != "" {
			e164 = p.E164
		}
		if k := p.DedupKey(); k != "" {
			it.chunkPhones[k] = append(it.chunkPhones[k], phoneOwner{c.Kind, c.ID})
		}
		t := it.tables[tPhones]
		t.args = append(t.args, c.ID, i, string(p.Label), p.Raw, e164, p.National, p.HasCountryCode, p.Ext, p.Tail())
	}
	for _, tag := range c.Tags {
		t := it.tables[tTags]
		t.args = append(t.args, tag, c.ID)
	}
	for _, o := range c.Organizations {
		t := it.tables[tMembers]
		t.args = append(t.args, c.ID, o.ID)
	}
	if c.Kind == crm.KindOrganization {
		it.chunkOrgs[c.Name] = c.ID
		it.knownOrgs[c.ID] = true
	}
	if it.tables[tContacts].rows() >= importChunk {
		return it.flush(ctx)
	}
	return nil
}

// maxKnownOrgs bounds the cache of organizations known to exist.
const maxKnownOrgs = 100_000

func (it *importTx) orgExists(ctx context.Context, id int64) (bool, error) {
	if it.knownOrgs[id] {
		return true, nil
	}
	_, ok, err := queryID(ctx, it.orgByID, id)
	if err != nil {
		return false, err
	}
	if ok {
		if len(it.knownOrgs) >= maxKnownOrgs {
			clear(it.knownOrgs)
		}
		it.knownOrgs[id] = true
	}
	return ok, nil
}

// flush writes the buffered chunk, table by table in foreign-key order,
// in statements of at most importChunk rows each.
func (it *importTx) flush(ctx context.Context) error {
	for ti, t := range it.tables {
		for t.rows() > 0 {
			n := min(t.rows(), importChunk)
			st, err := it.stmt(ctx, ti, n)
			if err != nil {
				return err
			}
			if _, err := st.ExecContext(ctx, t.args[:n*t.cols]...); err != nil {
				if cerr := ctx.Err(); cerr != nil {
					err = cerr // database/sql closed the statements when ctx ended
				}
				return fmt.Errorf("import: write %d rows: %w", n, err)
			}
			t.args = append(t.args[:0], t.args[n*t.cols:]...)
		}
		clear(t.args[:cap(t.args)]) // drop references to written strings
	}
	clear(it.chunkPhones)
	clear(it.chunkOrgs)
	return nil
}

func (it *importTx) stmt(ctx context.Context, table, rows int) (*sql.Stmt, error) {
	k := stmtKey{table, rows}
	if st, ok := it.stmts[k]; ok {
		return st, nil
	}
	t := it.tables[table]
	row := "(" + strings.Repeat("?,", t.cols-1) + "?)"
	q := t.insert + strings.Repeat(row+",", rows-1) + row
	st, err := it.tx.PrepareContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("import: prepare: %w", err)
	}
	it.stmts[k] = st
	return st, nil
}

func (it *importTx) close() {
	it.done = true
	for _, st := range it.stmts {
		st.Close()
	}
	for _, st := range []*sql.Stmt{it.byPhone, it.byDigits, it.orgByName, it.orgByID} {
		if st != nil {
			st.Close()
		}
	}
}

func (it *importTx) Commit() error {
	if it.done {
		return errors.New("import already finished")
	}
	if err := it.flush(context.Background()); err != nil {
		it.close()
		it.tx.Rollback()
		return err
	}
	it.close()
	if err := it.tx.Commit(); err != nil {
		return fmt.Errorf("commit import: %w", err)
	}
	return nil
}

func (it *importTx) Rollback() error {
	if it.done {
		return nil
	}
	it.close()
	return it.tx.Rollback()
}

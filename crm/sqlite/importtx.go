package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tamas-cc/tamas/crm"
)

// importTx is one bulk import inside a single write transaction, with its
// statements prepared once for all rows.
type importTx struct {
	tx        *sql.Tx
	ws        *writeStmts
	byPhone   *sql.Stmt
	orgByName *sql.Stmt
	now       time.Time
	done      bool
}

// BeginImport implements crm.Store.
func (s *Store) BeginImport(ctx context.Context) (crm.ImportTx, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin import: %w", err)
	}
	it := &importTx{tx: tx, now: time.Now().UTC().Truncate(time.Millisecond)}
	if it.ws, err = prepareWrite(ctx, tx); err == nil {
		it.byPhone, err = tx.PrepareContext(ctx, `SELECT p.contact_id FROM phones p
			JOIN contacts c ON c.id = p.contact_id AND c.deleted_at IS NULL AND c.kind = ?
			WHERE p.e164 = ? LIMIT 1`)
	}
	if err == nil {
		it.orgByName, err = tx.PrepareContext(ctx, `SELECT id FROM contacts
			WHERE search_name = ? AND name = ? AND kind = 'organization' AND deleted_at IS NULL LIMIT 1`)
	}
	if err != nil {
		it.Rollback()
		return nil, fmt.Errorf("begin import: %w", err)
	}
	return it, nil
}

func (it *importTx) ContactByPhone(ctx context.Context, kind crm.Kind, e164 string) (int64, bool, error) {
	return queryID(ctx, it.byPhone, string(kind), e164)
}

func (it *importTx) OrganizationByName(ctx context.Context, name string) (int64, bool, error) {
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

func (it *importTx) CreateContact(ctx context.Context, c *crm.Contact) error {
	return it.ws.create(ctx, c, it.now)
}

func (it *importTx) close() {
	it.done = true
	if it.ws != nil {
		it.ws.close()
	}
	for _, st := range []*sql.Stmt{it.byPhone, it.orgByName} {
		if st != nil {
			st.Close()
		}
	}
}

func (it *importTx) Commit() error {
	if it.done {
		return errors.New("import already finished")
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

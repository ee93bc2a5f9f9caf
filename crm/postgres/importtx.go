package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tamas-cc/tamas/crm"
)

// importTx is one bulk import inside a single transaction. Each contact is
// one statement (see insertContactSQL), prepared once per connection by
// pgx's statement cache, so an import costs one round trip per contact and
// later rows see earlier ones.
type importTx struct {
	s       *Store
	tx      pgx.Tx
	created int
	done    bool
}

// analyzeAfter is how many contacts an import must add for its commit to
// refresh the planner's statistics. Autovacuum would, but only after a
// while; until then the planner may misjudge tables that grew tenfold.
const analyzeAfter = 1000

// endTimeout bounds Commit and Rollback, which take no context: the
// import's own context may be gone by then, yet the transaction must still
// be ended. If it runs out, pgx closes the connection and the server rolls
// the transaction back.
const endTimeout = time.Minute

// BeginImport implements crm.Store.
func (s *Store) BeginImport(ctx context.Context) (crm.ImportTx, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin import: %w", err)
	}
	return &importTx{s: s, tx: tx}, nil
}

func (it *importTx) ContactByPhone(ctx context.Context, kind crm.Kind, p crm.Phone) (int64, bool, error) {
	if p.DedupKey() == "" {
		return 0, false, nil
	}
	if p.E164 == "" {
		return it.queryID(ctx, `SELECT p.contact_id FROM phones p
			JOIN contacts c ON c.id = p.contact_id AND c.deleted_at IS NULL AND c.kind = $1
			WHERE p.tail = $2 AND p.national = $3 AND p.e164 IS NULL ORDER BY p.contact_id LIMIT 1`,
			string(kind), p.Tail(), p.National)
	}
	return it.queryID(ctx, `SELECT p.contact_id FROM phones p
		JOIN contacts c ON c.id = p.contact_id AND c.deleted_at IS NULL AND c.kind = $1
		WHERE p.e164 = $2 ORDER BY p.contact_id LIMIT 1`, string(kind), p.E164)
}

func (it *importTx) OrganizationByName(ctx context.Context, name string) (int64, bool, error) {
	return it.queryID(ctx, `SELECT id FROM contacts
		WHERE search_name = $1 AND name = $2 AND kind = 'organization' AND deleted_at IS NULL ORDER BY id LIMIT 1`,
		crm.SearchKey(name), name)
}

func (it *importTx) queryID(ctx context.Context, sql string, args ...any) (int64, bool, error) {
	if it.done {
		return 0, false, errors.New("import already finished")
	}
	var id int64
	err := it.tx.QueryRow(ctx, sql, args...).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return id, true, nil
}

func (it *importTx) CreateContact(ctx context.Context, c *crm.Contact) error {
	if it.done {
		return errors.New("import already finished")
	}
	if err := createContact(ctx, it.tx, c); err != nil {
		return err
	}
	it.created++
	return nil
}

func (it *importTx) Commit() error {
	if it.done {
		return errors.New("import already finished")
	}
	it.done = true
	ctx, cancel := context.WithTimeout(context.Background(), endTimeout)
	defer cancel()
	if err := it.tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit import: %w", err)
	}
	if it.created >= analyzeAfter {
		// The import is committed whatever happens here; a failed ANALYZE
		// (a role that does not own the tables, say) only leaves the
		// statistics to autovacuum, so its error is not the caller's.
		_, _ = it.s.pool.Exec(ctx, `ANALYZE contacts, phones, memberships`)
	}
	return nil
}

func (it *importTx) Rollback() error {
	if it.done {
		return nil
	}
	it.done = true
	ctx, cancel := context.WithTimeout(context.Background(), endTimeout)
	defer cancel()
	if err := it.tx.Rollback(ctx); err != nil {
		return fmt.Errorf("rollback import: %w", err)
	}
	return nil
}

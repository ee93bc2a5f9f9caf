// Package postgres is the CRM store on PostgreSQL, for installations that
// outgrow one SQLite file or run several Tamas servers against one CRM.
//
// It talks to the server through a pgx connection pool. A caller-ID lookup
// and each contact write, phones and memberships included, cost one round
// trip: a lookup is one statement, a write one statement (an update adds a
// row lock, sent in the same pipeline).
package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/internal/listsql"
)

//go:embed migrations/*.sql
var migrations embed.FS

// versionTable is goose's bookkeeping table. It is named for the CRM so that
// other parts of Tamas may keep their own migrations in the same database.
const versionTable = "crm_goose_db_version"

// defaultConnectTimeout bounds connecting when the URL sets no
// connect_timeout: an unreachable server must fail startup, not hang it.
const defaultConnectTimeout = 10 * time.Second

// Store implements crm.Store on PostgreSQL.
type Store struct {
	pool   *pgxpool.Pool
	target string // host:port/database, for messages; never the URL
}

var _ crm.Store = (*Store)(nil)

// Open connects to the database at url (postgres://… or key=value form) and
// checks that it answers. It does not migrate: call Migrate. Pool settings
// such as pool_max_conns may be given in the URL. Errors name the host and
// database but never the URL, which may hold a password.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgconn redacts the password from its parse errors.
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	target := cfg.ConnConfig.Host + ":" + strconv.Itoa(int(cfg.ConnConfig.Port)) + "/" + cfg.ConnConfig.Database
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres %s: %w", target, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres %s: %w", target, err)
	}
	return &Store{pool: pool, target: target}, nil
}

// Target names the server and database the store uses (host:port/database),
// safe to log.
func (s *Store) Target() string { return s.target }

// Migrate brings the schema up to date. Servers starting together take turns
// through an advisory lock.
func (s *Store) Migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub,
		goose.WithTableName(versionTable), goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	applied, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if len(applied) > 0 {
		// Statements cached on pooled connections may describe tables the
		// migration just changed.
		s.pool.Reset()
	}
	return nil
}

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres %s: %w", s.target, err)
	}
	return nil
}

// dialect is how this store writes the listings' WHERE clauses.
var dialect = listsql.Dialect{
	Param: func(n int) string { return "$" + strconv.Itoa(n) },
	Time:  func(t time.Time) any { return t.UTC() },
}

// now is the current time at the precision the store keeps: microseconds.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Close closes every connection of the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

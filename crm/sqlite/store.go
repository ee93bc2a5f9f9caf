// Package sqlite is the embedded CRM store: a single SQLite file in WAL mode,
// pure Go (modernc.org/sqlite), the default when no PostgreSQL is configured.
//
// SQLite allows one writer at a time, so the store keeps two pools: one
// connection for writes, serialised here rather than by SQLITE_BUSY retries,
// and several for reads, which WAL lets run beside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/internal/listsql"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store implements crm.Store on SQLite.
type Store struct {
	w *sql.DB // one connection: all writes
	r *sql.DB // reads
	// ckpt copies the write-ahead log into the database in the background,
	// so that the copy and its fsync seldom fall on a call's write.
	ckpt     *sql.DB
	stopCkpt context.CancelFunc
	ckptDone chan struct{}

	mu  sync.Mutex
	q   *readStmts
	wst *wrapUpStatements
}

var _ crm.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path. It does not
// migrate: call Migrate.
//
// The file holds password hashes and every customer: it is created, or
// narrowed, to 0600 (owner only), and so are its -wal and -shm files, which
// SQLite creates with the database file's mode. The folder is the caller's.
func Open(ctx context.Context, path string) (*Store, error) {
	if err := ownerOnly(path); err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(NORMAL)&_pragma=temp_store(MEMORY)&_txlock=immediate"
	// The writer gets a large page cache: bulk imports touch index pages at
	// random, and with the default 2 MB cache they spill to disk mid-transaction.
	// The writer checkpoints only when the log has grown past 16 MB: the
	// background checkpointer below normally keeps it far smaller.
	w, err := sql.Open("sqlite", dsn+"&_pragma=cache_size(-131072)&_pragma=wal_autocheckpoint(4096)")
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// Readers get a large page cache too: a caller-ID lookup touches index
	// and row pages at random, and pages kept in the process stay fast when
	// the operating system drops the file from its cache. SQLite fills the
	// cache only as pages are read, so a small CRM costs little.
	r, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)&_pragma=cache_size(-262144)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0)*2)
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxIdleTime(0)
	ckpt, err := sql.Open("sqlite", dsn)
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	ckpt.SetMaxOpenConns(1)
	s := &Store{w: w, r: r, ckpt: ckpt, ckptDone: make(chan struct{})}
	bg, cancel := context.WithCancel(context.Background())
	s.stopCkpt = cancel
	go s.checkpoints(bg)
	return s, nil
}

// FileMode is the mode of the database file and of its -wal and -shm files.
const FileMode fs.FileMode = 0o600

// ownerOnly creates the database file with FileMode, or narrows an existing
// one (and its -wal and -shm files, left by an earlier run) to it.
func ownerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, FileMode)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&^FileMode != 0 {
			if err := os.Chmod(p, FileMode); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkpoints runs a passive checkpoint every few hundred milliseconds: it
// never blocks the writer or readers, and leaves only a small log for the
// writer's own automatic checkpoint.
func (s *Store) checkpoints(ctx context.Context) {
	defer close(s.ckptDone)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// An error (busy, closed) is retried at the next tick; the
			// writer's own checkpoint is the fallback.
			_, _ = s.ckpt.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
		}
	}
}

// Migrate brings the schema up to date.
func (s *Store) Migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, s.w, sub)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Ping checks both pools answer.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return err
	}
	return s.r.PingContext(ctx)
}

// Close closes the database.
func (s *Store) Close() error {
	if s.q != nil {
		s.q.close()
	}
	if s.wst != nil {
		s.wst.save.Close()
		s.wst.read.Close()
	}
	s.stopCkpt()
	<-s.ckptDone
	return errors.Join(s.ckpt.Close(), s.r.Close(), s.w.Close())
}

// dialect is how this store writes the listings' WHERE clauses.
var dialect = listsql.Dialect{
	Param: func(int) string { return "?" },
	Time:  func(t time.Time) any { return ms(t) },
}

// now is the current time at the precision the store keeps: milliseconds.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.UnixMilli(v.Int64).UTC()
	return &t
}

func nullMS(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

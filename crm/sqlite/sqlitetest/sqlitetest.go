// Package sqlitetest gives tests a migrated SQLite store that is closed
// when the test ends. Tests inside crm/sqlite itself cannot import it (it
// imports crm/sqlite); they open their store by hand.
package sqlitetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tamas-cc/tamas/crm/sqlite"
)

// New returns a migrated store in a new file under tb.TempDir().
func New(tb testing.TB) *sqlite.Store {
	tb.Helper()
	return Open(tb, filepath.Join(tb.TempDir(), "crm.db"))
}

// Open opens the database file at path, creating and migrating it as
// needed, for tests that reopen a file or keep it beyond one test. Closing
// the store before the test ends (a database that goes down) is allowed.
func Open(tb testing.TB, path string) *sqlite.Store {
	tb.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		tb.Fatalf("migrate %s: %v", path, err)
	}
	return s
}

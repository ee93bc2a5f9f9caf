package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/crmtest"
	"github.com/tamas-cc/tamas/crm/phone"
	"github.com/tamas-cc/tamas/crm/sqlite"
	"github.com/tamas-cc/tamas/crm/sqlite/sqlitetest"
)

func TestConformance(t *testing.T) {
	crmtest.Run(t, func(t *testing.T) crm.Store { return sqlitetest.New(t) })
}

func TestMigrateIsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tamas.db")
	sqlitetest.Open(t, path).Close()
	sqlitetest.Open(t, path) // migrates again: nothing to do
}

func TestOpenBadPath(t *testing.T) {
	_, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "missing-dir", "x", "tamas.db"))
	if err == nil {
		t.Fatal("opening a file in a missing directory succeeded")
	}
}

func TestReadsFailBeforeMigrate(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tamas.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.MatchPhone(ctx, crm.PhoneKey{E164: "+989121234567"}, 5); err == nil {
		t.Fatal("lookup on an empty, unmigrated database succeeded")
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if m, err := s.MatchPhone(ctx, crm.PhoneKey{E164: "+989121234567"}, 5); err != nil || len(m) != 0 {
		t.Fatalf("after migrate: %v %v", m, err)
	}
}

// The database holds password hashes and every customer: it and its -wal
// and -shm files are the owner's alone, under the common umask 022 that
// would leave SQLite's own default (0644) readable by everyone.
func TestFilesAreOwnerOnly(t *testing.T) {
	defer syscall.Umask(syscall.Umask(0o022))
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tamas.db")
	s := sqlitetest.Open(t, path)
	norm, err := phone.New("IR")
	if err != nil {
		t.Fatal(err)
	}
	if err := crm.NewDirectory(s, norm).Create(ctx, &crm.Contact{FirstName: "Sara",
		Phones: []crm.Phone{{Raw: "09121234567"}}}); err != nil {
		t.Fatal(err)
	}
	checkModes := func(files ...string) {
		t.Helper()
		for _, p := range files {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if m := fi.Mode().Perm(); m != 0o600 {
				t.Errorf("%s: mode %v, want 0600", filepath.Base(p), m)
			}
		}
	}
	checkModes(path, path+"-wal", path+"-shm")
	s.Close()

	// Files an earlier version left readable are narrowed on open.
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.WriteFile(p, nil, 0o644); err != nil && !os.IsExist(err) {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s2, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	checkModes(path, path+"-wal", path+"-shm")
}

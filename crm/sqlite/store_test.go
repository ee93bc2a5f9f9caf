package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/crmtest"
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

package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/crmtest"
	"github.com/tamas-cc/tamas/crm/sqlite"
)

func newStore(t *testing.T) crm.Store {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tamas.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) { crmtest.Run(t, newStore) }

func TestMigrateIsIdempotent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tamas.db")
	for range 2 {
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("migrate: %v", err)
		}
		s.Close()
	}
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

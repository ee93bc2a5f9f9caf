package sqlitetest_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/sqlite/sqlitetest"
)

func TestNewIsMigratedAndEmpty(t *testing.T) {
	s := sqlitetest.New(t)
	page, err := s.ListContacts(context.Background(), crm.ContactQuery{})
	if err != nil || len(page) != 0 {
		t.Fatalf("a new store lists %v (%v)", page, err)
	}
}

func TestOpenKeepsTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kept.db")
	c := &crm.Contact{Kind: crm.KindPerson, FirstName: "Sara", Status: crm.StatusLead}
	first := sqlitetest.Open(t, path)
	if err := first.CreateContact(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	first.Close() // closed early: the cleanup closes it again, harmlessly
	again := sqlitetest.Open(t, path)
	if got, err := again.GetContact(context.Background(), c.ID); err != nil || got.FirstName != "Sara" {
		t.Fatalf("reopened: %+v (%v)", got, err)
	}
}

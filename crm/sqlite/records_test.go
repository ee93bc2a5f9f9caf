package sqlite_test

import (
	"testing"

	"github.com/tamas-cc/tamas/account"
	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/crmtest"
	"github.com/tamas-cc/tamas/crm/sqlite/sqlitetest"
)

func TestActivityConformance(t *testing.T) {
	crmtest.RunActivitySuite(t, func(t *testing.T) (crm.Store, crm.ActivityStore) {
		s := sqlitetest.New(t)
		return s, s
	})
}

func TestAccountConformance(t *testing.T) {
	crmtest.RunAccountSuite(t, func(t *testing.T) account.Store {
		return sqlitetest.New(t)
	})
}

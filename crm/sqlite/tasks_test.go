package sqlite_test

import (
	"testing"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/crmtest"
	"github.com/tamas-cc/tamas/crm/sqlite/sqlitetest"
)

func TestTaskListConformance(t *testing.T) {
	crmtest.RunTaskListSuite(t, func(t *testing.T) (crm.Store, crm.ActivityStore) {
		s := sqlitetest.New(t)
		return s, s
	})
}

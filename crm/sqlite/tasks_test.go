package sqlite_test

import (
	"testing"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/crmtest"
	"github.com/tamas-cc/tamas/crm/sqlite"
)

func TestTaskListConformance(t *testing.T) {
	crmtest.RunTaskListSuite(t, func(t *testing.T) (crm.Store, crm.ActivityStore) {
		s := newStore(t).(*sqlite.Store)
		return s, s
	})
}

package postgres

import (
	"testing"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/crmtest"
)

func TestTaskListConformance(t *testing.T) {
	crmtest.RunTaskListSuite(t, func(t *testing.T) (crm.Store, crm.ActivityStore) {
		s := newStore(t)
		return s, s
	})
}

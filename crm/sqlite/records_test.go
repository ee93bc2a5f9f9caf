package sqlite_test

import (
	"testing"

	"github.com/tamas-cc/tamas/crm/crmtest"
)

func TestRecordsConformance(t *testing.T) {
	crmtest.RunRecords(t, func(t *testing.T) crmtest.RecordStore { return newStore(t).(crmtest.RecordStore) })
}

package membus_test

import (
	"testing"

	"github.com/tamas-cc/tamas/screenpop"
	"github.com/tamas-cc/tamas/screenpop/bustest"
	"github.com/tamas-cc/tamas/screenpop/membus"
)

func TestConformance(t *testing.T) {
	bustest.Run(t, func(t *testing.T, ret screenpop.Retention) screenpop.Bus { return membus.New(ret) })
}

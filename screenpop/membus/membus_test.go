package membus_test

import (
	"context"
	"testing"

	"go.uber.org/goleak"

	"github.com/tamas-cc/tamas/screenpop"
	"github.com/tamas-cc/tamas/screenpop/bustest"
	"github.com/tamas-cc/tamas/screenpop/membus"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConformance(t *testing.T) {
	bustest.Run(t, func(t *testing.T, ret screenpop.Retention) screenpop.Bus { return membus.New(ret) })
}

func TestSubscribeWithoutCallback(t *testing.T) {
	b := membus.New(screenpop.Retention{})
	defer b.Close()
	if cancel, err := b.Subscribe(context.Background(), "user:1", nil); err == nil {
		cancel()
		t.Fatal("a nil callback was accepted")
	}
}

func BenchmarkPublish(b *testing.B) {
	bus := membus.New(screenpop.DefaultRetention)
	defer bus.Close()
	ctx := context.Background()
	data := []byte(`{"type":"pop","call":"1700000000.42","caller":"+4915123456789","contact":{"id":17,"name":"Ada Example"}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bus.Publish(ctx, "user:42", data); err != nil {
			b.Fatal(err)
		}
	}
}

package redisbus_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/tamas-cc/tamas/internal/testkit"
	"github.com/tamas-cc/tamas/screenpop"
	"github.com/tamas-cc/tamas/screenpop/bustest"
	"github.com/tamas-cc/tamas/screenpop/redisbus"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).reaper"))
}

func client(t *testing.T, name string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: testkit.RedisAddr(t), ClientName: name})
	t.Cleanup(func() { c.Close() })
	return c
}

func newBus(t *testing.T, c *redis.Client, ret screenpop.Retention) *redisbus.Bus {
	t.Helper()
	b, err := redisbus.New(context.Background(), c, redisbus.Options{Prefix: "tamas-test:bus:", Retention: ret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestConformance(t *testing.T) {
	bustest.Run(t, func(t *testing.T, ret screenpop.Retention) screenpop.Bus {
		return newBus(t, client(t, "conformance"), ret)
	})
}

type inbox struct{ ch chan screenpop.Message }

func (i inbox) next(t *testing.T) screenpop.Message {
	t.Helper()
	select {
	case m := <-i.ch:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message")
		return screenpop.Message{}
	}
}

// Two nodes, one Redis: a message published by node A reaches node B's
// subscriber; when B's pub/sub connection is killed while A publishes, B is
// told to catch up and its history holds exactly what it missed.
func TestTwoNodesAndALostConnection(t *testing.T) {
	ctx := context.Background()
	a := newBus(t, client(t, "node-a"), screenpop.Retention{})
	bc := client(t, "node-b")
	b := newBus(t, bc, screenpop.Retention{})
	ch := bustest.Channel("user")
	in := inbox{make(chan screenpop.Message, 100)}
	cancel, err := b.Subscribe(ctx, ch, func(m screenpop.Message) { in.ch <- m })
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	m1, err := a.Publish(ctx, ch, []byte(`{"n":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := in.next(t); got.Seq != 1 || got.Epoch != m1.Epoch || string(got.Data) != `{"n":1}` {
		t.Fatalf("node B got %+v", got)
	}

	admin := client(t, "admin")
	if n, err := admin.ClientKillByFilter(ctx, "TYPE", "pubsub").Result(); err != nil || n == 0 {
		t.Fatalf("killing pub/sub connections: %d %v", n, err)
	}
	for i := 2; i <= 4; i++ {
		if _, err := a.Publish(ctx, ch, fmt.Appendf(nil, `{"n":%d}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	// Whatever arrived live, B is told to catch up once resubscribed;
	// history fills what the live path lost, and together they hold every
	// message once the subscriber drops what it already has.
	seen := map[uint64]bool{1: true}
	last := uint64(1)
	for {
		m := in.next(t)
		if m.Seq == 0 && m.Data == nil {
			break
		}
		if m.Seq <= last {
			t.Fatalf("live delivery out of order: %d after %d", m.Seq, last)
		}
		last, seen[m.Seq] = m.Seq, true
	}
	missed, _, err := b.History(ctx, ch, m1.Epoch, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range missed {
		seen[m.Seq] = true
	}
	for s := uint64(1); s <= 4; s++ {
		if !seen[s] {
			t.Fatalf("message %d neither live nor in history", s)
		}
	}
	if len(missed) != 3 || missed[0].Seq != 2 || string(missed[2].Data) != `{"n":4}` {
		t.Fatalf("history after 1 = %+v", missed)
	}
	if _, err := a.Publish(ctx, ch, []byte(`{"n":5}`)); err != nil {
		t.Fatal(err)
	}
	for {
		m := in.next(t)
		if m.Seq == 5 {
			break
		}
		if m.Seq != 0 && (m.Seq < 2 || m.Seq > 4) {
			t.Fatalf("unexpected live message %+v", m)
		}
	}
}

func TestGarbageAndDeadRedis(t *testing.T) {
	ctx := context.Background()
	c := client(t, "garbage")
	b := newBus(t, c, screenpop.Retention{})
	ch := bustest.Channel("user")
	in := inbox{make(chan screenpop.Message, 10)}
	cancel, err := b.Subscribe(ctx, ch, func(m screenpop.Message) { in.ch <- m })
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	// Someone else publishes junk on the channel: skipped, not a crash.
	admin := client(t, "admin")
	for _, junk := range []string{"", "x", "e 0 1 {}", "e notanumber 1 {}", "<script>"} {
		admin.Publish(ctx, "tamas-test:bus:{"+ch+"}", junk)
	}
	if _, err := b.Publish(ctx, ch, []byte(`{"ok":true}`)); err != nil {
		t.Fatal(err)
	}
	if m := in.next(t); m.Seq != 1 || string(m.Data) != `{"ok":true}` {
		t.Fatalf("after junk got %+v", m)
	}
	dead := redis.NewClient(&redis.Options{Addr: testkit.RedisAddr(t)})
	d, err := redisbus.New(ctx, dead, redisbus.Options{Prefix: "tamas-test:bus:"})
	if err != nil {
		t.Fatal(err)
	}
	dead.Close()
	if _, err := d.Publish(ctx, ch, []byte(`{}`)); err == nil {
		t.Fatal("publishing on a closed client succeeded")
	}
	if _, _, err := d.History(ctx, ch, "", 0, 1); err == nil {
		t.Fatal("history on a closed client succeeded")
	}
	d.Close()
}

package push_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tamas-cc/tamas/internal/testkit"
	"github.com/tamas-cc/tamas/screenpop"
	"github.com/tamas-cc/tamas/screenpop/membus"
	"github.com/tamas-cc/tamas/screenpop/redisbus"
	"github.com/tamas-cc/tamas/web/push"
)

// buses are the bus implementations the catch-up tests run against.
var buses = []struct {
	name string
	new  func(t *testing.T, ret screenpop.Retention) screenpop.Bus
}{
	{"membus", func(_ *testing.T, ret screenpop.Retention) screenpop.Bus { return membus.New(ret) }},
	{"redisbus", newRedisBus},
}

// newRedisBus returns a bus on the test Redis in a key space of its own,
// removed afterwards. The rig closes the bus; the client closes after it.
func newRedisBus(t *testing.T, ret screenpop.Retention) screenpop.Bus {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: testkit.RedisAddr(t)})
	t.Cleanup(func() { c.Close() })
	prefix := testkit.RedisPrefix(t, "tamas-test:push:%s:")
	b, err := redisbus.New(context.Background(), c, redisbus.Options{Prefix: prefix, Retention: ret})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// span is the seqs a console must receive on one channel, first to last.
type span struct{ first, last uint64 }

// catchUp reads message frames until it has had exactly want: on every
// channel each seq once, in order, nothing from any other channel.
func (c *console) catchUp(want map[string]span) int {
	c.t.Helper()
	next := map[string]uint64{}
	left := 0
	for ch, s := range want {
		next[ch] = s.first
		left += int(s.last - s.first + 1)
	}
	n := left
	for left > 0 {
		f := c.next()
		s, ok := want[f.Channel]
		if f.Type != "message" || !ok || f.Seq != next[f.Channel] || f.Seq > s.last {
			c.t.Fatalf("got %s %s #%d, want %s #%d (%d messages still to come)", f.Type, f.Channel, f.Seq, f.Channel, next[f.Channel], left)
		}
		if string(f.Data) != payload(f.Seq) {
			c.t.Fatalf("%s #%d data = %s, want %s", f.Channel, f.Seq, f.Data, payload(f.Seq))
		}
		next[f.Channel]++
		left--
	}
	return n
}

// TestCatchUpIsNotSlowness: after a busy spell a console (re)connects and
// is owed far more messages than SendQueue frames. It must get them all,
// at once, and stay connected; supervisors, who get every pop, first.
func TestCatchUpIsNotSlowness(t *testing.T) {
	configs := []struct {
		name string
		ret  screenpop.Retention
		o    push.Options
		// first is the oldest seq a fresh console gets of 200.
		first uint64
	}{
		// Everything the retention holds (150 of 200).
		{"retention", screenpop.Retention{Messages: 150}, push.Options{FreshLimit: 500}, 51},
		// The defaults: the newest FreshLimit (100) of 500 retained.
		{"defaults", screenpop.Retention{}, push.Options{}, 101},
	}
	const sup = screenpop.SupervisorChannel
	for _, bk := range buses {
		for _, cf := range configs {
			t.Run(bk.name+"/"+cf.name, func(t *testing.T) {
				r := newRig(t, bk.new(t, cf.ret), cf.o)
				supLast := r.publish(sup, 1, 200)
				r.publish("user:ali", 1, 200)
				bossLast := r.publish("user:boss", 1, 30)

				start := time.Now()
				boss := r.dialAs("boss", "supervisor", fresh())
				n := boss.catchUp(map[string]span{sup: {cf.first, 200}, "user:boss": {1, 30}})
				took := time.Since(start)
				t.Logf("fresh supervisor console: %d messages in %v", n, took)
				if took > time.Second {
					t.Errorf("fresh supervisor console caught up in %v, want under 1 s", took)
				}

				start = time.Now()
				ali := r.dial("ali", fresh())
				n = ali.catchUp(map[string]span{"user:ali": {cf.first, 200}})
				took = time.Since(start)
				t.Logf("fresh agent console: %d messages in %v", n, took)
				if took > time.Second {
					t.Errorf("fresh agent console caught up in %v, want under 1 s", took)
				}

				// Both are live and nothing was doubled: the next frame
				// is the next message.
				r.publish(sup, 201, 201)
				r.publish("user:ali", 201, 201)
				boss.expectSeqs(sup, 201)
				ali.expectSeqs("user:ali", 201)

				// The supervisor goes away through another busy spell and
				// resumes: exactly what it missed, no reset.
				boss.ws.Close()
				waitConsoles(t, r.hub, 1)
				r.publish(sup, 202, 340)
				start = time.Now()
				boss = r.dialAs("boss", "supervisor", map[string]any{"type": "hello", "resume": []map[string]any{
					{"channel": sup, "epoch": supLast.Epoch, "seq": 201},
					{"channel": "user:boss", "epoch": bossLast.Epoch, "seq": 30},
				}})
				n = boss.catchUp(map[string]span{sup: {202, 340}})
				took = time.Since(start)
				t.Logf("resuming supervisor console: %d messages in %v", n, took)
				if took > time.Second {
					t.Errorf("resuming supervisor console caught up in %v, want under 1 s", took)
				}
				r.publish(sup, 341, 341)
				boss.expectSeqs(sup, 341)
				if got := r.hub.Connections(); got != 2 {
					t.Fatalf("%d consoles connected, want 2", got)
				}
			})
		}
	}
}

// TestStuckConsoleIsCutOffWhileCatchingUp: a console that reads nothing
// is not kept alive by a long catch-up ahead of it; live frames piling up
// behind the catch-up still cut it off, before any write times out.
func TestStuckConsoleIsCutOffWhileCatchingUp(t *testing.T) {
	var logs testkit.SyncBuffer
	r := newRig(t, membus.New(screenpop.Retention{Messages: 5000}), push.Options{SendQueue: 8, FreshLimit: 500,
		WriteTimeout: 3 * time.Second, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	big := strings.Repeat("x", 32<<10)
	for i := 1; i <= 500; i++ {
		if _, err := r.bus.Publish(context.Background(), "user:ali", fmt.Appendf(nil, `{"n":%d,"pad":%q}`, i, big)); err != nil {
			t.Fatal(err)
		}
	}
	// 16 MB of catch-up fill the socket; the console never reads.
	stuck := r.dial("ali", nil)
	if err := stuck.ws.WriteJSON(fresh()); err != nil {
		t.Fatal(err)
	}
	waitConsoles(t, r.hub, 1)
	start := time.Now()
	for i := 501; !strings.Contains(logs.String(), `reason="too slow"`); i++ {
		if time.Since(start) > 2*time.Second {
			t.Fatalf("a console that reads nothing was not cut off; log:\n%s", logs.String())
		}
		if _, err := r.bus.Publish(context.Background(), "user:ali", []byte(payload(uint64(i)))); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The socket is released once the blocked write gives up.
	deadline := time.Now().Add(10 * time.Second)
	for r.hub.Connections() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the cut-off console is still connected")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

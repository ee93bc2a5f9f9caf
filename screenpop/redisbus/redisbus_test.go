package redisbus_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
	goleak.VerifyTestMain(m)
}

func randomHex() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// prefix gives a test its own key space on the shared Redis and removes
// the keys afterwards.
func prefix(t testing.TB) string {
	t.Helper()
	return testkit.RedisPrefix(t, "tamas-test:bus:%s:")
}

func client(t testing.TB, o *redis.Options) *redis.Client {
	t.Helper()
	if o == nil {
		o = &redis.Options{}
	}
	o.Addr = testkit.RedisAddr(t)
	c := redis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

func newBus(t testing.TB, c redis.UniversalClient, o redisbus.Options) *redisbus.Bus {
	t.Helper()
	b, err := redisbus.New(context.Background(), c, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// pubsubName is the pub/sub channel the bus uses for a bus channel.
func pubsubName(prefix, channel string) string { return prefix + "{" + channel + "}" }

func TestConformance(t *testing.T) {
	p := prefix(t)
	bustest.Run(t, func(t *testing.T, ret screenpop.Retention) screenpop.Bus {
		return newBus(t, client(t, nil), redisbus.Options{Prefix: p, Retention: ret})
	})
}

type inbox chan screenpop.Message

func (in inbox) next(t *testing.T) screenpop.Message {
	t.Helper()
	select {
	case m := <-in:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message")
		return screenpop.Message{}
	}
}

func (in inbox) none(t *testing.T) {
	t.Helper()
	select {
	case m := <-in:
		t.Fatalf("unexpected message %+v", m)
	case <-time.After(100 * time.Millisecond):
	}
}

func numsub(t *testing.T, c *redis.Client, name string) int64 {
	t.Helper()
	n, err := c.PubSubNumSub(context.Background(), name).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n[name]
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Two nodes, one Redis: what node A publishes reaches node B's subscribers
// with A's numbering, and B's local subscribers share one Redis
// subscription.
func TestTwoNodes(t *testing.T) {
	ctx := context.Background()
	p := prefix(t)
	admin := client(t, nil)
	a := newBus(t, client(t, nil), redisbus.Options{Prefix: p})
	b := newBus(t, client(t, nil), redisbus.Options{Prefix: p})
	ch := bustest.Channel("user")
	name := pubsubName(p, ch)

	ins := []inbox{make(inbox, 10), make(inbox, 10), make(inbox, 10)}
	var cancels []func()
	for _, in := range ins {
		cancel, err := b.Subscribe(ctx, ch, func(m screenpop.Message) { in <- m })
		if err != nil {
			t.Fatal(err)
		}
		cancels = append(cancels, cancel)
	}
	if n := numsub(t, admin, name); n != 1 {
		t.Fatalf("three local subscriptions hold %d Redis subscriptions, want 1", n)
	}
	for i := 1; i <= 2; i++ {
		sent, err := a.Publish(ctx, ch, fmt.Appendf(nil, `{"n":%d}`, i))
		if err != nil {
			t.Fatal(err)
		}
		for j, in := range ins {
			got := in.next(t)
			if got.Seq != sent.Seq || got.Epoch != sent.Epoch || got.Channel != ch || string(got.Data) != string(sent.Data) || !got.Time.Equal(sent.Time) {
				t.Fatalf("B's subscriber %d got %+v for %+v", j, got, sent)
			}
		}
	}
	for _, in := range ins {
		in.none(t)
	}
	hist, pos, err := b.History(ctx, ch, "", 0, 0)
	if err != nil || len(hist) != 2 || hist[1].Seq != 2 || pos.Seq != 2 {
		t.Fatalf("B's history = %+v %+v %v", hist, pos, err)
	}
	if pa, err := a.Position(ctx, ch); err != nil || pa != pos {
		t.Fatalf("A's position %+v %v, B's %+v", pa, err, pos)
	}

	cancels[0]()
	cancels[1]()
	if n := numsub(t, admin, name); n != 1 {
		t.Fatalf("with one local subscription left, %d Redis subscriptions", n)
	}
	cancels[2]()
	eventually(t, "B unsubscribes", func() bool { return numsub(t, admin, name) == 0 })
}

// Leaving and joining a channel in quick succession must leave the node
// subscribed: SUBSCRIBE and UNSUBSCRIBE reach Redis in the right order.
func TestSubscribeChurn(t *testing.T) {
	ctx := context.Background()
	p := prefix(t)
	b := newBus(t, client(t, nil), redisbus.Options{Prefix: p})
	ch := bustest.Channel("user")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				cancel, err := b.Subscribe(ctx, ch, func(screenpop.Message) {})
				if err != nil {
					t.Error(err)
					return
				}
				cancel()
			}
		})
	}
	wg.Wait()
	in := make(inbox, 10)
	cancel, err := b.Subscribe(ctx, ch, func(m screenpop.Message) { in <- m })
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	if _, err := b.Publish(ctx, ch, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	for {
		if m := in.next(t); m.Seq == 1 {
			break
		} else if m.Seq != 0 {
			t.Fatalf("got %+v", m)
		}
	}
	if n := numsub(t, client(t, nil), pubsubName(p, ch)); n != 1 {
		t.Fatalf("after the churn the node holds %d Redis subscriptions, want 1", n)
	}
}

// gate makes a client's new connections fail while the node is offline.
type gate struct{ offline atomic.Bool }

func (g *gate) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if g.offline.Load() {
		return nil, errors.New("offline")
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// killPubSub closes the pub/sub connection of the client named name.
func killPubSub(t *testing.T, admin *redis.Client, name string) {
	t.Helper()
	ctx := context.Background()
	list, err := admin.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for line := range strings.Lines(list) {
		f := strings.Fields(line)
		if !slices.Contains(f, "name="+name) || !slices.ContainsFunc(f, func(s string) bool {
			return strings.HasPrefix(s, "sub=") && s != "sub=0"
		}) {
			continue
		}
		for _, kv := range f {
			if id, ok := strings.CutPrefix(kv, "id="); ok {
				if err := admin.Do(ctx, "CLIENT", "KILL", "ID", id).Err(); err != nil {
					t.Fatal(err)
				}
				killed++
			}
		}
	}
	if killed != 1 {
		t.Fatalf("killed %d pub/sub connections named %s, want 1", killed, name)
	}
}

// Node B loses its pub/sub connection while A publishes and cannot
// reconnect for a while. Once back, B's subscriber is told to catch up, and
// live delivery plus History give it every message once, in order — the
// way the console hub consumes the bus.
func TestLostConnection(t *testing.T) {
	const total = 60
	ctx := context.Background()
	p := prefix(t)
	admin := client(t, nil)
	a := newBus(t, client(t, nil), redisbus.Options{Prefix: p})
	var g gate
	nameB := "tamas-test-node-b-" + randomHex()
	b := newBus(t, client(t, &redis.Options{ClientName: nameB, Dialer: g.dial}), redisbus.Options{Prefix: p})
	ch := bustest.Channel("user")
	in := make(inbox, 2*total)
	cancel, err := b.Subscribe(ctx, ch, func(m screenpop.Message) { in <- m })
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()

	published := make(chan error, 1)
	go func() {
		for i := 1; i <= total; i++ {
			if _, err := a.Publish(ctx, ch, fmt.Appendf(nil, `{"n":%d}`, i)); err != nil {
				published <- err
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
		published <- nil
	}()

	var (
		epoch     string
		have      uint64
		accepted  []uint64
		hints     int
		recovered int
		killed    bool
	)
	catchUp := func() {
		t.Helper()
		msgs, _, err := b.History(ctx, ch, epoch, have, 0)
		if err != nil {
			t.Fatalf("history after %d: %v", have, err)
		}
		for _, m := range msgs {
			if m.Seq != have+1 || string(m.Data) != fmt.Sprintf(`{"n":%d}`, m.Seq) {
				t.Fatalf("history after %d holds %d with %s", have, m.Seq, m.Data)
			}
			have = m.Seq
			accepted = append(accepted, m.Seq)
			recovered++
		}
	}
	for have < total {
		m := in.next(t)
		switch {
		case m.Seq == 0 && m.Data == nil:
			hints++
			catchUp()
		case epoch == "" && m.Seq == 1:
			epoch, have = m.Epoch, 1
			accepted = append(accepted, 1)
		case m.Epoch != epoch:
			t.Fatalf("epoch changed to %q", m.Epoch)
		case m.Seq <= have:
			// Already read from history.
		case m.Seq == have+1:
			have = m.Seq
			accepted = append(accepted, m.Seq)
		default:
			catchUp() // a gap: the missing ones are in history
		}
		if !killed && have >= 10 {
			killed = true
			g.offline.Store(true)
			killPubSub(t, admin, nameB)
			time.Sleep(100 * time.Millisecond)
			g.offline.Store(false)
		}
	}
	if err := <-published; err != nil {
		t.Fatal(err)
	}
	want := make([]uint64, total)
	for i := range want {
		want[i] = uint64(i + 1)
	}
	if !slices.Equal(accepted, want) {
		t.Fatalf("accepted %v", accepted)
	}
	if hints == 0 {
		t.Fatal("no resync hint after the pub/sub connection came back")
	}
	if recovered == 0 {
		t.Fatal("nothing was read from history although B was offline while A published")
	}
	t.Logf("%d hints, %d messages recovered from history", hints, recovered)
}

func TestClosedClient(t *testing.T) {
	ctx := context.Background()
	p := prefix(t)
	c := redis.NewClient(&redis.Options{Addr: testkit.RedisAddr(t)})
	b, err := redisbus.New(ctx, c, redisbus.Options{Prefix: p})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c.Close()
	ch := bustest.Channel("user")
	if _, err := b.Publish(ctx, ch, []byte(`{}`)); !errors.Is(err, redis.ErrClosed) || !strings.Contains(err.Error(), ch) {
		t.Fatalf("publish on a closed client: %v", err)
	}
	if _, _, err := b.History(ctx, ch, "", 0, 1); !errors.Is(err, redis.ErrClosed) {
		t.Fatalf("history on a closed client: %v", err)
	}
	if _, err := b.Position(ctx, ch); !errors.Is(err, redis.ErrClosed) {
		t.Fatalf("position on a closed client: %v", err)
	}
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := b.Subscribe(sctx, ch, func(screenpop.Message) {}); err == nil {
		t.Fatal("subscribe on a closed client succeeded")
	}

	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer dead.Close()
	if _, err := redisbus.New(ctx, dead, redisbus.Options{}); err == nil {
		t.Fatal("New succeeded without a Redis")
	}
}

// Junk on a bus's pub/sub channel (another program, a bug) is logged and
// skipped; the subscription goes on.
func TestMalformedPubSubMessage(t *testing.T) {
	ctx := context.Background()
	p := prefix(t)
	var logs testkit.SyncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	b := newBus(t, client(t, nil), redisbus.Options{Prefix: p, Logger: log})
	ch := bustest.Channel("user")
	in := make(inbox, 10)
	cancel, err := b.Subscribe(ctx, ch, func(m screenpop.Message) { in <- m })
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	admin := client(t, nil)
	junk := []string{"", "x", "e 0 1 {}", "e notanumber 1 {}", "e 1 x {}", " 1 1 {}", "\xff\xfe"}
	for _, j := range junk {
		if err := admin.Publish(ctx, pubsubName(p, ch), j).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Publish(ctx, ch, []byte(`{"ok":true}`)); err != nil {
		t.Fatal(err)
	}
	if m := in.next(t); m.Seq != 1 || string(m.Data) != `{"ok":true}` {
		t.Fatalf("after junk got %+v", m)
	}
	in.none(t)
	if n := strings.Count(logs.String(), "malformed pub/sub message"); n != len(junk) {
		t.Fatalf("%d of %d junk messages logged:\n%s", n, len(junk), logs.String())
	}
}

// A stream entry someone else wrote breaks the chain: catching up through
// it is refused, reading the newest skips it.
func TestMalformedStreamEntry(t *testing.T) {
	ctx := context.Background()
	p := prefix(t)
	var logs testkit.SyncBuffer
	b := newBus(t, client(t, nil), redisbus.Options{Prefix: p, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ch := bustest.Channel("user")
	m1, err := b.Publish(ctx, ch, []byte(`{"n":1}`))
	if err != nil {
		t.Fatal(err)
	}
	admin := client(t, nil)
	base := pubsubName(p, ch)
	if err := admin.XAdd(ctx, &redis.XAddArgs{Stream: base + ":s", ID: "2-0", Values: []string{"junk", "1"}}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := admin.Set(ctx, base+":n", 2, redis.KeepTTL).Err(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.History(ctx, ch, m1.Epoch, 1, 0); !errors.Is(err, screenpop.ErrHistoryGone) {
		t.Fatalf("history through a malformed entry: %v", err)
	}
	got, pos, err := b.History(ctx, ch, "", 0, 10)
	if err != nil || len(got) != 1 || got[0].Seq != 1 || pos.Seq != 2 {
		t.Fatalf("newest with a malformed entry = %+v %+v %v", got, pos, err)
	}
	if !strings.Contains(logs.String(), "malformed stream entry") {
		t.Fatalf("the malformed entry was not logged:\n%s", logs.String())
	}
	if m, err := b.Publish(ctx, ch, []byte(`{"n":3}`)); err != nil || m.Seq != 3 {
		t.Fatalf("publish after the malformed entry = %+v %v", m, err)
	}
}

// When a channel's keys are gone (expired, flushed) it starts a new epoch:
// consoles of the old one are told to start afresh.
func TestLostKeysStartANewEpoch(t *testing.T) {
	ctx := context.Background()
	p := prefix(t)
	b := newBus(t, client(t, nil), redisbus.Options{Prefix: p})
	ch := bustest.Channel("user")
	var old screenpop.Message
	for range 3 {
		var err error
		if old, err = b.Publish(ctx, ch, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	base := pubsubName(p, ch)
	admin := client(t, nil)
	// Losing only the counter counts as losing the channel too.
	if err := admin.Del(ctx, base+":n").Err(); err != nil {
		t.Fatal(err)
	}
	m, err := b.Publish(ctx, ch, []byte(`{"new":true}`))
	if err != nil || m.Seq != 1 || m.Epoch == old.Epoch {
		t.Fatalf("after losing the counter: %+v %v", m, err)
	}
	if _, _, err := b.History(ctx, ch, old.Epoch, 3, 0); !errors.Is(err, screenpop.ErrHistoryGone) {
		t.Fatalf("history in the lost epoch: %v", err)
	}
	got, _, err := b.History(ctx, ch, m.Epoch, 0, 0)
	if err != nil || len(got) != 1 || string(got[0].Data) != `{"new":true}` {
		t.Fatalf("history in the new epoch = %+v %v", got, err)
	}
	if err := admin.Del(ctx, base+":s", base+":n", base+":e").Err(); err != nil {
		t.Fatal(err)
	}
	pos, err := b.Position(ctx, ch)
	if err != nil || pos.Seq != 0 || pos.Epoch == m.Epoch || pos.Epoch == "" {
		t.Fatalf("position after losing every key = %+v %v", pos, err)
	}
	ttl, err := admin.PTTL(ctx, base+":e").Result()
	if err != nil || ttl <= 0 {
		t.Fatalf("an epoch created by a reader must expire: ttl %v %v", ttl, err)
	}
}

var benchData = []byte(`{"type":"pop","call":"1700000000.42","caller":"+4915123456789","contact":{"id":17,"name":"Ada Example"}}`)

func BenchmarkPublish(b *testing.B) {
	ctx := context.Background()
	bus := newBus(b, client(b, nil), redisbus.Options{Prefix: prefix(b)})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bus.Publish(ctx, "user:42", benchData); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPublishParallel spreads publishers over channels, as calls
// ringing for different agents do.
func BenchmarkPublishParallel(b *testing.B) {
	ctx := context.Background()
	bus := newBus(b, client(b, &redis.Options{PoolSize: 32}), redisbus.Options{Prefix: prefix(b)})
	var n atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ch := fmt.Sprintf("user:%d", n.Add(1))
		for pb.Next() {
			if _, err := bus.Publish(ctx, ch, benchData); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

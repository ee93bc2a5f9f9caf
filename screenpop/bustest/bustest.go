// Package bustest is the conformance suite every screenpop.Bus passes, so
// the in-process and Redis buses behave alike.
package bustest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/screenpop"
)

// NewBus returns a fresh bus with the given retention; the suite closes it.
type NewBus func(t *testing.T, ret screenpop.Retention) screenpop.Bus

// Run runs the suite.
func Run(t *testing.T, newBus NewBus) {
	t.Run("Numbering", func(t *testing.T) { testNumbering(t, newBus) })
	t.Run("SubscribeInOrder", func(t *testing.T) { testSubscribe(t, newBus) })
	t.Run("History", func(t *testing.T) { testHistory(t, newBus) })
	t.Run("RetentionByCount", func(t *testing.T) { testRetentionCount(t, newBus) })
	t.Run("RetentionByAge", func(t *testing.T) { testRetentionAge(t, newBus) })
	t.Run("ConcurrentPublishers", func(t *testing.T) { testConcurrent(t, newBus) })
}

// Channel returns a channel name no other test uses, since a Redis server
// is shared between runs.
func Channel(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + ":" + hex.EncodeToString(b[:])
}

func open(t *testing.T, newBus NewBus, ret screenpop.Retention) screenpop.Bus {
	b := newBus(t, ret)
	t.Cleanup(func() { b.Close() })
	return b
}

func publish(t *testing.T, b screenpop.Bus, ch string, data string) screenpop.Message {
	t.Helper()
	m, err := b.Publish(context.Background(), ch, []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func testNumbering(t *testing.T, newBus NewBus) {
	b := open(t, newBus, screenpop.Retention{})
	a, c := Channel("user"), Channel("user")
	for i := uint64(1); i <= 3; i++ {
		if m := publish(t, b, a, fmt.Sprintf(`{"i":%d}`, i)); m.Seq != i || m.Channel != a || m.Epoch == "" {
			t.Fatalf("message %d = %+v", i, m)
		}
	}
	if m := publish(t, b, c, `{}`); m.Seq != 1 {
		t.Fatalf("another channel starts at %d", m.Seq)
	}
	pos, err := b.Position(context.Background(), a)
	if err != nil || pos.Seq != 3 || pos.Epoch == "" {
		t.Fatalf("position = %+v %v", pos, err)
	}
}

type collector struct {
	mu  sync.Mutex
	got []screenpop.Message
}

func (c *collector) add(m screenpop.Message) {
	c.mu.Lock()
	c.got = append(c.got, m)
	c.mu.Unlock()
}

func (c *collector) wait(t *testing.T, n int) []screenpop.Message {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		got := append([]screenpop.Message(nil), c.got...)
		c.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("received %d messages, want %d", len(got), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func testSubscribe(t *testing.T, newBus NewBus) {
	b := open(t, newBus, screenpop.Retention{})
	ch := Channel("user")
	var one, two collector
	c1, err := b.Subscribe(context.Background(), ch, one.add)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := b.Subscribe(context.Background(), ch, two.add)
	if err != nil {
		t.Fatal(err)
	}
	defer c2()
	data := []byte(`{"n":1}`)
	m1, err := b.Publish(context.Background(), ch, data)
	if err != nil {
		t.Fatal(err)
	}
	data[5] = '9' // the bus must have copied it
	publish(t, b, ch, `{"n":2}`)
	for _, c := range []*collector{&one, &two} {
		got := c.wait(t, 2)
		if got[0].Seq != 1 || string(got[0].Data) != `{"n":1}` || got[1].Seq != 2 || got[0].Epoch != m1.Epoch || got[0].Channel != ch {
			t.Fatalf("received %+v", got)
		}
	}
	c1()
	publish(t, b, ch, `{"n":3}`)
	two.wait(t, 3)
	time.Sleep(50 * time.Millisecond)
	if n := len(one.wait(t, 2)); n != 2 {
		t.Fatalf("a cancelled subscription got %d messages", n)
	}
}

func testHistory(t *testing.T, newBus NewBus) {
	b := open(t, newBus, screenpop.Retention{})
	ctx := context.Background()
	ch := Channel("user")
	var last screenpop.Message
	for i := 1; i <= 5; i++ {
		last = publish(t, b, ch, fmt.Sprintf(`{"n":%d}`, i))
	}
	seqs := func(ms []screenpop.Message) (out []uint64) {
		for _, m := range ms {
			out = append(out, m.Seq)
		}
		return out
	}
	got, pos, err := b.History(ctx, ch, "", 0, 2)
	if err != nil || fmt.Sprint(seqs(got)) != "[4 5]" || pos.Seq != 5 || pos.Epoch != last.Epoch {
		t.Fatalf("fresh history = %v %+v %v", seqs(got), pos, err)
	}
	got, _, err = b.History(ctx, ch, last.Epoch, 2, 0)
	if err != nil || fmt.Sprint(seqs(got)) != "[3 4 5]" || string(got[0].Data) != `{"n":3}` {
		t.Fatalf("after 2 = %v %v", seqs(got), err)
	}
	got, _, err = b.History(ctx, ch, last.Epoch, 1, 2)
	if err != nil || fmt.Sprint(seqs(got)) != "[2 3]" {
		t.Fatalf("after 1 limit 2 = %v %v", seqs(got), err)
	}
	if got, _, err = b.History(ctx, ch, last.Epoch, 5, 0); err != nil || len(got) != 0 {
		t.Fatalf("after the last = %v %v", seqs(got), err)
	}
	if _, _, err = b.History(ctx, ch, "another-epoch", 2, 0); !errors.Is(err, screenpop.ErrHistoryGone) {
		t.Fatalf("wrong epoch: %v", err)
	}
	if _, _, err = b.History(ctx, ch, last.Epoch, 9, 0); !errors.Is(err, screenpop.ErrHistoryGone) {
		t.Fatalf("seq from the future: %v", err)
	}
	if got, _, err = b.History(ctx, Channel("empty"), "", 0, 10); err != nil || len(got) != 0 {
		t.Fatalf("empty channel: %v %v", got, err)
	}
}

func testRetentionCount(t *testing.T, newBus NewBus) {
	b := open(t, newBus, screenpop.Retention{Messages: 3})
	ch := Channel("user")
	var last screenpop.Message
	for i := 1; i <= 6; i++ {
		last = publish(t, b, ch, `{}`)
	}
	if _, _, err := b.History(context.Background(), ch, last.Epoch, 1, 0); !errors.Is(err, screenpop.ErrHistoryGone) {
		t.Fatalf("after a trimmed seq: %v", err)
	}
	got, _, err := b.History(context.Background(), ch, last.Epoch, 3, 0)
	if err != nil || len(got) != 3 || got[0].Seq != 4 {
		t.Fatalf("within retention: %+v %v", got, err)
	}
}

func testRetentionAge(t *testing.T, newBus NewBus) {
	b := open(t, newBus, screenpop.Retention{Age: 1500 * time.Millisecond})
	ch := Channel("user")
	first := publish(t, b, ch, `{}`)
	time.Sleep(1600 * time.Millisecond)
	publish(t, b, ch, `{}`)
	if _, _, err := b.History(context.Background(), ch, first.Epoch, 0, 0); !errors.Is(err, screenpop.ErrHistoryGone) {
		t.Fatalf("an aged-out message was still served: %v", err)
	}
	got, _, err := b.History(context.Background(), ch, "", 0, 10)
	if err != nil || len(got) != 1 || got[0].Seq != 2 {
		t.Fatalf("fresh history after ageing = %+v %v", got, err)
	}
}

func testConcurrent(t *testing.T, newBus NewBus) {
	b := open(t, newBus, screenpop.Retention{Messages: 1000})
	ch := Channel("user")
	var got collector
	cancel, err := b.Subscribe(context.Background(), ch, got.add)
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	const workers, each = 8, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if _, err := b.Publish(context.Background(), ch, fmt.Appendf(nil, `{"w":%d,"i":%d}`, w, i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	all := got.wait(t, workers*each)
	for i, m := range all {
		if m.Seq != uint64(i+1) {
			t.Fatalf("message %d has seq %d: out of order or not contiguous", i, m.Seq)
		}
	}
}

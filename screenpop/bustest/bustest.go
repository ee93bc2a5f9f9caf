// Package bustest is the conformance suite every screenpop.Bus passes, so
// the in-process and Redis buses behave alike.
package bustest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/screenpop"
)

// Run runs the suite against buses made by newBus, which returns a fresh
// bus keeping ret. The suite closes each bus itself, so Close must tolerate
// a second call should newBus arrange one too.
func Run(t *testing.T, newBus func(t *testing.T, ret screenpop.Retention) screenpop.Bus) {
	s := suite{newBus: newBus}
	for _, tc := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"Numbering", s.numbering},
		{"NewChannelPosition", s.newChannelPosition},
		{"SubscribeInOrder", s.subscribeInOrder},
		{"MultipleSubscribers", s.multipleSubscribers},
		{"Cancel", s.cancel},
		{"CancelFromCallback", s.cancelFromCallback},
		{"SlowSubscriber", s.slowSubscriber},
		{"HistoryNewest", s.historyNewest},
		{"HistoryAfter", s.historyAfter},
		{"HistoryGone", s.historyGone},
		{"RetentionByCount", s.retentionCount},
		{"RetentionByAge", s.retentionAge},
		{"Position", s.position},
		{"ConcurrentPublishers", s.concurrent},
		{"DataNotAliased", s.dataNotAliased},
		{"Closed", s.closed},
	} {
		t.Run(tc.name, tc.fn)
	}
}

// Channel returns a channel name no other test uses, since a Redis server
// is shared between runs and packages.
func Channel(kind string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return kind + ":" + hex.EncodeToString(b[:])
}

type suite struct {
	newBus func(t *testing.T, ret screenpop.Retention) screenpop.Bus
}

func (s suite) open(t *testing.T, ret screenpop.Retention) screenpop.Bus {
	t.Helper()
	b := s.newBus(t, ret)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func publish(t *testing.T, b screenpop.Bus, ch, data string) screenpop.Message {
	t.Helper()
	m, err := b.Publish(context.Background(), ch, []byte(data))
	if err != nil {
		t.Fatalf("publish on %s: %v", ch, err)
	}
	return m
}

func subscribe(t *testing.T, b screenpop.Bus, ch string, fn func(screenpop.Message)) func() {
	t.Helper()
	cancel, err := b.Subscribe(context.Background(), ch, fn)
	if err != nil {
		t.Fatalf("subscribe to %s: %v", ch, err)
	}
	t.Cleanup(cancel)
	return cancel
}

func seqs(ms []screenpop.Message) []uint64 {
	out := make([]uint64, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.Seq)
	}
	return out
}

func span(from, to uint64) []uint64 {
	var out []uint64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// collector records what a subscription receives. Resync hints are
// allowed at any time by the contract, so they are counted apart.
type collector struct {
	mu      sync.Mutex
	got     []screenpop.Message
	hints   int
	overlap bool
	busy    bool
}

func (c *collector) add(m screenpop.Message) {
	c.mu.Lock()
	if c.busy {
		c.overlap = true
	}
	c.busy = true
	c.mu.Unlock()
	// Widen the window in which a concurrent second call would be seen.
	time.Sleep(10 * time.Microsecond)
	c.mu.Lock()
	c.busy = false
	if m.Seq == 0 && m.Data == nil {
		c.hints++
	} else {
		c.got = append(c.got, m)
	}
	c.mu.Unlock()
}

func (c *collector) snapshot() []screenpop.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got)
}

// wait returns once n messages arrived, failing the test after a while.
func (c *collector) wait(t *testing.T, n int) []screenpop.Message {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := c.snapshot()
		if len(got) >= n {
			c.mu.Lock()
			overlap := c.overlap
			c.mu.Unlock()
			if overlap {
				t.Fatal("the callback of one subscription ran concurrently with itself")
			}
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("received seqs %v, want %d messages", seqs(got), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// quiet checks that nothing beyond n messages arrives for a while.
func (c *collector) quiet(t *testing.T, n int) {
	t.Helper()
	time.Sleep(100 * time.Millisecond)
	if got := c.snapshot(); len(got) != n {
		t.Fatalf("received seqs %v, want exactly %d messages", seqs(got), n)
	}
}

func checkTime(t *testing.T, m screenpop.Message) {
	t.Helper()
	if d := time.Since(m.Time); m.Time.IsZero() || d < -time.Minute || d > time.Minute {
		t.Fatalf("message %d has time %v, now is %v", m.Seq, m.Time, time.Now())
	}
}

func (s suite) numbering(t *testing.T) {
	b := s.open(t, screenpop.Retention{})
	a, c := Channel("user"), Channel("user")
	var epoch string
	for i := uint64(1); i <= 3; i++ {
		m := publish(t, b, a, fmt.Sprintf(`{"i":%d}`, i))
		if m.Seq != i || m.Channel != a || m.Epoch == "" || string(m.Data) != fmt.Sprintf(`{"i":%d}`, i) {
			t.Fatalf("message %d = %+v", i, m)
		}
		if epoch != "" && m.Epoch != epoch {
			t.Fatalf("epoch changed from %q to %q between messages", epoch, m.Epoch)
		}
		epoch = m.Epoch
		checkTime(t, m)
	}
	for i := uint64(1); i <= 2; i++ {
		if m := publish(t, b, c, `{}`); m.Seq != i || m.Channel != c {
			t.Fatalf("another channel's message %d = %+v", i, m)
		}
	}
	if m := publish(t, b, a, `{}`); m.Seq != 4 {
		t.Fatalf("publishing elsewhere moved the first channel to seq %d, want 4", m.Seq)
	}
}

// A channel nobody published on already has the epoch its first message
// will carry, so a console that read the empty history follows on live
// without a reset.
func (s suite) newChannelPosition(t *testing.T) {
	ctx := context.Background()
	b := s.open(t, screenpop.Retention{})
	ch := Channel("user")
	pos, err := b.Position(ctx, ch)
	if err != nil || pos.Seq != 0 || pos.Epoch == "" {
		t.Fatalf("position of an unused channel = %+v, %v", pos, err)
	}
	got, hpos, err := b.History(ctx, ch, "", 0, 10)
	if err != nil || len(got) != 0 || hpos != pos {
		t.Fatalf("fresh history of an unused channel = %v %+v %v, want none at %+v", seqs(got), hpos, err, pos)
	}
	got, hpos, err = b.History(ctx, ch, pos.Epoch, 0, 10)
	if err != nil || len(got) != 0 || hpos != pos {
		t.Fatalf("history after 0 of an unused channel = %v %+v %v", seqs(got), hpos, err)
	}
	if m := publish(t, b, ch, `{}`); m.Epoch != pos.Epoch || m.Seq != 1 {
		t.Fatalf("first message %+v, want seq 1 in epoch %q", m, pos.Epoch)
	}
}

func (s suite) subscribeInOrder(t *testing.T) {
	b := s.open(t, screenpop.Retention{})
	ch, other := Channel("user"), Channel("user")
	var c collector
	subscribe(t, b, ch, c.add)
	var sent []screenpop.Message
	for i := 1; i <= 20; i++ {
		sent = append(sent, publish(t, b, ch, fmt.Sprintf(`{"n":%d}`, i)))
		publish(t, b, other, `{"elsewhere":true}`)
	}
	got := c.wait(t, len(sent))
	for i, m := range got {
		w := sent[i]
		if m.Channel != ch || m.Epoch != w.Epoch || m.Seq != w.Seq || string(m.Data) != string(w.Data) || !m.Time.Equal(w.Time) {
			t.Fatalf("received %d: %+v, published %+v", i, m, w)
		}
	}
	c.quiet(t, len(sent))
}

func (s suite) multipleSubscribers(t *testing.T) {
	b := s.open(t, screenpop.Retention{})
	ch := Channel("role")
	cs := make([]*collector, 3)
	for i := range cs {
		cs[i] = &collector{}
		subscribe(t, b, ch, cs[i].add)
	}
	for i := 1; i <= 5; i++ {
		publish(t, b, ch, fmt.Sprintf(`{"n":%d}`, i))
	}
	for i, c := range cs {
		if got := seqs(c.wait(t, 5)); !slices.Equal(got, span(1, 5)) {
			t.Fatalf("subscriber %d received %v", i, got)
		}
	}
}

func (s suite) cancel(t *testing.T) {
	b := s.open(t, screenpop.Retention{})
	ch := Channel("user")
	var one, two collector
	c1 := subscribe(t, b, ch, one.add)
	subscribe(t, b, ch, two.add)
	publish(t, b, ch, `{"n":1}`)
	one.wait(t, 1)
	two.wait(t, 1)
	c1()
	c1() // a second cancel is harmless
	publish(t, b, ch, `{"n":2}`)
	if got := seqs(two.wait(t, 2)); !slices.Equal(got, []uint64{1, 2}) {
		t.Fatalf("the remaining subscriber received %v", got)
	}
	one.quiet(t, 1)

	// Subscribing again after everyone left works like the first time.
	var three collector
	subscribe(t, b, ch, three.add)
	publish(t, b, ch, `{"n":3}`)
	if got := seqs(three.wait(t, 1)); got[0] != 3 {
		t.Fatalf("a new subscriber received %v", got)
	}
}

func (s suite) cancelFromCallback(t *testing.T) {
	b := s.open(t, screenpop.Retention{})
	ch := Channel("user")
	var c collector
	var cancel func()
	ready := make(chan struct{})
	cancel = subscribe(t, b, ch, func(m screenpop.Message) {
		<-ready
		c.add(m)
		cancel()
	})
	close(ready)
	publish(t, b, ch, `{"n":1}`)
	c.wait(t, 1)
	publish(t, b, ch, `{"n":2}`)
	c.quiet(t, 1)
}

// A callback that blocks holds back its own subscription only.
func (s suite) slowSubscriber(t *testing.T) {
	b := s.open(t, screenpop.Retention{})
	ch := Channel("user")
	release := make(chan struct{})
	var slow, fast collector
	subscribe(t, b, ch, func(m screenpop.Message) {
		<-release
		slow.add(m)
	})
	subscribe(t, b, ch, fast.add)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= 50; i++ {
			if _, err := b.Publish(context.Background(), ch, []byte(`{}`)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("a blocked subscriber held back Publish")
	}
	if got := seqs(fast.wait(t, 50)); !slices.Equal(got, span(1, 50)) {
		t.Fatalf("the fast subscriber received %v", got)
	}
	close(release)
	if got := seqs(slow.wait(t, 50)); !slices.Equal(got, span(1, 50)) {
		t.Fatalf("the slow subscriber received %v", got)
	}
}

func (s suite) historyNewest(t *testing.T) {
	ctx := context.Background()
	b := s.open(t, screenpop.Retention{})
	ch := Channel("user")
	var sent []screenpop.Message
	for i := 1; i <= 5; i++ {
		sent = append(sent, publish(t, b, ch, fmt.Sprintf(`{"n":%d}`, i)))
	}
	got, pos, err := b.History(ctx, ch, "", 0, 2)
	if err != nil || !slices.Equal(seqs(got), []uint64{4, 5}) || pos != (screenpop.Position{Epoch: sent[0].Epoch, Seq: 5}) {
		t.Fatalf("newest 2 = %v %+v %v", seqs(got), pos, err)
	}
	for i, m := range got {
		w := sent[3+i]
		if m.Channel != ch || m.Epoch != w.Epoch || string(m.Data) != string(w.Data) || !m.Time.Equal(w.Time) {
			t.Fatalf("history returned %+v for %+v", m, w)
		}
	}
	if got, _, err = b.History(ctx, ch, "", 0, 0); err != nil || !slices.Equal(seqs(got), span(1, 5)) {
		t.Fatalf("newest without a limit = %v %v", seqs(got), err)
	}
	if got, _, err = b.History(ctx, ch, "", 0, 50); err != nil || !slices.Equal(seqs(got), span(1, 5)) {
		t.Fatalf("newest 50 of 5 = %v %v", seqs(got), err)
	}
	// An empty epoch means "saw nothing": after is ignored.
	if got, _, err = b.History(ctx, ch, "", 99, 1); err != nil || !slices.Equal(seqs(got), []uint64{5}) {
		t.Fatalf("newest 1 with a stray after = %v %v", seqs(got), err)
	}
}

func (s suite) historyAfter(t *testing.T) {
	ctx := context.Background()
	b := s.open(t, screenpop.Retention{})
	ch := Channel("user")
	var last screenpop.Message
	for i := 1; i <= 5; i++ {
		last = publish(t, b, ch, fmt.Sprintf(`{"n":%d}`, i))
	}
	e := last.Epoch
	want := screenpop.Position{Epoch: e, Seq: 5}
	got, pos, err := b.History(ctx, ch, e, 2, 0)
	if err != nil || !slices.Equal(seqs(got), []uint64{3, 4, 5}) || pos != want {
		t.Fatalf("after 2 = %v %+v %v", seqs(got), pos, err)
	}
	if string(got[0].Data) != `{"n":3}` || got[0].Channel != ch || got[0].Epoch != e {
		t.Fatalf("after 2, first = %+v", got[0])
	}
	if got, _, err = b.History(ctx, ch, e, 0, 0); err != nil || !slices.Equal(seqs(got), span(1, 5)) {
		t.Fatalf("after 0 = %v %v", seqs(got), err)
	}
	if got, _, err = b.History(ctx, ch, e, 1, 2); err != nil || !slices.Equal(seqs(got), []uint64{2, 3}) {
		t.Fatalf("after 1 limit 2 = %v %v", seqs(got), err)
	}
	if got, _, err = b.History(ctx, ch, e, 4, 2); err != nil || !slices.Equal(seqs(got), []uint64{5}) {
		t.Fatalf("after 4 limit 2 = %v %v", seqs(got), err)
	}
	got, pos, err = b.History(ctx, ch, e, 5, 0)
	if err != nil || len(got) != 0 || pos != want {
		t.Fatalf("after the last = %v %+v %v", seqs(got), pos, err)
	}
}

func (s suite) historyGone(t *testing.T) {
	ctx := context.Background()
	b := s.open(t, screenpop.Retention{})
	ch := Channel("user")
	var last screenpop.Message
	for i := 1; i <= 3; i++ {
		last = publish(t, b, ch, `{}`)
	}
	got, pos, err := b.History(ctx, ch, "another-epoch", 1, 0)
	if !errors.Is(err, screenpop.ErrHistoryGone) || len(got) != 0 {
		t.Fatalf("wrong epoch: %v %v", seqs(got), err)
	}
	if pos != (screenpop.Position{Epoch: last.Epoch, Seq: 3}) {
		t.Fatalf("wrong epoch: position %+v, want the current one", pos)
	}
	if _, _, err = b.History(ctx, ch, "another-epoch", 3, 0); !errors.Is(err, screenpop.ErrHistoryGone) {
		t.Fatalf("wrong epoch at the current seq: %v", err)
	}
	if _, _, err = b.History(ctx, ch, last.Epoch, 9, 0); !errors.Is(err, screenpop.ErrHistoryGone) {
		t.Fatalf("seq from the future: %v", err)
	}
}

func (s suite) retentionCount(t *testing.T) {
	ctx := context.Background()
	b := s.open(t, screenpop.Retention{Messages: 3})
	ch := Channel("user")
	var last screenpop.Message
	for i := 1; i <= 8; i++ {
		last = publish(t, b, ch, fmt.Sprintf(`{"n":%d}`, i))
	}
	e := last.Epoch
	for _, after := range []uint64{0, 1, 4} {
		if got, _, err := b.History(ctx, ch, e, after, 0); !errors.Is(err, screenpop.ErrHistoryGone) {
			t.Fatalf("after %d with 6..8 retained = %v %v, want ErrHistoryGone", after, seqs(got), err)
		}
	}
	got, pos, err := b.History(ctx, ch, e, 5, 0)
	if err != nil || !slices.Equal(seqs(got), []uint64{6, 7, 8}) || pos.Seq != 8 {
		t.Fatalf("after 5 = %v %+v %v", seqs(got), pos, err)
	}
	if got, _, err = b.History(ctx, ch, e, 5, 1); err != nil || !slices.Equal(seqs(got), []uint64{6}) {
		t.Fatalf("after 5 limit 1 = %v %v", seqs(got), err)
	}
	if got, _, err = b.History(ctx, ch, "", 0, 0); err != nil || !slices.Equal(seqs(got), []uint64{6, 7, 8}) {
		t.Fatalf("newest without a limit = %v %v", seqs(got), err)
	}
	if got, _, err = b.History(ctx, ch, "", 0, 10); err != nil || !slices.Equal(seqs(got), []uint64{6, 7, 8}) {
		t.Fatalf("newest 10 = %v %v", seqs(got), err)
	}
	if string(got[0].Data) != `{"n":6}` {
		t.Fatalf("retained message 6 holds %s", got[0].Data)
	}
}

func (s suite) retentionAge(t *testing.T) {
	// The margins: sleeping makes a message old for sure; a message stays
	// fresh for the 400ms a publish and a read may take on a busy machine.
	const age = 400 * time.Millisecond
	ctx := context.Background()
	b := s.open(t, screenpop.Retention{Age: age})
	ch := Channel("user")
	first := publish(t, b, ch, `{"n":1}`)
	e := first.Epoch
	time.Sleep(age + 200*time.Millisecond)
	publish(t, b, ch, `{"n":2}`)
	if got, _, err := b.History(ctx, ch, e, 0, 0); !errors.Is(err, screenpop.ErrHistoryGone) {
		t.Fatalf("after 0 with message 1 aged out = %v %v", seqs(got), err)
	}
	if got, _, err := b.History(ctx, ch, e, 1, 0); err != nil || !slices.Equal(seqs(got), []uint64{2}) {
		t.Fatalf("after 1 = %v %v", seqs(got), err)
	}
	if got, _, err := b.History(ctx, ch, "", 0, 10); err != nil || !slices.Equal(seqs(got), []uint64{2}) {
		t.Fatalf("newest after ageing = %v %v", seqs(got), err)
	}
	time.Sleep(age + 200*time.Millisecond)
	if got, _, err := b.History(ctx, ch, e, 1, 0); !errors.Is(err, screenpop.ErrHistoryGone) {
		t.Fatalf("after 1 with everything aged out = %v %v", seqs(got), err)
	}
	got, pos, err := b.History(ctx, ch, e, 2, 0)
	if err != nil || len(got) != 0 || pos != (screenpop.Position{Epoch: e, Seq: 2}) {
		t.Fatalf("after the last with everything aged out = %v %+v %v", seqs(got), pos, err)
	}
	if got, pos, err = b.History(ctx, ch, "", 0, 10); err != nil || len(got) != 0 || pos.Seq != 2 {
		t.Fatalf("newest with everything aged out = %v %+v %v", seqs(got), pos, err)
	}
	if m := publish(t, b, ch, `{"n":3}`); m.Seq != 3 || m.Epoch != e {
		t.Fatalf("after ageing the channel went on with %+v", m)
	}
}

func (s suite) position(t *testing.T) {
	ctx := context.Background()
	b := s.open(t, screenpop.Retention{Messages: 2})
	ch := Channel("user")
	var last screenpop.Message
	for i := 1; i <= 4; i++ {
		last = publish(t, b, ch, `{}`)
		pos, err := b.Position(ctx, ch)
		if err != nil || pos != (screenpop.Position{Epoch: last.Epoch, Seq: uint64(i)}) {
			t.Fatalf("position after %d messages = %+v %v", i, pos, err)
		}
	}
	publish(t, b, Channel("user"), `{}`)
	if pos, err := b.Position(ctx, ch); err != nil || pos.Seq != 4 {
		t.Fatalf("position after another channel moved = %+v %v", pos, err)
	}
}

func (s suite) concurrent(t *testing.T) {
	const workers, each = 8, 50
	ctx := context.Background()
	b := s.open(t, screenpop.Retention{Messages: 1000})
	ch := Channel("user")
	var c collector
	subscribe(t, b, ch, c.add)
	results := make(chan screenpop.Message, workers*each)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				m, err := b.Publish(ctx, ch, fmt.Appendf(nil, `{"w":%d,"i":%d}`, w, i))
				if err != nil {
					t.Error(err)
					return
				}
				results <- m
			}
		})
	}
	wg.Wait()
	close(results)
	data := map[uint64]string{}
	for m := range results {
		if _, dup := data[m.Seq]; dup {
			t.Fatalf("seq %d was given twice", m.Seq)
		}
		data[m.Seq] = string(m.Data)
	}
	for seq := uint64(1); seq <= workers*each; seq++ {
		if _, ok := data[seq]; !ok {
			t.Fatalf("seq %d was never given", seq)
		}
	}
	got := c.wait(t, workers*each)
	for i, m := range got {
		if m.Seq != uint64(i+1) || string(m.Data) != data[m.Seq] {
			t.Fatalf("delivery %d is seq %d with %s: out of order or not contiguous", i, m.Seq, m.Data)
		}
	}
	c.quiet(t, workers*each)
	hist, pos, err := b.History(ctx, ch, got[0].Epoch, 0, 0)
	if err != nil || pos.Seq != workers*each || !slices.Equal(seqs(hist), span(1, workers*each)) {
		t.Fatalf("history after concurrent publishing: %d messages, %+v, %v", len(hist), pos, err)
	}
}

// The bus keeps its own copy of what it was given.
func (s suite) dataNotAliased(t *testing.T) {
	ctx := context.Background()
	b := s.open(t, screenpop.Retention{})
	ch := Channel("user")
	var c collector
	gate := make(chan struct{})
	subscribe(t, b, ch, func(m screenpop.Message) {
		<-gate
		c.add(m)
	})
	buf := []byte(`{"n":1}`)
	m, err := b.Publish(ctx, ch, buf)
	if err != nil {
		t.Fatal(err)
	}
	copy(buf, `XXXXXXX`)
	close(gate)
	if string(m.Data) != `{"n":1}` {
		t.Fatalf("the returned message changed with the caller's buffer: %s", m.Data)
	}
	if got := c.wait(t, 1); string(got[0].Data) != `{"n":1}` {
		t.Fatalf("the subscriber received %s", got[0].Data)
	}
	hist, _, err := b.History(ctx, ch, m.Epoch, 0, 0)
	if err != nil || len(hist) != 1 || string(hist[0].Data) != `{"n":1}` {
		t.Fatalf("history holds %v %v", hist, err)
	}
}

func (s suite) closed(t *testing.T) {
	ctx := context.Background()
	b := s.newBus(t, screenpop.Retention{})
	ch := Channel("user")
	var c collector
	if _, err := b.Subscribe(ctx, ch, c.add); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if _, err := b.Publish(ctx, ch, []byte(`{}`)); err == nil {
		t.Fatal("publishing on a closed bus succeeded")
	}
	if _, err := b.Subscribe(ctx, ch, c.add); err == nil {
		t.Fatal("subscribing on a closed bus succeeded")
	}
	c.quiet(t, 0)
}

// Package redisbus is the screenpop bus for several Tamas nodes sharing one
// Redis. Redis pub/sub alone delivers at most once and forgets what a
// disconnected node missed, so each channel is also a Stream: one Lua
// script numbers a message (INCR), appends it to the channel's stream
// (XADD, trimmed to the retention) and publishes it, atomically. Live
// delivery rides pub/sub; catching up reads the stream. A node that lost its
// pub/sub connection is told so on resubscription and reads what it missed
// from the stream — the design Centrifugo's Redis engine uses.
package redisbus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tamas-cc/tamas/screenpop"
)

// Options configure a Bus.
type Options struct {
	// Prefix namespaces the bus's keys and pub/sub channels ("tamas:bus:").
	Prefix    string
	Retention screenpop.Retention
	Logger    *slog.Logger
}

// Bus is a Redis-backed [screenpop.Bus].
type Bus struct {
	c      redis.UniversalClient
	o      Options
	log    *slog.Logger
	pub    *redis.Script
	now    func() time.Time
	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex
	ps        *redis.PubSub
	subs      map[string]map[*sub]struct{} // pub/sub channel → local subscriptions
	confirmed map[string]bool
	wg        sync.WaitGroup
	closed    bool
}

// publishScript keeps numbering, history and fan-out in one atomic step, so
// a message is never numbered without being kept or kept without being
// announced. A channel whose keys expired starts a new epoch.
var publishScript = redis.NewScript(`
local epoch = redis.call('GET', KEYS[3])
if not epoch then
  epoch = ARGV[2]
  redis.call('SET', KEYS[3], epoch)
  redis.call('DEL', KEYS[1], KEYS[2])
end
local seq = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[3], seq .. '-1', 'd', ARGV[1], 't', ARGV[6])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('EXPIRE', KEYS[3], ARGV[4])
redis.call('PUBLISH', ARGV[5], epoch .. ' ' .. seq .. ' ' .. ARGV[6] .. ' ' .. ARGV[1])
return {epoch, seq}
`)

// New returns a bus on client; the caller keeps ownership of the client.
func New(ctx context.Context, client redis.UniversalClient, o Options) (*Bus, error) {
	if o.Prefix == "" {
		o.Prefix = "tamas:bus:"
	}
	if o.Retention.Messages <= 0 {
		o.Retention.Messages = screenpop.DefaultRetention.Messages
	}
	if o.Retention.Age <= 0 {
		o.Retention.Age = screenpop.DefaultRetention.Age
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if err := client.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("redis bus: %w", err)
	}
	if err := publishScript.Load(ctx, client).Err(); err != nil {
		return nil, fmt.Errorf("redis bus: loading script: %w", err)
	}
	bctx, cancel := context.WithCancel(context.Background())
	return &Bus{c: client, o: o, log: o.Logger, pub: publishScript, now: time.Now, ctx: bctx, cancel: cancel,
		subs: map[string]map[*sub]struct{}{}, confirmed: map[string]bool{}}, nil
}

func (b *Bus) keys(channel string) (stream, seq, epoch, pubsub string) {
	base := b.o.Prefix + "{" + channel + "}"
	return base + ":s", base + ":n", base + ":e", base
}

// ttl keeps an idle channel's keys a while past the retention age, so
// expiry never takes messages a console could still ask for.
func (b *Bus) ttl() int64 { return int64((2*b.o.Retention.Age + time.Minute) / time.Second) }

func newEpoch() string {
	var r [8]byte
	_, _ = rand.Read(r[:])
	return hex.EncodeToString(r[:])
}

// Publish implements screenpop.Bus.
func (b *Bus) Publish(ctx context.Context, channel string, data []byte) (screenpop.Message, error) {
	stream, seq, epoch, ps := b.keys(channel)
	now := b.now()
	res, err := b.pub.Run(ctx, b.c, []string{stream, seq, epoch},
		data, newEpoch(), b.o.Retention.Messages, b.ttl(), ps, now.UnixMilli()).Slice()
	if err != nil {
		return screenpop.Message{}, fmt.Errorf("redis bus: publish on %s: %w", channel, err)
	}
	if len(res) != 2 {
		return screenpop.Message{}, fmt.Errorf("redis bus: publish on %s: unexpected reply %v", channel, res)
	}
	ep, _ := res[0].(string)
	n, _ := res[1].(int64)
	return screenpop.Message{Channel: channel, Epoch: ep, Seq: uint64(n), Time: now.Truncate(time.Millisecond),
		Data: append([]byte(nil), data...)}, nil
}

// Position implements screenpop.Bus.
func (b *Bus) Position(ctx context.Context, channel string) (screenpop.Position, error) {
	_, seq, epoch, _ := b.keys(channel)
	vals, err := b.c.MGet(ctx, epoch, seq).Result()
	if err != nil {
		return screenpop.Position{}, fmt.Errorf("redis bus: position of %s: %w", channel, err)
	}
	return position(vals), nil
}

func position(vals []any) screenpop.Position {
	var pos screenpop.Position
	if s, ok := vals[0].(string); ok {
		pos.Epoch = s
	}
	if s, ok := vals[1].(string); ok {
		pos.Seq, _ = strconv.ParseUint(s, 10, 64)
	}
	return pos
}

// History implements screenpop.Bus.
func (b *Bus) History(ctx context.Context, channel, epoch string, after uint64, limit int) ([]screenpop.Message, screenpop.Position, error) {
	stream, seq, epochKey, _ := b.keys(channel)
	pipe := b.c.Pipeline()
	mget := pipe.MGet(ctx, epochKey, seq)
	var rng *redis.XMessageSliceCmd
	switch {
	case epoch == "":
		n := int64(limit)
		if n <= 0 {
			n = int64(b.o.Retention.Messages)
		}
		rng = pipe.XRevRangeN(ctx, stream, "+", "-", n)
	case limit > 0:
		rng = pipe.XRangeN(ctx, stream, fmt.Sprintf("%d-1", after+1), "+", int64(limit))
	default:
		rng = pipe.XRange(ctx, stream, fmt.Sprintf("%d-1", after+1), "+")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, screenpop.Position{}, fmt.Errorf("redis bus: history of %s: %w", channel, err)
	}
	pos := position(mget.Val())
	entries := rng.Val()
	if epoch == "" {
		for i, j := 0, len(entries)-1; i < j; i, j = i+1, j-1 {
			entries[i], entries[j] = entries[j], entries[i]
		}
	}
	oldest := b.now().Add(-b.o.Retention.Age).UnixMilli()
	out := make([]screenpop.Message, 0, len(entries))
	for _, e := range entries {
		m, ok := decodeEntry(channel, pos.Epoch, e)
		if !ok {
			b.log.Error("redis bus: skipping a malformed stream entry", "channel", channel, "id", e.ID)
			continue
		}
		if m.Time.UnixMilli() < oldest {
			continue
		}
		out = append(out, m)
	}
	if epoch == "" {
		return out, pos, nil
	}
	if epoch != pos.Epoch || after > pos.Seq {
		return nil, pos, screenpop.ErrHistoryGone
	}
	if after == pos.Seq {
		return nil, pos, nil
	}
	if len(out) == 0 || out[0].Seq != after+1 {
		return nil, pos, screenpop.ErrHistoryGone
	}
	return out, pos, nil
}

func decodeEntry(channel, epoch string, e redis.XMessage) (screenpop.Message, bool) {
	id, _, _ := strings.Cut(e.ID, "-")
	seq, err := strconv.ParseUint(id, 10, 64)
	data, ok1 := e.Values["d"].(string)
	ts, ok2 := e.Values["t"].(string)
	ms, err2 := strconv.ParseInt(ts, 10, 64)
	if err != nil || !ok1 || !ok2 || err2 != nil {
		return screenpop.Message{}, false
	}
	return screenpop.Message{Channel: channel, Epoch: epoch, Seq: seq, Time: time.UnixMilli(ms), Data: []byte(data)}, true
}

// Subscribe implements screenpop.Bus. All of a node's subscriptions share
// one pub/sub connection.
func (b *Bus) Subscribe(ctx context.Context, channel string, fn func(screenpop.Message)) (func(), error) {
	_, _, _, ps := b.keys(channel)
	s := &sub{channel: channel, fn: fn}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, errors.New("redis bus: closed")
	}
	if b.ps == nil {
		b.ps = b.c.Subscribe(b.ctx)
		ch := b.ps.ChannelWithSubscriptions(redis.WithChannelSize(4096))
		b.wg.Go(func() { b.read(ch) })
	}
	first := len(b.subs[ps]) == 0
	if first {
		b.subs[ps] = map[*sub]struct{}{}
	}
	b.subs[ps][s] = struct{}{}
	pubsub := b.ps
	b.mu.Unlock()
	if first {
		if err := pubsub.Subscribe(ctx, ps); err != nil {
			b.remove(ps, s)
			return nil, fmt.Errorf("redis bus: subscribe %s: %w", channel, err)
		}
	}
	var once sync.Once
	return func() { once.Do(func() { b.remove(ps, s); s.stop() }) }, nil
}

func (b *Bus) remove(ps string, s *sub) {
	b.mu.Lock()
	delete(b.subs[ps], s)
	last := len(b.subs[ps]) == 0
	if last {
		delete(b.subs, ps)
		delete(b.confirmed, ps)
	}
	pubsub := b.ps
	closed := b.closed
	b.mu.Unlock()
	if last && pubsub != nil && !closed {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		defer cancel()
		if err := pubsub.Unsubscribe(ctx, ps); err != nil {
			b.log.Warn("redis bus: unsubscribe failed", "channel", ps, "err", err)
		}
	}
}

// read dispatches pub/sub traffic. A subscription confirmed a second time
// means go-redis reconnected: messages may have been lost meanwhile, so the
// channel's subscribers are told to catch up from the stream.
func (b *Bus) read(ch <-chan any) {
	for v := range ch {
		switch m := v.(type) {
		case *redis.Subscription:
			if m.Kind != "subscribe" {
				continue
			}
			b.mu.Lock()
			again := b.confirmed[m.Channel]
			b.confirmed[m.Channel] = true
			var targets []*sub
			if again {
				for s := range b.subs[m.Channel] {
					targets = append(targets, s)
				}
			}
			b.mu.Unlock()
			if again {
				b.log.Info("redis bus: resubscribed; catching up", "channel", m.Channel)
			}
			for _, s := range targets {
				s.push(screenpop.Message{Channel: s.channel})
			}
		case *redis.Message:
			b.mu.Lock()
			var targets []*sub
			for s := range b.subs[m.Channel] {
				targets = append(targets, s)
			}
			b.mu.Unlock()
			if len(targets) == 0 {
				continue
			}
			msg, ok := decodeLive(targets[0].channel, m.Payload)
			if !ok {
				b.log.Error("redis bus: skipping a malformed message", "channel", m.Channel, "bytes", len(m.Payload))
				continue
			}
			for _, s := range targets {
				s.push(msg)
			}
		}
	}
}

func decodeLive(channel, payload string) (screenpop.Message, bool) {
	epoch, rest, ok1 := strings.Cut(payload, " ")
	seqs, rest, ok2 := strings.Cut(rest, " ")
	ts, data, ok3 := strings.Cut(rest, " ")
	seq, err := strconv.ParseUint(seqs, 10, 64)
	ms, err2 := strconv.ParseInt(ts, 10, 64)
	if !ok1 || !ok2 || !ok3 || err != nil || err2 != nil || seq == 0 || epoch == "" {
		return screenpop.Message{}, false
	}
	return screenpop.Message{Channel: channel, Epoch: epoch, Seq: seq, Time: time.UnixMilli(ms), Data: []byte(data)}, true
}

// Close stops delivery; the client stays open for its owner.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	ps := b.ps
	b.mu.Unlock()
	b.cancel()
	var err error
	if ps != nil {
		err = ps.Close()
	}
	b.wg.Wait()
	return err
}

// sub runs one subscription's callback on its own goroutine, in order.
type sub struct {
	channel string
	fn      func(screenpop.Message)
	mu      sync.Mutex
	q       []screenpop.Message
	running bool
	stopped bool
}

func (s *sub) push(m screenpop.Message) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.q = append(s.q, m)
	start := !s.running
	s.running = start || s.running
	s.mu.Unlock()
	if start {
		go s.run()
	}
}

// run delivers queued messages in order and returns when the queue is
// empty: an idle subscription holds no goroutine.
func (s *sub) run() {
	for {
		s.mu.Lock()
		if len(s.q) == 0 || s.stopped {
			s.q, s.running = nil, false
			s.mu.Unlock()
			return
		}
		m := s.q[0]
		s.q = s.q[1:]
		s.mu.Unlock()
		s.fn(m)
	}
}

func (s *sub) stop() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
}

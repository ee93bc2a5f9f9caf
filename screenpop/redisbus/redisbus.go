// Package redisbus is the screenpop bus for several Tamas nodes sharing one
// Redis, built the way Centrifugo's Redis engine is.
//
// Each bus channel has an epoch key, a seq counter and a Stream holding its
// history. One Lua script publishes atomically: it makes sure the epoch
// exists (a fresh random one, with an empty history, when the channel's
// keys are gone), numbers the message, appends it to the stream as
// "<seq>-0" with the Redis time, refreshes the expiries and PUBLISHes it.
// History reads the stream and the position from one instant in a second
// script; seqs beyond the count (the stream is trimmed with MAXLEN ~),
// entries older than the age and any hole mean ErrHistoryGone. Live
// delivery rides one pub/sub connection per node; when go-redis reconnects
// and resubscribes, every subscription of the channel is told to catch up
// from History, since pub/sub forgets what a broken connection missed.
package redisbus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tamas-cc/tamas/screenpop"
	"github.com/tamas-cc/tamas/screenpop/internal/subq"
)

// Options configure a Bus.
type Options struct {
	// Prefix namespaces the bus's keys and pub/sub channels ("tamas:bus:").
	Prefix string
	// Retention is kept per channel (screenpop.DefaultRetention when zero).
	Retention screenpop.Retention
	Logger    *slog.Logger
}

var _ screenpop.Bus = (*Bus)(nil)

// Bus is a Redis-backed [screenpop.Bus].
type Bus struct {
	c   redis.UniversalClient
	o   Options
	log *slog.Logger
	// streamTTL lets an idle channel's history vanish once it is all older
	// than the retention age; metaTTL keeps its epoch and seq much longer,
	// so a console that saw the last message of a quiet channel resumes
	// without a reset.
	streamTTL, metaTTL time.Duration

	closed  atomic.Bool
	closing chan struct{}

	// opMu orders SUBSCRIBE and UNSUBSCRIBE as the topic table changes, so
	// Redis ends up subscribed exactly to the channels with subscribers.
	opMu sync.Mutex

	mu     sync.Mutex
	ps     *redis.PubSub
	read   chan struct{} // closed when the reader has stopped
	topics map[string]*topic
}

// topic is one pub/sub channel this node is subscribed to.
type topic struct {
	channel   string // the bus channel
	subs      map[*sub]struct{}
	confirmed bool
	ready     chan struct{} // closed at the first SUBSCRIBE confirmation
}

var errClosed = errors.New("redis bus: closed")

// New returns a bus on client after checking that Redis answers; the
// caller keeps ownership of the client and closes it after the bus.
func New(ctx context.Context, client redis.UniversalClient, o Options) (*Bus, error) {
	if client == nil {
		return nil, errors.New("redis bus: no client")
	}
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
	streamTTL := o.Retention.Age + time.Minute
	return &Bus{
		c: client, o: o, log: o.Logger,
		streamTTL: streamTTL, metaTTL: max(24*time.Hour, 2*streamTTL),
		closing: make(chan struct{}),
		topics:  map[string]*topic{},
	}, nil
}

// keys names a channel's keys. The channel sits in a hash tag so that a
// Redis Cluster keeps all three in one slot, as the scripts need.
func (b *Bus) keys(channel string) (keys []string, pubsub string) {
	base := b.o.Prefix + "{" + channel + "}"
	return []string{base + ":s", base + ":n", base + ":e"}, base
}

// scriptLib is shared by both scripts; KEYS are stream, seq, epoch.
// ensure keeps epoch and seq together: if either is missing the channel's
// history is lost, so it starts over with a fresh epoch and no stream.
const scriptLib = `
if redis.replicate_commands then redis.replicate_commands() end
local function ensure(fresh, ttl)
  local epoch = redis.call('GET', KEYS[3])
  local seq = redis.call('GET', KEYS[2])
  if epoch and seq then return epoch, seq end
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[3], fresh, 'PX', ttl)
  redis.call('SET', KEYS[2], '0', 'PX', ttl)
  return fresh, '0'
end
local function now()
  local t = redis.call('TIME')
  return t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000))
end
`

// publishScript: ARGV data, fresh epoch, max length, meta TTL ms, stream
// TTL ms, pub/sub channel. XADD comes before the counter moves: should it
// fail, no seq is spent on a message that was never kept.
var publishScript = redis.NewScript(scriptLib + `
local epoch, seq = ensure(ARGV[2], ARGV[4])
seq = tonumber(seq) + 1
local ts = now()
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], seq .. '-0', 'data', ARGV[1], 'ts', ts)
redis.call('SET', KEYS[2], seq, 'PX', ARGV[4])
redis.call('PEXPIRE', KEYS[3], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PUBLISH', ARGV[6], epoch .. ' ' .. seq .. ' ' .. ts .. ' ' .. ARGV[1])
return {epoch, tostring(seq), ts}
`)

// readScript: ARGV fresh epoch, meta TTL ms, mode, first id, count,
// expected epoch. It answers epoch, seq, the Redis time and the entries,
// all from one instant. A reader creates the epoch of an unused channel, so
// the epoch it reports is the one the first message will carry.
var readScript = redis.NewScript(scriptLib + `
local epoch, seq = ensure(ARGV[1], ARGV[2])
local entries = {}
if ARGV[3] == 'after' and epoch == ARGV[6] then
  entries = redis.call('XRANGE', KEYS[1], ARGV[4], '+', 'COUNT', ARGV[5])
elseif ARGV[3] == 'newest' then
  entries = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', ARGV[5])
end
return {epoch, seq, now(), entries}
`)

func newEpoch() string {
	var r [8]byte
	_, _ = rand.Read(r[:])
	return hex.EncodeToString(r[:])
}

// Publish implements screenpop.Bus.
func (b *Bus) Publish(ctx context.Context, channel string, data []byte) (screenpop.Message, error) {
	if b.closed.Load() {
		return screenpop.Message{}, errClosed
	}
	keys, ps := b.keys(channel)
	res, err := publishScript.Run(ctx, b.c, keys, data, newEpoch(), b.o.Retention.Messages,
		b.metaTTL.Milliseconds(), b.streamTTL.Milliseconds(), ps).Slice()
	if err != nil {
		return screenpop.Message{}, fmt.Errorf("redis bus: publish on %s: %w", channel, err)
	}
	var epoch, seqs, ts string
	ok := len(res) == 3
	if ok {
		epoch, ok = res[0].(string)
	}
	if ok {
		seqs, ok = res[1].(string)
	}
	if ok {
		ts, ok = res[2].(string)
	}
	seq, err1 := strconv.ParseUint(seqs, 10, 64)
	ms, err2 := strconv.ParseInt(ts, 10, 64)
	if !ok || err1 != nil || err2 != nil || seq == 0 || epoch == "" {
		return screenpop.Message{}, fmt.Errorf("redis bus: publish on %s: unexpected reply %v", channel, res)
	}
	return screenpop.Message{Channel: channel, Epoch: epoch, Seq: seq, Time: time.UnixMilli(ms),
		Data: append([]byte(nil), data...)}, nil
}

// snapshot is what readScript answers.
type snapshot struct {
	pos     screenpop.Position
	now     int64 // Redis time, ms
	entries []any
}

func (b *Bus) snapshot(ctx context.Context, channel, mode string, first uint64, count int, epoch string) (snapshot, error) {
	keys, _ := b.keys(channel)
	res, err := readScript.Run(ctx, b.c, keys, newEpoch(), b.metaTTL.Milliseconds(), mode,
		strconv.FormatUint(first, 10)+"-0", count, epoch).Slice()
	if err != nil {
		return snapshot{}, err
	}
	var s snapshot
	var seq, now string
	ok := len(res) == 4
	if ok {
		s.pos.Epoch, ok = res[0].(string)
	}
	if ok {
		seq, ok = res[1].(string)
	}
	if ok {
		now, ok = res[2].(string)
	}
	if ok {
		s.entries, ok = res[3].([]any)
	}
	var err1, err2 error
	s.pos.Seq, err1 = strconv.ParseUint(seq, 10, 64)
	s.now, err2 = strconv.ParseInt(now, 10, 64)
	if !ok || err1 != nil || err2 != nil || s.pos.Epoch == "" {
		return snapshot{}, fmt.Errorf("unexpected reply %v", res)
	}
	return s, nil
}

// Position implements screenpop.Bus.
func (b *Bus) Position(ctx context.Context, channel string) (screenpop.Position, error) {
	s, err := b.snapshot(ctx, channel, "none", 0, 0, "")
	if err != nil {
		return screenpop.Position{}, fmt.Errorf("redis bus: position of %s: %w", channel, err)
	}
	return s.pos, nil
}

// History implements screenpop.Bus.
func (b *Bus) History(ctx context.Context, channel, epoch string, after uint64, limit int) ([]screenpop.Message, screenpop.Position, error) {
	keep := b.o.Retention.Messages
	count := keep
	if limit > 0 && limit < count {
		count = limit
	}
	mode := "after"
	if epoch == "" {
		mode = "newest"
	}
	s, err := b.snapshot(ctx, channel, mode, after+1, count, epoch)
	if err != nil {
		return nil, screenpop.Position{}, fmt.Errorf("redis bus: history of %s: %w", channel, err)
	}
	pos := s.pos
	// What retention still covers: the newest `keep` seqs, none too old.
	minSeq := uint64(1)
	if pos.Seq > uint64(keep) {
		minSeq = pos.Seq - uint64(keep) + 1
	}
	oldest := s.now - b.o.Retention.Age.Milliseconds()

	if epoch == "" {
		out := make([]screenpop.Message, 0, len(s.entries))
		for i := len(s.entries) - 1; i >= 0; i-- {
			m, ok := decodeEntry(channel, pos.Epoch, s.entries[i])
			if !ok {
				b.log.Warn("redis bus: skipping a malformed stream entry", "channel", channel)
				continue
			}
			if m.Seq >= minSeq && m.Seq <= pos.Seq && m.Time.UnixMilli() >= oldest {
				out = append(out, m)
			}
		}
		return out, pos, nil
	}

	if epoch != pos.Epoch || after > pos.Seq {
		return nil, pos, screenpop.ErrHistoryGone
	}
	if after == pos.Seq {
		return nil, pos, nil
	}
	if after+1 < minSeq {
		return nil, pos, screenpop.ErrHistoryGone
	}
	// Everything from after+1 up to the count must be there, contiguous and
	// young enough; anything else means messages were dropped.
	want := min(pos.Seq-after, uint64(count))
	if uint64(len(s.entries)) < want {
		return nil, pos, screenpop.ErrHistoryGone
	}
	out := make([]screenpop.Message, 0, want)
	for i := range want {
		m, ok := decodeEntry(channel, pos.Epoch, s.entries[i])
		if !ok {
			b.log.Warn("redis bus: malformed stream entry", "channel", channel, "after", after+i)
			return nil, pos, screenpop.ErrHistoryGone
		}
		if m.Seq != after+1+i || m.Time.UnixMilli() < oldest {
			return nil, pos, screenpop.ErrHistoryGone
		}
		out = append(out, m)
	}
	return out, pos, nil
}

// decodeEntry reads one XRANGE entry: [id, [field, value, …]].
func decodeEntry(channel, epoch string, v any) (screenpop.Message, bool) {
	e, ok := v.([]any)
	if !ok || len(e) != 2 {
		return screenpop.Message{}, false
	}
	id, ok1 := e[0].(string)
	fields, ok2 := e[1].([]any)
	if !ok1 || !ok2 {
		return screenpop.Message{}, false
	}
	seqs, _, _ := strings.Cut(id, "-")
	seq, err := strconv.ParseUint(seqs, 10, 64)
	if err != nil || seq == 0 {
		return screenpop.Message{}, false
	}
	var data, ts string
	var haveData, haveTS bool
	for i := 0; i+1 < len(fields); i += 2 {
		k, _ := fields[i].(string)
		val, ok := fields[i+1].(string)
		switch {
		case !ok:
			return screenpop.Message{}, false
		case k == "data":
			data, haveData = val, true
		case k == "ts":
			ts, haveTS = val, true
		}
	}
	ms, err := strconv.ParseInt(ts, 10, 64)
	if !haveData || !haveTS || err != nil {
		return screenpop.Message{}, false
	}
	return screenpop.Message{Channel: channel, Epoch: epoch, Seq: seq, Time: time.UnixMilli(ms), Data: []byte(data)}, true
}

// decodeLive reads a pub/sub payload: "epoch seq ts data".
func decodeLive(channel, payload string) (screenpop.Message, bool) {
	epoch, rest, ok1 := strings.Cut(payload, " ")
	seqs, rest, ok2 := strings.Cut(rest, " ")
	ts, data, ok3 := strings.Cut(rest, " ")
	seq, err1 := strconv.ParseUint(seqs, 10, 64)
	ms, err2 := strconv.ParseInt(ts, 10, 64)
	if !ok1 || !ok2 || !ok3 || err1 != nil || err2 != nil || seq == 0 || epoch == "" {
		return screenpop.Message{}, false
	}
	return screenpop.Message{Channel: channel, Epoch: epoch, Seq: seq, Time: time.UnixMilli(ms), Data: []byte(data)}, true
}

// Subscribe implements screenpop.Bus. All of a node's subscriptions share
// one pub/sub connection; Subscribe returns once Redis confirmed the
// channel's subscription, so whatever is published afterwards arrives.
func (b *Bus) Subscribe(ctx context.Context, channel string, fn func(screenpop.Message)) (func(), error) {
	if fn == nil {
		return nil, errors.New("redis bus: subscribe without a callback")
	}
	_, name := b.keys(channel)
	s := subq.New(fn)

	b.opMu.Lock()
	b.mu.Lock()
	if b.closed.Load() {
		b.mu.Unlock()
		b.opMu.Unlock()
		return nil, errClosed
	}
	if b.ps == nil {
		// The PubSub outlives any one caller's context.
		b.ps = b.c.Subscribe(context.WithoutCancel(ctx))
		b.read = make(chan struct{})
		go b.reader(b.ps, b.read)
	}
	t := b.topics[name]
	first := t == nil
	if first {
		t = &topic{channel: channel, subs: map[*sub]struct{}{}, ready: make(chan struct{})}
		b.topics[name] = t
	}
	t.subs[s] = struct{}{}
	ps := b.ps
	b.mu.Unlock()
	var err error
	if first {
		err = ps.Subscribe(ctx, name)
	}
	b.opMu.Unlock()

	if err == nil {
		select {
		case <-t.ready:
		case <-ctx.Done():
			err = ctx.Err()
		case <-b.closing:
			err = errClosed
		}
	}
	if err != nil {
		b.remove(name, t, s)
		return nil, fmt.Errorf("redis bus: subscribe to %s: %w", channel, err)
	}
	return func() { b.remove(name, t, s) }, nil
}

// remove ends subscription s, unsubscribing the node from the channel when
// it was the last one. It may run from the subscription's own callback.
func (b *Bus) remove(name string, t *topic, s *sub) {
	s.Stop()
	b.opMu.Lock()
	defer b.opMu.Unlock()
	b.mu.Lock()
	if _, ok := t.subs[s]; !ok {
		b.mu.Unlock()
		return
	}
	delete(t.subs, s)
	last := len(t.subs) == 0 && b.topics[name] == t
	if last {
		delete(b.topics, name)
	}
	ps := b.ps
	b.mu.Unlock()
	if !last || b.closed.Load() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ps.Unsubscribe(ctx, name); err != nil {
		// go-redis has forgotten the channel all the same: a reconnection
		// will not subscribe to it, and until then its messages find no
		// topic and are dropped.
		b.log.Warn("redis bus: unsubscribe failed", "channel", t.channel, "err", err)
	}
}

// reader dispatches everything the pub/sub connection receives; it never
// blocks on a subscriber. A SUBSCRIBE confirmed a second time means
// go-redis reconnected and resubscribed: messages published meanwhile were
// lost, so the channel's subscribers are told to catch up.
//
// It reads the connection itself rather than through go-redis's message
// channel: that channel adds a goroutine hand-off to every message, which on
// a quiet node means waking a sleeping core once more per pop.
func (b *Bus) reader(ps *redis.PubSub, done chan<- struct{}) {
	defer close(done)
	failures := 0
	for {
		v, err := ps.ReceiveTimeout(context.Background(), healthCheck)
		if err != nil {
			if b.closed.Load() || errors.Is(err, redis.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Quiet for a while: a ping proves the connection is alive,
				// or fails and makes the next receive reconnect.
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_ = ps.Ping(ctx)
				cancel()
				continue
			}
			failures++
			if failures > 1 {
				time.Sleep(min(time.Duration(failures)*100*time.Millisecond, 2*time.Second))
			}
			continue
		}
		failures = 0
		switch m := v.(type) {
		case *redis.Subscription:
			if m.Kind != "subscribe" {
				continue
			}
			b.mu.Lock()
			t := b.topics[m.Channel]
			switch {
			case t == nil:
			case !t.confirmed:
				t.confirmed = true
				close(t.ready)
			default:
				b.log.Debug("redis bus: resubscribed; subscribers catch up from history", "channel", t.channel)
				for s := range t.subs {
					s.Push(screenpop.Message{Channel: t.channel})
				}
			}
			b.mu.Unlock()
		case *redis.Message:
			msg, ok := decodeLive("", m.Payload)
			if !ok {
				b.log.Warn("redis bus: skipping a malformed pub/sub message", "channel", m.Channel, "bytes", len(m.Payload))
				continue
			}
			b.mu.Lock()
			if t := b.topics[m.Channel]; t != nil {
				msg.Channel = t.channel
				for s := range t.subs {
					s.Push(msg)
				}
			}
			b.mu.Unlock()
		}
	}
}

// healthCheck is how long the pub/sub connection may be silent before it
// is pinged.
const healthCheck = 30 * time.Second

// Close ends every subscription and the pub/sub connection, and waits for
// the reader; a callback already running finishes on its own. The client
// stays open for its owner.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed.Swap(true) {
		b.mu.Unlock()
		return nil
	}
	close(b.closing)
	for _, t := range b.topics {
		for s := range t.subs {
			s.Stop()
		}
	}
	clear(b.topics)
	ps, read := b.ps, b.read
	b.mu.Unlock()
	if ps == nil {
		return nil
	}
	err := ps.Close()
	<-read
	if err != nil {
		return fmt.Errorf("redis bus: close: %w", err)
	}
	return nil
}

// sub is one local subscription.
type sub = subq.Sub

// Package membus is the in-process screenpop bus: the default for a single
// Tamas node. History lives in memory, so a restart starts a new epoch.
package membus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"github.com/tamas-cc/tamas/screenpop"
	"github.com/tamas-cc/tamas/screenpop/internal/subq"
)

var _ screenpop.Bus = (*Bus)(nil)

// Bus is an in-process [screenpop.Bus].
type Bus struct {
	epoch string
	ret   screenpop.Retention
	now   func() time.Time

	mu     sync.Mutex
	chans  map[string]*channel
	closed bool
}

type channel struct {
	seq  uint64
	ring []screenpop.Message // retained, oldest first
	subs map[*sub]struct{}
}

// New returns a bus keeping ret per channel (DefaultRetention when zero).
func New(ret screenpop.Retention) *Bus {
	if ret.Messages <= 0 {
		ret.Messages = screenpop.DefaultRetention.Messages
	}
	if ret.Age <= 0 {
		ret.Age = screenpop.DefaultRetention.Age
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &Bus{epoch: hex.EncodeToString(b[:]), ret: ret, now: time.Now, chans: map[string]*channel{}}
}

var errClosed = errors.New("membus: closed")

func (b *Bus) ch(name string) *channel {
	c := b.chans[name]
	if c == nil {
		c = &channel{subs: map[*sub]struct{}{}}
		b.chans[name] = c
	}
	return c
}

// Publish implements screenpop.Bus.
func (b *Bus) Publish(ctx context.Context, channel string, data []byte) (screenpop.Message, error) {
	if err := ctx.Err(); err != nil {
		return screenpop.Message{}, err
	}
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return screenpop.Message{}, errClosed
	}
	c := b.ch(channel)
	c.seq++
	m := screenpop.Message{Channel: channel, Epoch: b.epoch, Seq: c.seq, Time: now, Data: append([]byte(nil), data...)}
	c.ring = append(c.ring, m)
	b.trim(c, now)
	for s := range c.subs {
		s.Push(m)
	}
	return m, nil
}

func (b *Bus) trim(c *channel, now time.Time) {
	drop := 0
	if n := len(c.ring) - b.ret.Messages; n > 0 {
		drop = n
	}
	for drop < len(c.ring) && now.Sub(c.ring[drop].Time) > b.ret.Age {
		drop++
	}
	if drop > 0 {
		// Reslicing rather than copying keeps a full channel's publish
		// O(1): append moves the survivors only when capacity runs out.
		clear(c.ring[:drop])
		c.ring = c.ring[drop:]
	}
}

// Subscribe implements screenpop.Bus.
func (b *Bus) Subscribe(ctx context.Context, channel string, fn func(screenpop.Message)) (func(), error) {
	if fn == nil {
		return nil, errors.New("membus: subscribe without a callback")
	}
	s := subq.New(fn)
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, errClosed
	}
	b.ch(channel).subs[s] = struct{}{}
	b.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			if c := b.chans[channel]; c != nil {
				delete(c.subs, s)
			}
			b.mu.Unlock()
			s.Stop()
		})
	}, nil
}

// History implements screenpop.Bus.
func (b *Bus) History(ctx context.Context, channel, epoch string, after uint64, limit int) ([]screenpop.Message, screenpop.Position, error) {
	if err := ctx.Err(); err != nil {
		return nil, screenpop.Position{}, err
	}
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.chans[channel]
	pos := screenpop.Position{Epoch: b.epoch}
	if c == nil {
		if epoch != "" && (epoch != b.epoch || after > 0) {
			return nil, pos, screenpop.ErrHistoryGone
		}
		return nil, pos, nil
	}
	b.trim(c, now)
	pos.Seq = c.seq
	if epoch == "" {
		ring := c.ring
		if limit > 0 && len(ring) > limit {
			ring = ring[len(ring)-limit:]
		}
		return append([]screenpop.Message(nil), ring...), pos, nil
	}
	if epoch != b.epoch || after > c.seq {
		return nil, pos, screenpop.ErrHistoryGone
	}
	if after == c.seq {
		return nil, pos, nil
	}
	if len(c.ring) == 0 || c.ring[0].Seq > after+1 {
		return nil, pos, screenpop.ErrHistoryGone
	}
	i := int(after + 1 - c.ring[0].Seq)
	out := c.ring[i:]
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return append([]screenpop.Message(nil), out...), pos, nil
}

// Position implements screenpop.Bus.
func (b *Bus) Position(ctx context.Context, channel string) (screenpop.Position, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	pos := screenpop.Position{Epoch: b.epoch}
	if c := b.chans[channel]; c != nil {
		pos.Seq = c.seq
	}
	return pos, nil
}

// Close stops publishing and ends every subscription; a callback already
// running finishes on its own.
func (b *Bus) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for _, c := range b.chans {
		for s := range c.subs {
			s.Stop()
		}
		clear(c.subs)
	}
	return nil
}

// sub is one local subscription.
type sub = subq.Sub

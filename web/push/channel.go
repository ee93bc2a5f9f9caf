package push

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/tamas-cc/tamas/screenpop"
)

// channel is one bus channel that consoles on this node listen to. Each
// member (one console's view of the channel) keeps its own position, so a
// console that is catching up never holds back the ones that are live.
type channel struct {
	hub    *Hub
	name   string
	cancel func()
	refs   int // guarded by hub.mu

	mu    sync.Mutex
	conns map[*conn]*member
}

type member struct {
	c       *conn
	epoch   string
	seq     uint64
	syncing bool
	pending []screenpop.Message
}

// deliver receives the channel's live messages from the bus.
func (ch *channel) deliver(m screenpop.Message) {
	if m.Seq == 0 && m.Data == nil {
		// The bus may have missed messages: everyone catches up.
		ch.mu.Lock()
		var stale []*member
		for _, mb := range ch.conns {
			if !mb.syncing {
				mb.syncing = true
				stale = append(stale, mb)
			}
		}
		ch.mu.Unlock()
		for _, mb := range stale {
			ch.sync(mb)
		}
		return
	}
	if !json.Valid(m.Data) {
		ch.hub.log.Error("push: dropped a message that is not JSON", "channel", ch.name, "seq", m.Seq)
		ch.hub.m.dropped.Inc()
		return
	}
	var f []byte // encoded once, shared by every console on the channel
	var gaps []*member
	ch.mu.Lock()
	for _, mb := range ch.conns {
		if mb.syncing {
			mb.pending = append(mb.pending, m)
			continue
		}
		switch {
		case m.Epoch == mb.epoch && m.Seq <= mb.seq:
			// Already sent from history.
		case m.Epoch == mb.epoch && m.Seq == mb.seq+1:
			if f == nil {
				f = messageFrame(m)
			}
			mb.c.enqueue(f)
			mb.seq = m.Seq
		default:
			// A gap or a new epoch: read what is missing from history.
			mb.syncing = true
			mb.pending = append(mb.pending, m)
			gaps = append(gaps, mb)
		}
	}
	ch.mu.Unlock()
	for _, mb := range gaps {
		ch.sync(mb)
	}
}

// sync brings a member up to date from the bus history, then releases the
// live messages that arrived meanwhile. Reading history may take a round
// trip to Redis; the member's live messages wait in pending, in order.
func (ch *channel) sync(mb *member) {
	for round := 0; ; round++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ch.mu.Lock()
		epoch, after := mb.epoch, mb.seq
		ch.mu.Unlock()
		limit := ch.hub.o.ReplayLimit
		if epoch == "" {
			limit = ch.hub.o.FreshLimit
		}
		msgs, pos, err := ch.hub.o.Bus.History(ctx, ch.name, epoch, after, limit)
		reset := false
		if errors.Is(err, screenpop.ErrHistoryGone) {
			reset = true
			msgs, pos, err = ch.hub.o.Bus.History(ctx, ch.name, "", 0, ch.hub.o.FreshLimit)
		}
		cancel()
		if err != nil {
			ch.hub.log.Error("push: reading channel history failed", "channel", ch.name, "user", mb.c.client.Username, "err", err)
			mb.c.shutdown(closeTryAgain, "history unavailable")
			return
		}
		ch.mu.Lock()
		if _, ok := ch.conns[mb.c]; !ok {
			ch.mu.Unlock()
			return
		}
		if reset {
			if epoch != "" {
				ch.hub.m.resets.Inc()
				mb.c.catchUpFrame(resetFrame(ch.name, pos))
			}
			mb.epoch, mb.seq = pos.Epoch, 0
			if len(msgs) > 0 {
				mb.seq = msgs[0].Seq - 1
			} else {
				mb.seq = pos.Seq
			}
		} else if mb.epoch == "" {
			mb.epoch = pos.Epoch
		}
		for _, m := range msgs {
			if m.Epoch == mb.epoch && m.Seq > mb.seq {
				mb.c.catchUp(m)
				mb.seq = m.Seq
				ch.hub.m.replayed.Inc()
			}
		}
		// Releasing pending messages: in order and once, or another round
		// when history could not give everything (a limit, a new gap).
		gap := false
		pending := mb.pending
		mb.pending = nil
		for i, m := range pending {
			if m.Epoch != mb.epoch && mb.epoch == pos.Epoch {
				continue // from an epoch history no longer has
			}
			if m.Epoch == mb.epoch && m.Seq <= mb.seq {
				continue
			}
			if m.Epoch == mb.epoch && m.Seq == mb.seq+1 {
				mb.c.catchUp(m)
				mb.seq = m.Seq
				continue
			}
			gap = true
			mb.pending = append(mb.pending, pending[i:]...)
			break
		}
		if !gap && (len(msgs) < limit || reset || epoch == "" || mb.seq >= pos.Seq) {
			mb.syncing = false
			ch.mu.Unlock()
			return
		}
		ch.mu.Unlock()
		if round > 1000 {
			mb.c.shutdown(closeTryAgain, "cannot catch up")
			return
		}
	}
}

func (ch *channel) add(mb *member) {
	ch.mu.Lock()
	ch.conns[mb.c] = mb
	ch.mu.Unlock()
}

func (ch *channel) remove(c *conn) {
	ch.mu.Lock()
	delete(ch.conns, c)
	ch.mu.Unlock()
}

func messageFrame(m screenpop.Message) []byte {
	b := make([]byte, 0, len(m.Data)+len(m.Channel)+len(m.Epoch)+64)
	b = append(b, `{"type":"message","channel":`...)
	b = appendString(b, m.Channel)
	b = append(b, `,"epoch":`...)
	b = appendString(b, m.Epoch)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, m.Seq, 10)
	b = append(b, `,"data":`...)
	b = append(b, m.Data...)
	return append(b, '}')
}

func resetFrame(channel string, pos screenpop.Position) []byte {
	b, _ := json.Marshal(struct {
		Type    string `json:"type"`
		Channel string `json:"channel"`
		Epoch   string `json:"epoch"`
		Seq     uint64 `json:"seq"`
	}{"reset", channel, pos.Epoch, pos.Seq})
	return b
}

func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(b, q...)
}

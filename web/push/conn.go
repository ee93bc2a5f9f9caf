package push

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tamas-cc/tamas/screenpop"
)

// Close codes a console may see, beside the standard ones. 4xxx codes are
// the application's (RFC 6455 §7.4.2); the console tells the user, and
// goes back to the login page on closeSessionEnded.
const (
	closeSessionEnded = 4001 // log in again
	closeBadFrame     = 4400 // the console sent something we cannot read
	closeTooSlow      = 4408 // the console did not read its frames in time
	closeFuture       = 4409 // a seq from the future: the console must start afresh
	closeTryAgain     = 4503 // this node cannot serve now; reconnect
)

// hello is the console's first frame: where it stands on each channel.
type hello struct {
	Type   string `json:"type"`
	Resume []struct {
		Channel string `json:"channel"`
		Epoch   string `json:"epoch"`
		Seq     uint64 `json:"seq"`
	} `json:"resume"`
}

type conn struct {
	hub    *Hub
	ws     *websocket.Conn
	client Client
	done   chan struct{}

	// Frames wait in queue for a writer goroutine that exists only while
	// there is something to write, and a timer (no goroutine) sends pings
	// and re-checks the session: an idle console costs one goroutine, its
	// reader. live counts the queued frames that show whether the console
	// keeps up; catch-up frames do not.
	qmu       sync.Mutex
	queue     []outFrame
	live      int
	writing   bool
	stopped   bool
	writers   sync.WaitGroup
	timer     *time.Timer
	lastCheck time.Time

	once    sync.Once
	reason  string
	closing sync.WaitGroup
}

// ServeConsole upgrades the request to a websocket and serves the console
// until it leaves. The caller has authenticated c and checked the Origin.
func (h *Hub) ServeConsole(w http.ResponseWriter, r *http.Request, cl Client) {
	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		h.log.Info("push: websocket upgrade failed", "user", cl.Username, "err", err)
		return
	}
	c := &conn{hub: h, ws: ws, client: cl, done: make(chan struct{}), lastCheck: time.Now()}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		c.shutdown(websocket.CloseGoingAway, "server shutting down")
		c.closing.Wait()
		ws.Close()
		return
	}
	h.conns[c] = struct{}{}
	h.wg.Add(1)
	h.mu.Unlock()
	h.m.conns.Inc()
	defer func() {
		h.mu.Lock()
		delete(h.conns, c)
		h.mu.Unlock()
		h.m.conns.Dec()
		h.wg.Done()
	}()

	c.timer = time.AfterFunc(time.Hour, c.tick)
	c.timer.Reset(c.nextTick())
	defer func() {
		c.shutdown(websocket.CloseNormalClosure, "")
		c.writers.Wait()
		c.closing.Wait()
		c.drain()
		ws.Close()
	}()

	ws.SetReadLimit(h.o.MaxFrame)
	_ = ws.SetReadDeadline(time.Now().Add(h.o.HelloTimeout))
	typ, data, ok := c.next()
	if !ok {
		return
	}
	hi, err := parseHello(typ, data, h.o.MaxFrame)
	if err != nil {
		code := closeBadFrame
		if errors.Is(err, errHelloTooBig) {
			code = websocket.CloseMessageTooBig
		}
		c.fail(code, err.Error())
		return
	}
	_ = ws.SetReadDeadline(time.Now().Add(h.o.PongWait))
	ws.SetPongHandler(func(string) error {
		return ws.SetReadDeadline(time.Now().Add(h.o.PongWait))
	})

	if !c.checkResume(r.Context(), &hi) {
		return
	}
	c.enqueue(welcomeFrame(cl))
	for _, name := range cl.Channels {
		mb := &member{c: c, syncing: true}
		// Only the client's own channels can be resumed: a position for
		// anyone else's channel is ignored, never subscribed.
		for _, rp := range hi.Resume {
			if rp.Channel == name {
				mb.epoch, mb.seq = rp.Epoch, rp.Seq
			}
		}
		ch, err := h.join(r.Context(), name)
		if err != nil {
			h.log.Error("push: subscribing failed", "channel", name, "err", err)
			c.fail(closeTryAgain, "subscription failed")
			return
		}
		ch.add(mb)
		defer func() {
			ch.remove(c)
			h.leave(ch)
		}()
		ch.sync(mb)
	}

	// The console only answers pings and may send keep-alive frames; any
	// frame it sends must still be well-formed.
	for {
		var f struct {
			Type string `json:"type"`
		}
		if !c.read(&f) {
			return
		}
		if f.Type != "ping" {
			c.fail(closeBadFrame, "unexpected frame")
			return
		}
	}
}

// checkResume refuses a console claiming to have seen messages that were
// never published: its state cannot be trusted, so it must start afresh.
func (c *conn) checkResume(ctx context.Context, hi *hello) bool {
	for _, rp := range hi.Resume {
		if rp.Epoch == "" || !slices.Contains(c.client.Channels, rp.Channel) {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		pos, err := c.hub.o.Bus.Position(pctx, rp.Channel)
		cancel()
		if err != nil {
			c.hub.log.Error("push: channel position unavailable", "channel", rp.Channel, "err", err)
			c.fail(closeTryAgain, "history unavailable")
			return false
		}
		if pos.Epoch == rp.Epoch && rp.Seq > pos.Seq {
			c.fail(closeFuture, "sequence from the future")
			return false
		}
	}
	return true
}

// Why a first frame is refused; the text is the close reason.
var (
	errHelloTooBig    = errors.New("frame too large")
	errHelloMalformed = errors.New("malformed frame")
	errNotHello       = errors.New("expected hello")
)

// parseHello reads the console's first frame, of websocket message type
// typ. The websocket's read limit already stops frames over max bytes; the
// check is repeated so that what this accepts does not depend on the
// caller.
func parseHello(typ int, data []byte, max int64) (hello, error) {
	var hi hello
	if int64(len(data)) > max {
		return hello{}, errHelloTooBig
	}
	if typ != websocket.TextMessage || json.Unmarshal(data, &hi) != nil {
		return hello{}, errHelloMalformed
	}
	if hi.Type != "hello" {
		return hello{}, errNotHello
	}
	return hi, nil
}

// read reads one JSON frame into v; on failure it closes the console with
// the reason and reports false.
func (c *conn) read(v any) bool {
	typ, data, ok := c.next()
	if !ok {
		return false
	}
	if typ != websocket.TextMessage || json.Unmarshal(data, v) != nil {
		c.fail(closeBadFrame, "malformed frame")
		return false
	}
	return true
}

// next reads one frame; on failure it closes the console with the reason
// and reports false.
func (c *conn) next() (int, []byte, bool) {
	typ, data, err := c.ws.ReadMessage()
	if err != nil {
		switch {
		case errors.Is(err, websocket.ErrReadLimit):
			c.fail(websocket.CloseMessageTooBig, "frame too large")
		case isTimeout(err):
			c.fail(closeBadFrame, "timed out")
		default:
			c.disconnected(err)
		}
		return 0, nil, false
	}
	return typ, data, true
}

// drain reads and discards what the console still sends, for up to a
// second, so that closing the socket does not reset it before the console
// has read our close frame.
func (c *conn) drain() {
	nc := c.ws.UnderlyingConn()
	_ = nc.SetReadDeadline(time.Now().Add(time.Second))
	_, _ = io.Copy(io.Discard, nc)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// fail closes the console for something it did, and logs why.
func (c *conn) fail(code int, reason string) {
	c.hub.log.Warn("push: closing console", "user", c.client.Username, "code", code, "reason", reason)
	c.shutdown(code, reason)
}

func (c *conn) disconnected(err error) {
	select {
	case <-c.done:
		return // we closed it, and counted why
	default:
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		c.hub.log.Debug("push: console left", "user", c.client.Username, "code", ce.Code)
	} else {
		c.hub.log.Debug("push: console connection lost", "user", c.client.Username, "err", err)
	}
	c.hub.m.closes.WithLabelValues("client").Inc()
}

// shutdown sends a close frame once and stops the writer; the reader ends
// when the console answers or its deadline passes.
func (c *conn) shutdown(code int, reason string) {
	c.once.Do(func() {
		c.reason = reason
		c.qmu.Lock()
		c.stopped = true
		c.qmu.Unlock()
		if c.timer != nil {
			c.timer.Stop()
		}
		if reason != "" {
			c.hub.m.closes.WithLabelValues(closeLabel(code)).Inc()
		}
		close(c.done)
		_ = c.ws.SetReadDeadline(time.Now().Add(time.Second))
		// Writing the close frame may wait on a console that does not read;
		// whoever called shutdown (perhaps with a channel locked) must not.
		c.closing.Go(func() {
			msg := websocket.FormatCloseMessage(code, reason)
			_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		})
	})
}

// outFrame is one queued frame: data, or a history message the writer
// encodes, or a ping (so that pings and frames are written by the same
// goroutine).
//
// Catch-up (history sent on connect, on a reset, or to fill a gap, and the
// live messages held back meanwhile) is not live: it arrives all at once,
// bounded by the replay limits and the retention, before the console had
// any chance to fall behind. Counting it against SendQueue cut off every
// console owed more than SendQueue messages, on each reconnect. Only live
// frames waiting say a console is slow; a console that stops reading
// during a catch-up still meets the write timeout, and the live frames
// piling up behind.
type outFrame struct {
	data []byte
	msg  screenpop.Message
	ping bool
	live bool
}

// enqueue hands a live frame to the writer without ever waiting: a
// console with SendQueue live frames waiting is cut off, so it cannot slow
// anyone down.
func (c *conn) enqueue(f []byte) { c.push(outFrame{data: f, live: true}) }

// catchUp queues m from history; see outFrame.
func (c *conn) catchUp(m screenpop.Message) { c.push(outFrame{msg: m}) }

// catchUpFrame queues a frame that is part of a catch-up, such as a reset.
func (c *conn) catchUpFrame(f []byte) { c.push(outFrame{data: f}) }

func (c *conn) push(f outFrame) {
	c.qmu.Lock()
	if c.stopped {
		c.qmu.Unlock()
		return
	}
	if f.live {
		if c.live >= c.hub.o.SendQueue {
			c.qmu.Unlock()
			c.fail(closeTooSlow, "too slow")
			return
		}
		c.live++
	}
	c.queue = append(c.queue, f)
	start := !c.writing
	if start {
		c.writing = true
		c.writers.Add(1)
	}
	c.qmu.Unlock()
	if start {
		go c.write()
	}
}

// write drains the queue and returns when it is empty.
func (c *conn) write() {
	defer c.writers.Done()
	o := &c.hub.o
	for {
		c.qmu.Lock()
		if len(c.queue) == 0 || c.stopped {
			c.queue = nil // an idle console keeps no buffer
			c.live = 0
			c.writing = false
			c.qmu.Unlock()
			return
		}
		f := c.queue[0]
		c.queue[0] = outFrame{}
		c.queue = c.queue[1:]
		if f.live {
			c.live--
		}
		c.qmu.Unlock()
		var err error
		if f.ping {
			err = c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(o.WriteTimeout))
		} else {
			if f.data == nil {
				f.data = messageFrame(f.msg)
			}
			_ = c.ws.SetWriteDeadline(time.Now().Add(o.WriteTimeout))
			if err = c.ws.WriteMessage(websocket.TextMessage, f.data); err == nil {
				c.hub.m.frames.Inc()
			}
		}
		if err != nil {
			c.hub.log.Debug("push: write failed", "user", c.client.Username, "err", err)
			c.shutdown(closeTooSlow, "write failed")
			return
		}
	}
}

// tick pings the console and, every CheckInterval, re-checks its session.
func (c *conn) tick() {
	select {
	case <-c.done:
		return
	default:
	}
	c.push(outFrame{ping: true, live: true})
	if c.client.Check != nil && time.Since(c.lastCheck) >= c.hub.o.CheckInterval {
		c.lastCheck = time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := c.client.Check(ctx)
		cancel()
		if err != nil {
			c.hub.log.Info("push: session ended", "user", c.client.Username, "err", err)
			c.shutdown(closeSessionEnded, "session ended")
			return
		}
	}
	c.timer.Reset(c.nextTick())
}

func (c *conn) nextTick() time.Duration {
	return min(c.hub.o.PingInterval, c.hub.o.CheckInterval)
}

func welcomeFrame(cl Client) []byte {
	b, _ := json.Marshal(struct {
		Type     string   `json:"type"`
		User     string   `json:"user"`
		Role     string   `json:"role"`
		Channels []string `json:"channels"`
	}{"welcome", cl.Username, cl.Role, slices.Clone(cl.Channels)})
	return b
}

func closeLabel(code int) string {
	switch code {
	case closeSessionEnded:
		return "session_ended"
	case closeBadFrame:
		return "bad_frame"
	case closeTooSlow:
		return "too_slow"
	case closeFuture:
		return "future_seq"
	case closeTryAgain:
		return "unavailable"
	case websocket.CloseMessageTooBig:
		return "too_big"
	case websocket.CloseGoingAway:
		return "shutdown"
	}
	return "other"
}

// Package push delivers bus channels to agent consoles over websockets. A
// console names the last message it saw on each channel and gets what it
// missed, then everything new, in order, once. One slow console is cut off
// rather than allowed to hold up anyone else.
//
// The hub is transport only: it does not know what a pop is, and it trusts
// its caller (package web) to have checked the session and the Origin.
package push

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tamas-cc/tamas/screenpop"
)

// Client is an authenticated console about to connect.
type Client struct {
	Username string
	Role     string
	// Channels the console receives, e.g. its user channel and, for
	// supervisors, the supervisor channel.
	Channels []string
	// Check is re-run every Options.CheckInterval; an error (the session
	// was logged out or expired) closes the console.
	Check func(ctx context.Context) error
}

// Options tune a Hub. Zero values take the defaults shown.
type Options struct {
	Bus    screenpop.Bus
	Logger *slog.Logger
	// Registry receives the hub's metrics; nil means none.
	Registry prometheus.Registerer
	// SendQueue is how many live frames may wait for a slow console before
	// it is disconnected (64: a call makes a handful). Catch-up from
	// history does not count: a console owed the whole replay window gets
	// it at once.
	SendQueue int
	// WriteTimeout bounds one frame's write (10 s).
	WriteTimeout time.Duration
	// PingInterval is how often the hub pings (25 s); a console silent for
	// PongWait (60 s) is gone.
	PingInterval time.Duration
	PongWait     time.Duration
	// HelloTimeout bounds the wait for the console's first frame (10 s).
	HelloTimeout time.Duration
	// MaxFrame is the largest frame a console may send (4 KiB).
	MaxFrame int64
	// CheckInterval is how often the session is re-checked (30 s).
	CheckInterval time.Duration
	// ReplayLimit caps the messages replayed to a resuming console per
	// channel (500); FreshLimit, those sent to a console that saw nothing
	// yet (100), so a reload brings back the calls in progress.
	ReplayLimit int
	FreshLimit  int
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.WriteTimeout, 10*time.Second)
	def(&o.PingInterval, 25*time.Second)
	def(&o.PongWait, 60*time.Second)
	def(&o.HelloTimeout, 10*time.Second)
	def(&o.CheckInterval, 30*time.Second)
	if o.SendQueue <= 0 {
		o.SendQueue = 64
	}
	if o.MaxFrame <= 0 {
		o.MaxFrame = 4 << 10
	}
	if o.ReplayLimit <= 0 {
		o.ReplayLimit = 500
	}
	if o.FreshLimit <= 0 {
		o.FreshLimit = 100
	}
}

// Hub holds this node's consoles and one bus subscription per channel any
// of them listens to.
type Hub struct {
	o        Options
	log      *slog.Logger
	upgrader websocket.Upgrader
	m        *metrics

	mu       sync.Mutex
	channels map[string]*channel
	conns    map[*conn]struct{}
	closed   bool
	wg       sync.WaitGroup
}

// New returns a hub delivering o.Bus's channels.
func New(o Options) *Hub {
	o.defaults()
	h := &Hub{o: o, log: o.Logger, channels: map[string]*channel{}, conns: map[*conn]struct{}{}}
	h.upgrader = websocket.Upgrader{
		// Small buffers and a shared write pool keep an idle console cheap:
		// frames are short JSON, and most consoles are idle most of the time.
		ReadBufferSize:  512,
		WriteBufferSize: 4096,
		WriteBufferPool: &sync.Pool{},
		// web checks the Origin against its policy before calling us.
		CheckOrigin:       func(*http.Request) bool { return true },
		HandshakeTimeout:  10 * time.Second,
		EnableCompression: false,
	}
	h.m = newMetrics(o.Registry)
	return h
}

// Close disconnects every console ("going away") and drops the bus
// subscriptions.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	conns := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.shutdown(websocket.CloseGoingAway, "server shutting down")
	}
	h.wg.Wait()
}

// Connections returns how many consoles are connected to this node.
func (h *Hub) Connections() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

var errClosed = errors.New("push: hub closed")

// join adds c to a channel, subscribing to the bus for the first console.
func (h *Hub) join(ctx context.Context, name string) (*channel, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, errClosed
	}
	ch := h.channels[name]
	if ch == nil {
		ch = &channel{hub: h, name: name, conns: map[*conn]*member{}}
		cancel, err := h.o.Bus.Subscribe(ctx, name, ch.deliver)
		if err != nil {
			return nil, err
		}
		ch.cancel = cancel
		h.channels[name] = ch
	}
	ch.refs++
	return ch, nil
}

func (h *Hub) leave(ch *channel) {
	h.mu.Lock()
	ch.refs--
	last := ch.refs == 0
	if last {
		delete(h.channels, ch.name)
	}
	h.mu.Unlock()
	if last {
		ch.cancel()
	}
}

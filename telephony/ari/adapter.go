package ari

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tamas-cc/tamas/telephony"
	"github.com/tamas-cc/tamas/telephony/dispatch"
)

// ErrApplicationReplaced is returned by Run when another websocket took
// over the Stasis application.
var ErrApplicationReplaced = errors.New("ari: application taken over by another connection")

// handledTypes are the event types the adapter asks Asterisk for (the
// application's event filter). Everything else is traffic the product has
// no use for: ChannelVarset alone is most of a call's events.
var handledTypes = []string{
	"StasisStart", "StasisEnd", "ChannelStateChange", "ChannelDtmfReceived",
	"ChannelHangupRequest", "ChannelDestroyed", "ChannelEnteredBridge", "ChannelLeftBridge",
	"ChannelHold", "ChannelUnhold", "ChannelTransfer", "BridgeBlindTransfer",
	"BridgeAttendedTransfer", "BridgeDestroyed", "PlaybackFinished", "ApplicationReplaced", "RecordingStarted",
}

// Adapter connects to one Asterisk server. It implements telephony.Source
// and telephony.Control; Control methods may be called from any goroutine,
// before, during or after Run.
//
// For several Asterisk servers, build one Adapter per server, each with its
// own Config.Name (it becomes Call.PBX and the "pbx" metric label; the
// adapters may share one prometheus.Registerer), run each, and send call
// control for a call to the adapter whose Name equals the call's PBX.
//
// What Asterisk does, and what the adapter makes of it:
//   - StasisStart starts a call: inbound, or outbound for a channel this
//     adapter originated, one Asterisk reported before it entered the
//     application (it only does for channels originated into it), or one
//     in a state only outbound channels have (Down, Dialing, Ringing).
//     Caller from channel.caller; DNIS from the first Stasis argument
//     (Stasis(tamas,${EXTEN})), else dialplan.exten.
//   - StasisEnd ends it: for inbound channels ChannelDestroyed usually never
//     comes. The cause is the one asked for through Hangup, else that of the
//     last ChannelHangupRequest that was not soft (after an ARI hang-up
//     Asterisk sends cause 32 with soft=true: a flag, not a cause), else
//     normal_clearing; a channel that leaves without hanging up ends with
//     CauseLeftApplication. ChannelDestroyed ends originated calls that
//     never entered the application.
//   - A frame identical to a recent one is dropped as a repeat: with
//     endpoint or device-state subscriptions Asterisk sends some channel
//     events twice. Each call event is also produced at most once.
//   - After every (re)connection the adapter sets the application's event
//     filter to the types it handles (most of a call's traffic is
//     ChannelVarset, which it does not), then resynchronises: if Asterisk
//     restarted, every tracked call ended "lost"; otherwise tracked calls
//     no longer in the application end "lost" — as of the moment the
//     connection dropped, the last they were known to exist, not the
//     reconnection — those still there are
//     resumed, and callers that arrived meanwhile — left waiting in Stasis
//     with no application connected — are adopted as new calls, or hung up
//     (Config.Orphans).
//   - ApplicationReplaced (another connection took the application name)
//     stops the adapter, with an error-level log and a metric: reconnecting
//     would take the name back and start a fight in which each side keeps
//     cutting the other off. Run ends the calls with cause "lost" and
//     returns ErrApplicationReplaced.
//   - Anything else — unknown event types, frames that are not JSON, events
//     for channels the adapter does not track — is counted and logged at a
//     bounded rate, never fatal.
//
// Calls still up when Run's context ends get no Ended: they go on in
// Asterisk, and the next Tamas to connect resumes or adopts them.
type Adapter struct {
	cfg   Config
	log   *slog.Logger
	m     *metrics
	rest  *restClient
	wsURL string
	auth  string // Authorization header value
	lim   *dispatch.LogLimiter
	q     *dispatch.Queue
	seed  maphash.Seed

	started   atomic.Bool
	connected atomic.Bool
	stop      chan struct{} // closed when Run is shutting down

	// Reader-goroutine state: no lock needed.
	dedupe       dedupe
	buf          bytes.Buffer
	typeCounters map[string]prometheus.Counter
	// heard is when Asterisk was last heard from (a frame or a pong);
	// droppedAt when the last connection was found dropped, or, if it fell
	// silent, when it was last heard. Both run on Asterisk's side only as
	// far as this clock can tell.
	heard     time.Time
	droppedAt time.Time

	mu        sync.Mutex
	calls     map[string]*callState
	internal  map[string]chan struct{} // snoop channels: closed at their StasisStart
	preStasis map[string]bool          // channels active before entering the application
	ended     recentSet
	bridges   map[string]bool // bridges this adapter created
	playbacks map[string]chan string
	identity  string // entity id and start time of the Asterisk last seen
	closing   bool   // no new background work
	bg        sync.WaitGroup
}

var (
	_ telephony.Source  = (*Adapter)(nil)
	_ telephony.Control = (*Adapter)(nil)
)

// New checks cfg and prepares an adapter; Run connects it. Metrics are
// registered on reg when it is not nil, labelled pbx=cfg.Name, so several
// adapters can share a registry as long as their names differ.
func New(cfg Config, logger *slog.Logger, reg prometheus.Registerer) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	u, _ := url.Parse(strings.TrimRight(cfg.URL, "/"))
	ws := *u
	ws.Scheme = "ws"
	if u.Scheme == "https" {
		ws.Scheme = "wss"
	}
	ws.Path += "/events"
	ws.RawQuery = url.Values{"app": {cfg.Application}}.Encode()
	m, err := newMetrics(cfg.Name, reg)
	if err != nil {
		return nil, err
	}
	log := logger.With("pbx", cfg.Name)
	lim := dispatch.NewLogLimiter(10*time.Second, 1)
	return &Adapter{
		cfg:          cfg,
		log:          log,
		m:            m,
		rest:         newRESTClient(cfg, m),
		wsURL:        ws.String(),
		auth:         "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.Username+":"+cfg.Password)),
		lim:          lim,
		q:            dispatch.New(dispatch.Config{Name: "ari", Size: cfg.EventBuffer, Dropped: m.dropped, Log: log, Limiter: lim}),
		seed:         maphash.MakeSeed(),
		stop:         make(chan struct{}),
		typeCounters: map[string]prometheus.Counter{},
		calls:        map[string]*callState{},
		internal:     map[string]chan struct{}{},
		preStasis:    map[string]bool{},
		ended:        newRecentSet(4096),
		bridges:      map[string]bool{},
		playbacks:    map[string]chan string{},
	}, nil
}

// Name is the configured name of the Asterisk server (Call.PBX).
func (a *Adapter) Name() string { return a.cfg.Name }

// Connected reports whether the event websocket is up and resynchronised.
func (a *Adapter) Connected() bool { return a.connected.Load() }

// Run connects, resynchronises and delivers events to h from a single
// goroutine until ctx ends, reconnecting with backoff whenever the
// connection fails. It returns nil once ctx has ended, or
// ErrApplicationReplaced. An Adapter runs once.
func (a *Adapter) Run(ctx context.Context, h telephony.Handler) error {
	if !a.started.CompareAndSwap(false, true) {
		return errors.New("ari: adapter already run")
	}
	a.q.Start(ctx, h)

	runErr := a.loop(ctx)

	close(a.stop)
	shutdown, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	a.mu.Lock()
	a.closing = true
	a.mu.Unlock()
	bgDone := make(chan struct{})
	go func() { a.bg.Wait(); close(bgDone) }()
	select {
	case <-bgDone:
	case <-shutdown.Done():
		a.log.Warn("ari: clean-up requests still running at shutdown")
	}
	if err := a.q.Stop(shutdown); err != nil {
		return errors.Join(runErr, fmt.Errorf("ari: %w", err))
	}
	<-bgDone
	a.rest.close()
	a.log.Info("ari: adapter stopped")
	return runErr
}

// loop keeps a connection up until ctx ends or the application is taken over.
func (a *Adapter) loop(ctx context.Context) error {
	attempt := 0
	for {
		began := time.Now()
		established, err := a.connectOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrApplicationReplaced) {
			return err
		}
		if established {
			a.m.reconnects.Inc()
			a.log.Warn("ari: connection to Asterisk lost; reconnecting", "err", err)
			if time.Since(began) > time.Minute {
				attempt = 0
			}
		} else if ok, n := a.lim.Allow("connect", time.Now()); ok {
			a.log.Error("ari: cannot connect to Asterisk; retrying", "url", a.cfg.URL,
				"application", a.cfg.Application, "err", err, "attempt", attempt+1, "suppressed", n)
		}
		delay := backoff(a.cfg.ReconnectMin, a.cfg.ReconnectMax, attempt)
		attempt++
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// backoff doubles from lo to hi; the jitter (the wait is drawn from its
// upper half) keeps many nodes from reconnecting in step after an outage.
func backoff(lo, hi time.Duration, attempt int) time.Duration {
	d := lo
	for i := 0; i < attempt && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d/2 + rand.N(d/2+1)
}

// connectOnce connects, resynchronises and reads events until the
// connection fails. established reports whether it got as far as reading.
func (a *Adapter) connectOnce(ctx context.Context) (established bool, err error) {
	dialer := websocket.Dialer{
		Proxy:            http.ProxyFromEnvironment,
		HandshakeTimeout: a.cfg.RequestTimeout,
		ReadBufferSize:   64 << 10,
	}
	hdr := http.Header{"Authorization": {a.auth}}
	conn, resp, err := dialer.DialContext(ctx, a.wsURL, hdr)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		a.m.connects.WithLabelValues("error").Inc()
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			return false, fmt.Errorf("ari: websocket: authentication failed (check username and password): %w", err)
		}
		if resp != nil {
			return false, fmt.Errorf("ari: websocket: %s: %w", resp.Status, err)
		}
		return false, fmt.Errorf("ari: websocket: %w", err)
	}
	a.m.connects.WithLabelValues("ok").Inc()
	sctx, cancel := context.WithCancel(ctx)
	// Closing the connection is what interrupts a blocked read.
	stopClose := context.AfterFunc(sctx, func() { _ = conn.Close() })
	var pinging sync.WaitGroup
	defer func() {
		cancel()
		stopClose()
		_ = conn.Close()
		pinging.Wait()
		if a.connected.Swap(false) {
			a.m.connected.Set(0)
		}
	}()

	version, err := a.resync(sctx)
	if err != nil {
		a.m.resyncs.WithLabelValues("error").Inc()
		return false, fmt.Errorf("ari: resync: %w", err)
	}
	a.m.resyncs.WithLabelValues("ok").Inc()
	a.connected.Store(true)
	a.m.connected.Set(1)
	a.log.Info("ari: connected", "url", a.cfg.URL, "application", a.cfg.Application, "asterisk", version)

	silence := 2 * a.cfg.PingInterval
	a.heard = time.Now()
	_ = conn.SetReadDeadline(a.heard.Add(silence))
	conn.SetPongHandler(func(string) error {
		a.heard = time.Now()
		return conn.SetReadDeadline(a.heard.Add(silence))
	})
	conn.SetReadLimit(16 << 20)
	pinging.Go(func() { a.ping(sctx, conn) })
	err = a.read(conn, silence)
	// Calls that end while no connection is up are ended by the next
	// resync as of this moment, the last one they were known to exist.
	a.droppedAt = time.Now()
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		a.droppedAt = a.heard
	}
	return true, err
}

// ping keeps a silent connection proven alive.
func (a *Adapter) ping(ctx context.Context, conn *websocket.Conn) {
	t := time.NewTicker(a.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(a.cfg.PingInterval)); err != nil {
				return
			}
		}
	}
}

// read handles frames until the connection fails or the application is
// taken over.
func (a *Adapter) read(conn *websocket.Conn, silence time.Duration) error {
	for {
		kind, r, err := conn.NextReader()
		if err != nil {
			return err
		}
		a.buf.Reset()
		if _, err := a.buf.ReadFrom(r); err != nil {
			return err
		}
		a.heard = time.Now()
		_ = conn.SetReadDeadline(a.heard.Add(silence))
		if kind != websocket.TextMessage {
			a.decodeError("binary_frame", "", a.buf.Bytes())
			continue
		}
		if a.handleFrame(a.buf.Bytes(), a.heard) {
			return ErrApplicationReplaced
		}
	}
}

// goBG runs f in the background unless the adapter is shutting down;
// Run waits for it. Call without a.mu held.
func (a *Adapter) goBG(f func(ctx context.Context)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.goBGLocked(f)
}

func (a *Adapter) goBGLocked(f func(ctx context.Context)) {
	if a.closing {
		return
	}
	a.bg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), a.cfg.RequestTimeout)
		defer cancel()
		f(ctx)
	})
}

// newID makes a channel, bridge or playback id that no other client will
// choose.
func newID(kind string) string {
	var b [8]byte
	_, _ = crand.Read(b[:])
	return "tamas-" + kind + "-" + hex.EncodeToString(b[:])
}

// dedupe recognises frames identical to one of the last few hundred:
// Asterisk repeats channel events when endpoint or device-state
// subscriptions overlap, with the same timestamp, byte for byte.
type dedupe struct {
	ring [512]uint64
	next int
	full bool
	seen map[uint64]int
}

func (d *dedupe) seenBefore(h uint64) bool {
	if d.seen == nil {
		d.seen = make(map[uint64]int, len(d.ring))
	}
	if d.seen[h] > 0 {
		return true
	}
	if d.full {
		old := d.ring[d.next]
		if d.seen[old]--; d.seen[old] <= 0 {
			delete(d.seen, old)
		}
	}
	d.ring[d.next] = h
	d.seen[h]++
	d.next++
	if d.next == len(d.ring) {
		d.next, d.full = 0, true
	}
	return false
}

// recentSet remembers the last n ended call ids, so that late events for
// them (ChannelDestroyed after StasisEnd) are recognised, not mistaken for
// new channels.
type recentSet struct {
	ring []string
	next int
	set  map[string]bool
}

func newRecentSet(n int) recentSet {
	return recentSet{ring: make([]string, n), set: make(map[string]bool, n)}
}

func (r *recentSet) add(id string) {
	if r.set[id] {
		return
	}
	if old := r.ring[r.next]; old != "" {
		delete(r.set, old)
	}
	r.ring[r.next] = id
	r.set[id] = true
	r.next = (r.next + 1) % len(r.ring)
}

func (r *recentSet) has(id string) bool { return r.set[id] }

package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tamas-cc/tamas/telephony"
	"github.com/tamas-cc/tamas/telephony/dispatch"
)

// PBXName is the Call.PBX of every call the endpoint catches.
const PBXName = "sip"

// drainGrace lets messages already past the socket be handled before the
// stack closes.
const drainGrace = 20 * time.Millisecond

// Endpoint is a SIP user agent server that rings on every INVITE and reports
// each as a call. It implements telephony.Source.
type Endpoint struct {
	cfg     Config
	log     *slog.Logger
	m       *metrics
	trusted []netip.Prefix
	allow   []netip.Prefix
	auth    *digestAuth
	parser  *sipmsg.Parser

	started atomic.Bool
	ready   chan struct{}
	deaf    atomic.Bool // shutting down: incoming data is dropped

	mu       sync.Mutex
	addrs    []net.Addr
	udp      map[string]net.PacketConn // by local address, for stateless replies
	calls    map[string]*call          // by Call-ID, while ringing
	recent   recentCalls
	closing  bool          // no new calls; set once shutdown starts
	release  chan struct{} // closed at shutdown: ringing calls let go
	inflight sync.WaitGroup

	q        *dispatch.Queue
	lim      *dispatch.LogLimiter
	arrivals arrivals
}

var _ telephony.Source = (*Endpoint)(nil)

// NewEndpoint checks cfg and prepares an endpoint; Run serves it. Metrics
// are registered on reg when it is not nil (one endpoint per registry).
func NewEndpoint(cfg Config, logger *slog.Logger, reg prometheus.Registerer) (*Endpoint, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	trusted, _ := parsePrefixes(cfg.TrustedPAI)
	allow, _ := parsePrefixes(cfg.AllowFrom)
	// A flood of garbage is counted in full but logged in sample.
	lim := dispatch.NewLogLimiter(time.Second, 10)
	e := &Endpoint{
		cfg: cfg, log: logger, m: m, trusted: trusted, allow: allow,
		parser:  sipmsg.NewParser(),
		ready:   make(chan struct{}),
		udp:     map[string]net.PacketConn{},
		calls:   map[string]*call{},
		release: make(chan struct{}),
		lim:     lim,
		q:       dispatch.New(dispatch.Config{Name: "sip", Size: cfg.EventBuffer, Dropped: m.dropped, Log: logger, Limiter: lim}),
	}
	if cfg.Auth.Realm != "" {
		if e.auth, err = newDigestAuth(cfg.Auth); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Ready is closed once every configured socket is listening.
func (e *Endpoint) Ready() <-chan struct{} { return e.ready }

// Addrs returns the addresses listened on (useful with port 0), in the
// order of Config.Listen; empty before Ready.
func (e *Endpoint) Addrs() []net.Addr {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]net.Addr(nil), e.addrs...)
}

// Run listens and serves until ctx ends, delivering events to h from a
// single goroutine. On shutdown, ringing INVITEs are answered 480 and end
// with cause "lost", and queued events are delivered (within
// Config.ShutdownTimeout) before Run returns. It returns nil after a clean
// shutdown, or the error that stopped it (a socket that cannot be bound or
// fails). An Endpoint runs once.
func (e *Endpoint) Run(ctx context.Context, h telephony.Handler) error {
	if !e.started.CompareAndSwap(false, true) {
		return errors.New("sip: endpoint already run")
	}
	stack := slog.New(stackLog{next: e.log.Handler(), e: e})
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent("Tamas"),
		sipgo.WithUserAgentParser(e.parser),
		sipgo.WithUserAgentTransportLayerOptions(
			sipmsg.WithTransportLayerLogger(stack),
			sipmsg.WithTransportLayerReadFilter(e.readFilter),
		),
		sipgo.WithUserAgentTransactionLayerOptions(
			sipmsg.WithTransactionLayerLogger(stack),
			// A PBX whose TCP connection drops will not cancel: end its
			// calls now rather than at the ring timeout.
			sipmsg.WithTransactionLayerTerminateOnConnClose(),
		),
	)
	if err != nil {
		return fmt.Errorf("sip: user agent: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(stack))
	if err != nil {
		_ = ua.Close()
		return fmt.Errorf("sip: server: %w", err)
	}
	e.route(srv)

	var closers []func() error
	closeAll := func() {
		for _, c := range closers {
			_ = c()
		}
	}
	serveErr := make(chan error, len(e.cfg.Listen))
	var serving sync.WaitGroup
	for _, l := range e.cfg.Listen {
		var lc net.ListenConfig
		switch l.Network {
		case "udp", "udp4", "udp6":
			pc, err := lc.ListenPacket(ctx, l.Network, l.Addr)
			if err != nil {
				closeAll()
				_ = ua.Close()
				return fmt.Errorf("sip: listen %s %s: %w", l.Network, l.Addr, err)
			}
			closers = append(closers, pc.Close)
			e.mu.Lock()
			e.addrs = append(e.addrs, pc.LocalAddr())
			e.udp[pc.LocalAddr().String()] = pc
			e.mu.Unlock()
			serving.Go(func() { serveErr <- srv.ServeUDP(pc) })
		default:
			ln, err := lc.Listen(ctx, l.Network, l.Addr)
			if err != nil {
				closeAll()
				_ = ua.Close()
				return fmt.Errorf("sip: listen %s %s: %w", l.Network, l.Addr, err)
			}
			closers = append(closers, ln.Close)
			e.mu.Lock()
			e.addrs = append(e.addrs, ln.Addr())
			e.mu.Unlock()
			serving.Go(func() { serveErr <- srv.ServeTCP(ln) })
		}
	}
	e.log.Info("sip: endpoint listening", "addrs", fmt.Sprint(e.Addrs()))
	close(e.ready)

	e.q.Start(ctx, func(hctx context.Context, ev telephony.Event) {
		if ev.Type == telephony.CallStarted {
			// At is when the INVITE was read off the socket.
			e.m.inviteToEvent.Observe(time.Since(ev.At).Seconds())
		}
		h(hctx, ev)
	})

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		// A listener stopped on its own: the endpoint is deaf on it.
		runErr = fmt.Errorf("sip: serve: %w", err)
		if err == nil {
			runErr = errors.New("sip: a listener stopped")
		}
	}

	shutdown, cancel := context.WithTimeout(context.Background(), e.cfg.ShutdownTimeout)
	defer cancel()

	// Let ringing calls go while the sockets can still carry their 480s.
	e.mu.Lock()
	e.closing = true
	close(e.release)
	e.mu.Unlock()
	released := make(chan struct{})
	go func() { e.inflight.Wait(); close(released) }()
	select {
	case <-released:
	case <-shutdown.Done():
		e.log.Warn("sip: ringing calls not released before shutdown timeout")
	}

	// Then go deaf before closing anything: sipgo handles each message on
	// a goroutine of its own, and one that finds its transaction or socket
	// already gone opens a new socket, which nothing would ever close.
	e.deaf.Store(true)
	time.Sleep(drainGrace)
	closeAll()
	_ = ua.Close()
	serving.Wait()

	if err := e.q.Stop(shutdown); err != nil {
		return errors.Join(runErr, fmt.Errorf("sip: %w", err))
	}
	e.log.Info("sip: endpoint stopped")
	return runErr
}

// route registers the request handlers.
func (e *Endpoint) route(srv *sipgo.Server) {
	srv.OnInvite(e.onInvite)
	srv.OnCancel(e.onCancel)
	srv.OnBye(e.onBye)
	srv.OnAck(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		// ACKs to our non-2xx finals are absorbed by their transactions;
		// a stray one gets no answer (RFC 3261 §17.2.1).
		e.count(req)
	})
	srv.OnOptions(e.onOptions)
	srv.OnNoRoute(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		e.count(req)
		res := sipmsg.NewResponseFromRequest(req, sipmsg.StatusMethodNotAllowed, "Method Not Allowed", nil)
		res.AppendHeader(sipmsg.NewHeader("Allow", allowed))
		e.respond(tx, res)
	})
}

const allowed = "INVITE, ACK, CANCEL, BYE, OPTIONS"

var knownMethods = map[sipmsg.RequestMethod]bool{
	sipmsg.INVITE: true, sipmsg.ACK: true, sipmsg.CANCEL: true, sipmsg.BYE: true, sipmsg.REGISTER: true,
	sipmsg.OPTIONS: true, sipmsg.SUBSCRIBE: true, sipmsg.NOTIFY: true, sipmsg.REFER: true, sipmsg.INFO: true,
	sipmsg.MESSAGE: true, sipmsg.PRACK: true, sipmsg.UPDATE: true, sipmsg.PUBLISH: true,
}

// count records a request; unknown methods share one label so that
// strangers cannot mint metric series.
func (e *Endpoint) count(req *sipmsg.Request) {
	m := "other"
	if knownMethods[req.Method] {
		m = string(req.Method)
	}
	e.m.requests.WithLabelValues(m).Inc()
}

func (e *Endpoint) respond(tx sipmsg.ServerTransaction, res *sipmsg.Response) {
	if err := tx.Respond(res); err != nil {
		e.log.Debug("sip: response not sent", "code", res.StatusCode, "error", err)
	}
}

// sourceAddr is the IP a request came from, as the socket saw it (not as
// its Via claims).
func sourceAddr(req *sipmsg.Request) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

func inPrefixes(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// admitted applies AllowFrom.
func (e *Endpoint) admitted(req *sipmsg.Request) bool {
	if len(e.allow) == 0 {
		return true
	}
	a, ok := sourceAddr(req)
	return ok && inPrefixes(a, e.allow)
}

func (e *Endpoint) onOptions(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	e.count(req)
	if !e.admitted(req) {
		e.respond(tx, sipmsg.NewResponseFromRequest(req, sipmsg.StatusForbidden, "Forbidden", nil))
		return
	}
	// PBXs qualify their peers with OPTIONS; answering keeps us in the
	// ring group.
	res := sipmsg.NewResponseFromRequest(req, sipmsg.StatusOK, "OK", nil)
	res.AppendHeader(sipmsg.NewHeader("Allow", allowed))
	res.AppendHeader(sipmsg.NewHeader("Accept", "application/sdp"))
	e.respond(tx, res)
}

// arrivals remembers when each INVITE datagram was read off the socket,
// from the guard (which parses every datagram) to the INVITE handler (which
// sipgo calls after parsing it again, on another goroutine): that moment is
// the call's start, and the origin of the INVITE-to-event latency. Entries
// the handler never takes (retransmissions, requests sipgo refuses) expire.
type arrivals struct {
	mu    sync.Mutex
	byKey map[string]time.Time
	order []recentEntry
}

const arrivalTTL = 5 * time.Second

func arrivalKey(req *sipmsg.Request) string {
	branch, _ := req.Via().Params.Get("branch")
	return req.CallID().Value() + "\x00" + branch
}

func (a *arrivals) put(key string, at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.byKey == nil {
		a.byKey = map[string]time.Time{}
	}
	n := 0
	for n < len(a.order) && at.Sub(a.order[n].at) > arrivalTTL {
		if t, ok := a.byKey[a.order[n].id]; ok && t.Equal(a.order[n].at) {
			delete(a.byKey, a.order[n].id)
		}
		n++
	}
	if n > 0 {
		a.order = append(a.order[:0], a.order[n:]...)
	}
	if _, ok := a.byKey[key]; ok {
		return // a retransmission: the first copy counts
	}
	a.byKey[key] = at
	a.order = append(a.order, recentEntry{id: key, at: at})
}

// take returns and forgets the arrival time of a request, or def.
func (a *arrivals) take(key string, def time.Time) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.byKey[key]
	if !ok {
		return def
	}
	delete(a.byKey, key)
	return t
}

// recentCalls remembers the Call-IDs of calls that ended, for as long as
// the caller may still retransmit their INVITE (64·T1), so that a late
// retransmission is not taken for a new call.
type recentCalls struct {
	byID  map[string]recentCall
	order []recentEntry
}

type recentCall struct {
	cseq uint32
	at   time.Time
}

type recentEntry struct {
	id string
	at time.Time
}

const recentTTL = 32 * time.Second

func (r *recentCalls) add(id string, cseq uint32, now time.Time) {
	if r.byID == nil {
		r.byID = map[string]recentCall{}
	}
	r.prune(now)
	r.byID[id] = recentCall{cseq: cseq, at: now}
	r.order = append(r.order, recentEntry{id: id, at: now})
}

func (r *recentCalls) prune(now time.Time) {
	n := 0
	for n < len(r.order) && now.Sub(r.order[n].at) > recentTTL {
		if c, ok := r.byID[r.order[n].id]; ok && c.at.Equal(r.order[n].at) {
			delete(r.byID, r.order[n].id)
		}
		n++
	}
	if n > 0 {
		r.order = append(r.order[:0], r.order[n:]...)
	}
}

// stale reports whether an INVITE with this Call-ID and CSeq belongs to a
// call that already ended.
func (r *recentCalls) stale(id string, cseq uint32, now time.Time) bool {
	c, ok := r.byID[id]
	return ok && now.Sub(c.at) <= recentTTL && cseq <= c.cseq
}

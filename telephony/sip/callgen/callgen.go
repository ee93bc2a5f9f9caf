// Package callgen places SIP calls — at Asterisk, or at the Tamas SIP
// endpoint — with chosen caller numbers and names, at a chosen rate, and
// measures how the target answers. cmd/callsim is its command line; tests,
// benchmarks and demos call Run.
//
// Each call is an INVITE (with an SDP offer, so that a PBX accepts it) held
// for Options.Hold from the moment it is sent: a call still ringing then is
// cancelled (CANCEL), an answered one gets DTMF by SIP INFO if asked and is
// hung up (BYE). The far end may hang up first, or re-INVITE an answered
// call (Asterisk does, to update the connected line); both are handled.
package callgen

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// Caller is the identity a call presents.
type Caller struct {
	Number string
	Name   string
}

// Options says what to call, how often, and as whom.
type Options struct {
	// Target is the SIP URI called, e.g. "sip:18005550100@127.0.0.1:5080".
	Target string
	// Transport is "udp" (default) or "tcp".
	Transport string
	// LocalIP is the address calls are sent from and the Contact they
	// present; by default the one the system routes to Target by.
	LocalIP string
	// Rate is how many calls start per second; 0 starts them as fast as
	// Concurrency allows.
	Rate float64
	// Concurrency bounds the calls in progress (default 100). When it is
	// reached, new calls wait, and the rate achieved drops below Rate.
	Concurrency int
	// Total is how many calls to place (default 1).
	Total int
	// Hold is how long a call lasts, from its INVITE, before we hang up
	// (default 2 s).
	Hold time.Duration
	// Callers are used in turn. When empty, Generate is used; when nil too,
	// Sequence("+98912", 1000000).
	Callers  []Caller
	Generate func(i int) Caller
	// DTMF digits are sent by SIP INFO once a call is answered, DTMFGap
	// apart (default 250 ms).
	DTMF    string
	DTMFGap time.Duration
	// PAI also presents the caller in a P-Asserted-Identity header.
	PAI bool
	// NoSDP leaves the offer out of the INVITE.
	NoSDP bool
	// Username and Password answer a digest challenge.
	Username, Password string
	// Logger receives per-call details at debug level; nil discards them.
	Logger *slog.Logger
	// OnInviteSent, when set, is called with each INVITE's Call-ID just
	// before it is sent, for measurements at the far end.
	OnInviteSent func(callID string, at time.Time)
}

// Summary is what happened to the calls of a run.
type Summary struct {
	Placed    int // INVITEs sent
	Ringing   int // answered 180 or 183
	Answered  int // answered 2xx
	Rejected  int // a final failure we did not cause (486 Busy Here, say)
	Cancelled int // still ringing at the end of Hold, so cancelled
	Failed    int // no final answer, transport or authentication errors
	// Codes counts final responses by status code.
	Codes map[int]int
	// Ring is INVITE → first 180/183; Final is INVITE → final response,
	// for the finals we did not cause by cancelling.
	Ring, Final Latency
	// Rate is the INVITEs sent per second achieved.
	Rate    float64
	Elapsed time.Duration
	// Errors holds a few of the errors met, for the log.
	Errors []string
}

// Latency sums up a set of durations.
type Latency struct {
	N                  int
	P50, P90, P99, Max time.Duration
}

func (l Latency) String() string {
	if l.N == 0 {
		return "n=0"
	}
	return fmt.Sprintf("n=%d p50=%s p90=%s p99=%s max=%s", l.N, round(l.P50), round(l.P90), round(l.P99), round(l.Max))
}

func round(d time.Duration) time.Duration {
	if d > time.Millisecond {
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

func (s Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "calls:   placed %d, ringing %d, answered %d, rejected %d, cancelled %d, failed %d\n",
		s.Placed, s.Ringing, s.Answered, s.Rejected, s.Cancelled, s.Failed)
	if len(s.Codes) > 0 {
		var codes []string
		for _, c := range sortedKeys(s.Codes) {
			codes = append(codes, fmt.Sprintf("%d×%d", c, s.Codes[c]))
		}
		fmt.Fprintf(&b, "finals:  %s\n", strings.Join(codes, " "))
	}
	fmt.Fprintf(&b, "INVITE→180:   %s\n", s.Ring)
	fmt.Fprintf(&b, "INVITE→final: %s\n", s.Final)
	fmt.Fprintf(&b, "rate:    %.1f INVITEs/s; elapsed %s\n", s.Rate, s.Elapsed.Round(time.Millisecond))
	for _, e := range s.Errors {
		fmt.Fprintf(&b, "error:   %s\n", e)
	}
	return b.String()
}

func (o *Options) setDefaults() error {
	if o.Transport == "" {
		o.Transport = "udp"
	}
	o.Transport = strings.ToLower(o.Transport)
	if o.Transport != "udp" && o.Transport != "tcp" {
		return fmt.Errorf("callgen: transport %q: want udp or tcp", o.Transport)
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 100
	}
	if o.Total <= 0 {
		o.Total = 1
	}
	if o.Hold <= 0 {
		o.Hold = 2 * time.Second
	}
	if o.DTMFGap <= 0 {
		o.DTMFGap = 250 * time.Millisecond
	}
	if o.Rate < 0 {
		return errors.New("callgen: negative rate")
	}
	for _, d := range o.DTMF {
		if !strings.ContainsRune("0123456789*#ABCD", d) {
			return fmt.Errorf("callgen: DTMF digit %q", d)
		}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if len(o.Callers) == 0 && o.Generate == nil {
		o.Generate = Sequence("+98912", 1000000)
	}
	return nil
}

// Run places the calls and returns when all have ended, or when ctx ends
// (calls in progress are then hung up). The error is for a run that could
// not start; failed calls are counted in the Summary.
func Run(ctx context.Context, o Options) (Summary, error) {
	if err := o.setDefaults(); err != nil {
		return Summary{}, err
	}
	var target sipmsg.Uri
	if err := sipmsg.ParseUri(o.Target, &target); err != nil {
		return Summary{}, fmt.Errorf("callgen: target %q: %w", o.Target, err)
	}
	if target.Scheme != "sip" && target.Scheme != "sips" {
		return Summary{}, fmt.Errorf("callgen: target %q: want a sip: URI", o.Target)
	}
	if o.LocalIP == "" {
		ip, err := localIPFor(target)
		if err != nil {
			return Summary{}, err
		}
		o.LocalIP = ip
	}

	g, err := newGenerator(ctx, o, target)
	if err != nil {
		return Summary{}, err
	}
	defer g.close()

	start := time.Now()
	sem := make(chan struct{}, o.Concurrency)
	var wg sync.WaitGroup
	pace := time.Duration(0)
	if o.Rate > 0 {
		pace = time.Duration(float64(time.Second) / o.Rate)
	}
schedule:
	for i := range o.Total {
		if pace > 0 {
			if d := time.Until(start.Add(time.Duration(i) * pace)); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					break schedule
				}
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break schedule
		}
		wg.Go(func() {
			defer func() { <-sem }()
			g.place(ctx, i)
		})
	}
	wg.Wait()
	s := g.stats.summary()
	s.Elapsed = time.Since(start)
	return s, nil
}

// localIPFor finds the local address the system would send to u from.
func localIPFor(u sipmsg.Uri) (string, error) {
	port := u.Port
	if port == 0 {
		port = 5060
	}
	c, err := net.Dial("udp", net.JoinHostPort(u.Host, fmt.Sprint(port)))
	if err != nil {
		return "", fmt.Errorf("callgen: no route to %s: %w", u.Host, err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP.String(), nil
}

// generator is the user agent placing calls for one run.
type generator struct {
	o       Options
	target  sipmsg.Uri
	ua      *sipgo.UserAgent
	client  *sipgo.Client
	dialogs *sipgo.DialogClientCache
	contact sipmsg.ContactHeader
	pc      net.PacketConn
	serving sync.WaitGroup
	deaf    atomic.Bool
	stats   stats
}

func newGenerator(ctx context.Context, o Options, target sipmsg.Uri) (*generator, error) {
	g := &generator{o: o, target: target}
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent("Tamas-callsim"),
		sipgo.WithUserAgentHostname(o.LocalIP),
		sipgo.WithUserAgentTransportLayerOptions(
			sipmsg.WithTransportLayerLogger(o.Logger),
			sipmsg.WithTransportLayerReadFilter(func(_ sipmsg.TransportReadProps, data []byte) ([]byte, error) {
				if g.deaf.Load() {
					return nil, nil
				}
				return data, nil
			}),
		),
		sipgo.WithUserAgentTransactionLayerOptions(sipmsg.WithTransactionLayerLogger(o.Logger)),
	)
	if err != nil {
		return nil, fmt.Errorf("callgen: user agent: %w", err)
	}
	g.ua = ua
	g.contact = sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: "callsim", Host: o.LocalIP}}
	clientOpts := []sipgo.ClientOption{sipgo.WithClientHostname(o.LocalIP), sipgo.WithClientLogger(o.Logger)}
	if o.Transport == "udp" {
		// One socket both sends our requests and receives the far end's
		// (BYE, re-INVITE), at the address our Contact gives.
		var lc net.ListenConfig
		g.pc, err = lc.ListenPacket(ctx, "udp", net.JoinHostPort(o.LocalIP, "0"))
		if err != nil {
			_ = ua.Close()
			return nil, fmt.Errorf("callgen: listen: %w", err)
		}
		laddr := g.pc.LocalAddr().(*net.UDPAddr)
		g.contact.Address.Port = laddr.Port
		clientOpts = append(clientOpts, sipgo.WithClientConnectionAddr(laddr.String()))
	} else {
		g.contact.Address.UriParams = sipmsg.NewParams()
		g.contact.Address.UriParams.Add("transport", "tcp")
	}
	g.client, err = sipgo.NewClient(ua, clientOpts...)
	if err != nil {
		g.close()
		return nil, fmt.Errorf("callgen: client: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(o.Logger))
	if err != nil {
		g.close()
		return nil, fmt.Errorf("callgen: server: %w", err)
	}
	g.dialogs = sipgo.NewDialogClientCache(g.client, g.contact)
	g.route(srv)
	if g.pc != nil {
		g.serving.Go(func() { _ = srv.ServeUDP(g.pc) })
		// Until sipgo has the socket in its pool, a request would try to
		// bind the same address again and fail.
		for tries := 0; ; tries++ {
			if c, _ := ua.TransportLayer().GetConnection("udp", g.pc.LocalAddr().String()); c != nil {
				break
			}
			if tries == 1000 {
				g.close()
				return nil, errors.New("callgen: UDP socket not served")
			}
			time.Sleep(time.Millisecond)
		}
	}
	return g, nil
}

// close stops listening first, then ends the transactions, then closes the
// socket: sipgo handles each message on a goroutine of its own, and one
// that finds its transaction or socket already gone opens a new socket,
// which nothing would close.
func (g *generator) close() {
	g.deaf.Store(true)
	time.Sleep(20 * time.Millisecond)
	_ = g.ua.Close()
	if g.pc != nil {
		_ = g.pc.Close()
	}
	g.serving.Wait()
}

// route answers what the far end sends us.
func (g *generator) route(srv *sipgo.Server) {
	srv.OnBye(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		if err := g.dialogs.ReadBye(req, tx); err != nil {
			_ = tx.Respond(sipmsg.NewResponseFromRequest(req, sipmsg.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		}
	})
	srv.OnInvite(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		// A re-INVITE (Asterisk updating the connected line): accept it
		// with the same offer.
		if _, err := g.dialogs.MatchRequestDialog(req); err != nil {
			_ = tx.Respond(sipmsg.NewResponseFromRequest(req, sipmsg.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
			return
		}
		res := sipmsg.NewSDPResponseFromRequest(req, g.sdp(0))
		res.AppendHeader(sipmsg.HeaderClone(&g.contact))
		_ = tx.Respond(res)
	})
	srv.OnAck(func(*sipmsg.Request, sipmsg.ServerTransaction) {})
	ok := func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		_ = tx.Respond(sipmsg.NewResponseFromRequest(req, sipmsg.StatusOK, "OK", nil))
	}
	srv.OnOptions(ok)
	srv.OnInfo(ok)
	srv.OnNotify(ok)
}

func (g *generator) caller(i int) Caller {
	if len(g.o.Callers) > 0 {
		return g.o.Callers[i%len(g.o.Callers)]
	}
	return g.o.Generate(i)
}

// sdp is an audio offer (PCMU, PCMA, telephone-event). No media flows:
// the port only has to look plausible.
func (g *generator) sdp(i int) []byte {
	ipv := "IP4"
	if strings.Contains(g.o.LocalIP, ":") {
		ipv = "IP6"
	}
	port := 20000 + 2*(i%10000)
	id := time.Now().UnixNano() / 1000
	return fmt.Appendf(nil, "v=0\r\no=callsim %d %d IN %s %s\r\ns=callsim\r\nc=IN %s %s\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"+
		"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n",
		id, id, ipv, g.o.LocalIP, ipv, g.o.LocalIP, port)
}

// place makes call i, from INVITE to hang-up.
func (g *generator) place(ctx context.Context, i int) {
	who := g.caller(i)
	callID := randomID()
	log := g.o.Logger.With("call", i, "call_id", callID)

	req := sipmsg.NewRequest(sipmsg.INVITE, *g.target.Clone())
	req.SetTransport(strings.ToUpper(g.o.Transport))
	from := &sipmsg.FromHeader{DisplayName: quotePairs(who.Name), Address: sipmsg.Uri{Scheme: "sip", User: escapeUser(who.Number), Host: g.o.LocalIP}, Params: sipmsg.NewParams()}
	from.Params.Add("tag", sipmsg.GenerateTagN(16))
	req.AppendHeader(from)
	cid := sipmsg.CallIDHeader(callID)
	req.AppendHeader(&cid)
	req.AppendHeader(sipmsg.HeaderClone(&g.contact))
	if g.o.PAI {
		req.AppendHeader(sipmsg.NewHeader("P-Asserted-Identity", (&sipmsg.FromHeader{DisplayName: from.DisplayName, Address: from.Address}).Value()))
	}
	if !g.o.NoSDP {
		ct := sipmsg.ContentTypeHeader("application/sdp")
		req.AppendHeader(&ct)
		req.SetBody(g.sdp(i))
	}

	var mu sync.Mutex
	var ringAt, finalAt time.Time
	finalCode, responded := 0, false

	// At the end of Hold (or of ctx), a call still ringing is cancelled.
	// One that never had any response cannot be (RFC 3261 §9.1): rather
	// than wait for the INVITE to time out, it is abandoned at once.
	hangupAt := time.Now().Add(g.o.Hold)
	holdCtx, stopHold := context.WithCancelCause(context.WithoutCancel(ctx))
	defer stopHold(nil)
	hangup := func() {
		mu.Lock()
		r := responded
		mu.Unlock()
		if r {
			stopHold(errHangup)
		} else {
			stopHold(sipgo.WaitAnswerForceCancelErr)
		}
	}
	holdTimer := time.AfterFunc(g.o.Hold, hangup)
	defer holdTimer.Stop()
	defer context.AfterFunc(ctx, hangup)()

	sent := time.Now()
	if g.o.OnInviteSent != nil {
		g.o.OnInviteSent(callID, sent)
	}
	g.stats.placed(sent)
	sess, err := g.dialogs.WriteInvite(holdCtx, req)
	if err != nil {
		g.stats.failed(fmt.Errorf("send INVITE: %w", err))
		log.Debug("callgen: INVITE not sent", "error", err)
		return
	}
	defer sess.Close()

	err = sess.WaitAnswer(holdCtx, sipgo.AnswerOptions{
		Username: g.o.Username, Password: g.o.Password,
		OnResponse: func(res *sipmsg.Response) error {
			now := time.Now()
			mu.Lock()
			defer mu.Unlock()
			responded = true
			switch {
			case (res.StatusCode == 180 || res.StatusCode == 183) && ringAt.IsZero():
				ringAt = now
			case res.StatusCode >= 200:
				finalAt, finalCode = now, res.StatusCode
			}
			return nil
		},
	})
	mu.Lock()
	ring, final, code := ringAt, finalAt, finalCode
	mu.Unlock()
	if r := sess.InviteResponse; code == 0 && r != nil && r.StatusCode >= 200 {
		// The 487 that answers our CANCEL bypasses OnResponse.
		code = r.StatusCode
	}
	cancelledByUs := context.Cause(holdCtx) == errHangup && (code == 0 || code == sipmsg.StatusRequestTerminated)
	g.stats.responses(sent, ring, final, code, cancelledByUs)

	var dialogErr *sipgo.ErrDialogResponse
	switch {
	case err == nil:
		g.stats.answered()
		g.talk(ctx, sess, hangupAt, log)
	case cancelledByUs && !ring.IsZero():
		g.stats.cancelled()
		log.Debug("callgen: cancelled while ringing")
	case errors.As(err, &dialogErr) && dialogErr.Res.StatusCode != 401 && dialogErr.Res.StatusCode != 407:
		g.stats.rejected()
		log.Debug("callgen: rejected", "code", dialogErr.Res.StatusCode)
	case context.Cause(holdCtx) == sipgo.WaitAnswerForceCancelErr:
		g.stats.failed(errNoResponse)
		log.Debug("callgen: no response")
	default:
		g.stats.failed(err)
		log.Debug("callgen: call failed", "error", err)
	}
}

var (
	errHangup     = errors.New("hold time over")
	errNoResponse = errors.New("no response to INVITE")
)

// talk runs an answered call: ACK, DTMF, hold, BYE (unless the far end
// hangs up first).
func (g *generator) talk(ctx context.Context, sess *sipgo.DialogClientSession, hangupAt time.Time, log *slog.Logger) {
	// Hang-up requests must go out even when ctx is what ended the call.
	bg, stop := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer stop()
	if err := sess.Ack(bg); err != nil {
		g.stats.note(fmt.Errorf("ACK: %w", err))
		return
	}
digits:
	for _, d := range g.o.DTMF {
		select {
		case <-time.After(g.o.DTMFGap):
		case <-sess.Context().Done():
			return
		case <-ctx.Done():
			break digits
		}
		if err := g.info(ctx, sess, d); err != nil {
			log.Debug("callgen: DTMF not delivered", "digit", string(d), "error", err)
			g.stats.note(fmt.Errorf("INFO %c: %w", d, err))
		}
	}
	t := time.NewTimer(time.Until(hangupAt))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-sess.Context().Done():
		log.Debug("callgen: far end hung up")
		return
	}
	if err := sess.Bye(bg); err != nil {
		g.stats.note(fmt.Errorf("BYE: %w", err))
		log.Debug("callgen: BYE failed", "error", err)
	}
}

// info sends one DTMF digit the way SIP phones do it (application/dtmf-relay).
func (g *generator) info(ctx context.Context, sess *sipgo.DialogClientSession, digit rune) error {
	uri := sess.InviteRequest.Recipient
	if c := sess.InviteResponse.Contact(); c != nil {
		uri = c.Address
	}
	req := sipmsg.NewRequest(sipmsg.INFO, *uri.Clone())
	ct := sipmsg.ContentTypeHeader("application/dtmf-relay")
	req.AppendHeader(&ct)
	req.SetBody(fmt.Appendf(nil, "Signal=%c\r\nDuration=160\r\n", digit))
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	res, err := sess.Do(dctx, req)
	if err != nil {
		return err
	}
	if res.StatusCode != 200 {
		return fmt.Errorf("answered %d", res.StatusCode)
	}
	return nil
}

// quotePairs escapes a display name for its quoted-string (sipgo writes
// it between quotes as given).
func quotePairs(name string) string {
	if !strings.ContainsAny(name, "\\\"\r\n") {
		return name
	}
	var b strings.Builder
	for _, r := range name {
		switch r {
		case '\\', '"':
			b.WriteByte('\\')
		case '\r', '\n':
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// escapeUser %-encodes what a SIP URI's user part cannot carry as is
// (RFC 3261 §25.1), so that a hostile number still makes a valid request.
func escapeUser(user string) string {
	const ok = "-_.!~*'()&=+$,"
	var b strings.Builder
	for i := 0; i < len(user); i++ {
		c := user[i]
		if c < 0x80 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(ok, c) >= 0) {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b) + "@callsim"
}

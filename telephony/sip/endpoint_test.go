package sip

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"

	"github.com/tamas-cc/tamas/internal/testkit"
	"github.com/tamas-cc/tamas/telephony"
)

// value reads a counter or gauge.
func value(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type harness struct {
	e      *Endpoint
	logs   *testkit.SyncBuffer
	events chan telephony.Event
	udp    string
	tcp    string
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

func start(t testing.TB, mutate func(*Config)) *harness {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Node = "node-1"
	cfg.Listen = []Listener{{Network: "udp", Addr: "127.0.0.1:0"}, {Network: "tcp", Addr: "127.0.0.1:0"}}
	cfg.ShutdownTimeout = 2 * time.Second
	if mutate != nil {
		mutate(&cfg)
	}
	h := &harness{logs: &testkit.SyncBuffer{}, events: make(chan telephony.Event, 10000), done: make(chan error, 1)}
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e, err := NewEndpoint(cfg, log, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	h.e = e
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() {
		h.done <- e.Run(ctx, func(_ context.Context, ev telephony.Event) { h.events <- ev })
	}()
	select {
	case <-e.Ready():
	case err := <-h.done:
		t.Fatalf("run: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("endpoint not ready")
	}
	for _, a := range e.Addrs() {
		switch a.Network() {
		case "udp":
			h.udp = a.String()
		case "tcp":
			h.tcp = a.String()
		}
	}
	t.Cleanup(func() { h.stop(t) })
	return h
}

func (h *harness) stop(t testing.TB) {
	h.once.Do(func() {
		h.cancel()
		select {
		case err := <-h.done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("endpoint did not stop")
		}
		if t.Failed() {
			t.Logf("endpoint log:\n%s", h.logs.String())
		}
	})
}

func (h *harness) next(t testing.TB) telephony.Event {
	t.Helper()
	select {
	case ev := <-h.events:
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
		return telephony.Event{}
	}
}

func (h *harness) quiet(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case ev := <-h.events:
		t.Fatalf("unexpected event %s for %s", ev.Type, ev.Call.ID)
	case <-time.After(d):
	}
}

// rawUDP is a bare socket speaking SIP text, for what a SIP stack would
// refuse to send.
type rawUDP struct {
	conn *net.UDPConn
	addr string
}

func dialUDP(t testing.TB, target string) *rawUDP {
	t.Helper()
	raddr, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawUDP{conn: c, addr: c.LocalAddr().String()}
}

func (r *rawUDP) send(t testing.TB, msg string) {
	t.Helper()
	if _, err := r.conn.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
}

// recv returns the next response, or nil after d.
func (r *rawUDP) recv(t testing.TB, d time.Duration) *sipmsg.Response {
	t.Helper()
	buf := make([]byte, 65535)
	_ = r.conn.SetReadDeadline(time.Now().Add(d))
	n, err := r.conn.Read(buf)
	if err != nil {
		return nil
	}
	msg, err := sipmsg.ParseMessage(buf[:n])
	if err != nil {
		t.Fatalf("unparseable answer: %v\n%s", err, buf[:n])
	}
	res, ok := msg.(*sipmsg.Response)
	if !ok {
		t.Fatalf("got a request: %s", msg)
	}
	return res
}

// recvRaw returns the next datagram as text, or "" after d.
func (r *rawUDP) recvRaw(t testing.TB, d time.Duration) string {
	t.Helper()
	buf := make([]byte, 65535)
	_ = r.conn.SetReadDeadline(time.Now().Add(d))
	n, err := r.conn.Read(buf)
	if err != nil {
		return ""
	}
	return string(buf[:n])
}

// expect reads responses until one with code arrives.
func (r *rawUDP) expect(t testing.TB, code int) *sipmsg.Response {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var seen []int
	for time.Now().Before(deadline) {
		res := r.recv(t, time.Until(deadline))
		if res == nil {
			break
		}
		if res.StatusCode == code {
			return res
		}
		seen = append(seen, res.StatusCode)
	}
	t.Fatalf("no %d response (saw %v)", code, seen)
	return nil
}

func rawInvite(local, callID, branch, from string, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "INVITE sip:18005550100@tamas SIP/2.0\r\n")
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;rport;branch=z9hG4bK-%s\r\n", local, branch)
	fmt.Fprintf(&b, "From: %s;tag=ftag-%s\r\n", from, callID)
	fmt.Fprintf(&b, "To: <sip:18005550100@tamas>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n", callID)
	fmt.Fprintf(&b, "Contact: <sip:caller@%s>\r\nMax-Forwards: 70\r\n", local)
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.String()
}

func rawCancel(local, callID, branch, from string) string {
	return fmt.Sprintf("CANCEL sip:18005550100@tamas SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %s;rport;branch=z9hG4bK-%s\r\nFrom: %s;tag=ftag-%s\r\nTo: <sip:18005550100@tamas>\r\n"+
		"Call-ID: %s\r\nCSeq: 1 CANCEL\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n", local, branch, from, callID, callID)
}

// client is a sipgo user agent placing calls at the endpoint.
type client struct {
	ua *sipgo.UserAgent
	c  *sipgo.Client
}

func newClient(t testing.TB) *client {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgentTransactionLayerOptions(
		sipmsg.WithTransactionLayerLogger(slog.New(slog.DiscardHandler))),
		sipgo.WithUserAgentTransportLayerOptions(sipmsg.WithTransportLayerLogger(slog.New(slog.DiscardHandler))))
	if err != nil {
		t.Fatal(err)
	}
	c, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	return &client{ua: ua, c: c}
}

func (c *client) invite(t testing.TB, target, transport, name, number string, extra ...sipmsg.Header) (*sipmsg.Request, sipmsg.ClientTransaction) {
	t.Helper()
	host, port, _ := sipmsg.ParseAddr(target)
	req := sipmsg.NewRequest(sipmsg.INVITE, sipmsg.Uri{Scheme: "sip", User: "18005550100", Host: host, Port: port})
	req.SetTransport(transport)
	from := &sipmsg.FromHeader{DisplayName: name, Address: sipmsg.Uri{Scheme: "sip", User: number, Host: "127.0.0.1"}, Params: sipmsg.NewParams()}
	from.Params.Add("tag", sipmsg.GenerateTagN(10))
	req.AppendHeader(from)
	req.AppendHeader(&sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: number, Host: "127.0.0.1"}})
	for _, h := range extra {
		req.AppendHeader(h)
	}
	tx, err := c.c.TransactionRequest(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tx.Terminate)
	return req, tx
}

// response waits on a client transaction for a response with code.
func response(t testing.TB, tx sipmsg.ClientTransaction, code int) *sipmsg.Response {
	t.Helper()
	timeout := time.After(5 * time.Second)
	var seen []int
	for {
		select {
		case res := <-tx.Responses():
			if res.StatusCode == code {
				return res
			}
			seen = append(seen, res.StatusCode)
		case <-tx.Done():
			t.Fatalf("transaction ended before %d (saw %v): %v", code, seen, tx.Err())
		case <-timeout:
			t.Fatalf("no %d (saw %v)", code, seen)
		}
	}
}

func cancelOf(inv *sipmsg.Request) *sipmsg.Request {
	r := sipmsg.NewRequest(sipmsg.CANCEL, inv.Recipient)
	r.SetTransport(inv.Transport())
	r.AppendHeader(sipmsg.HeaderClone(inv.Via()))
	r.AppendHeader(sipmsg.HeaderClone(inv.From()))
	r.AppendHeader(sipmsg.HeaderClone(inv.To()))
	r.AppendHeader(sipmsg.HeaderClone(inv.CallID()))
	r.AppendHeader(&sipmsg.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sipmsg.CANCEL})
	return r
}

func byeOf(inv *sipmsg.Request, ringing *sipmsg.Response) *sipmsg.Request {
	r := sipmsg.NewRequest(sipmsg.BYE, ringing.Contact().Address)
	r.SetTransport(inv.Transport())
	r.AppendHeader(sipmsg.HeaderClone(inv.From()))
	r.AppendHeader(sipmsg.HeaderClone(ringing.To()))
	r.AppendHeader(sipmsg.HeaderClone(inv.CallID()))
	r.AppendHeader(&sipmsg.CSeqHeader{SeqNo: inv.CSeq().SeqNo + 1, MethodName: sipmsg.BYE})
	return r
}

func do(t testing.TB, c *client, req *sipmsg.Request) *sipmsg.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.c.Do(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", req.Method, err)
	}
	return res
}

func tagOf(res *sipmsg.Response) string {
	tag, _ := res.To().Params.Get("tag")
	return tag
}

func TestInviteThenCancel(t *testing.T) {
	for _, transport := range []string{"UDP", "TCP"} {
		t.Run(transport, func(t *testing.T) {
			h := start(t, func(c *Config) { c.Lines = map[string]string{"18005550100": "Sales"} })
			c := newClient(t)
			target := h.udp
			if transport == "TCP" {
				target = h.tcp
			}
			inv, tx := c.invite(t, target, transport, "Alice Smith", "+14155550123")

			ev := h.next(t)
			callID := inv.CallID().Value()
			want := telephony.Call{
				ID: callID, LinkedID: callID, Direction: telephony.Inbound,
				Caller: telephony.Party{Name: "Alice Smith", Number: "+14155550123"},
				DNIS:   "18005550100", Line: "Sales", State: telephony.StateRinging,
				Node: "node-1", PBX: "sip", StartedAt: ev.Call.StartedAt,
			}
			if ev.Type != telephony.CallStarted || ev.Call != want || ev.Call.StartedAt.IsZero() {
				t.Fatalf("got %s %+v, want CallStarted %+v", ev.Type, ev.Call, want)
			}
			ringing := response(t, tx, 180)
			if ringing.Contact() == nil {
				t.Error("180 without Contact")
			}

			if res := do(t, c, cancelOf(inv)); res.StatusCode != 200 {
				t.Fatalf("CANCEL answered %d", res.StatusCode)
			}
			terminated := response(t, tx, 487)
			if tagOf(terminated) != tagOf(ringing) || tagOf(ringing) == "" {
				t.Errorf("487 tag %q differs from 180 tag %q", tagOf(terminated), tagOf(ringing))
			}

			ev = h.next(t)
			if ev.Type != telephony.Ended || ev.Cause != telephony.CauseOriginatorCancel || ev.Call.ID != callID ||
				ev.Call.State != telephony.StateEnded || ev.Call.EndedAt.IsZero() {
				t.Fatalf("got %+v, want Ended originator_cancel", ev)
			}
			if got := value(h.e.m.active); got != 0 {
				t.Errorf("active calls = %v after the end", got)
			}
		})
	}
}

func TestCancelForCallAnsweredElsewhere(t *testing.T) {
	h := start(t, nil)
	c := newClient(t)
	inv, tx := c.invite(t, h.udp, "UDP", "", "1000")
	h.next(t)
	response(t, tx, 180)
	cancel := cancelOf(inv)
	cancel.AppendHeader(sipmsg.NewHeader("Reason", `SIP;cause=200;text="Call completed elsewhere"`))
	do(t, c, cancel)
	response(t, tx, 487)
	if ev := h.next(t); ev.Type != telephony.Ended || ev.Cause != telephony.CauseAnsweredElsewhere || ev.CauseCode != 26 {
		t.Fatalf("got %s %q %d, want Ended answered_elsewhere 26", ev.Type, ev.Cause, ev.CauseCode)
	}
}

func TestByeOnEarlyDialog(t *testing.T) {
	h := start(t, nil)
	c := newClient(t)
	inv, tx := c.invite(t, h.udp, "UDP", "Bob", "2000")
	h.next(t)
	ringing := response(t, tx, 180)

	// A BYE with the wrong tag matches nothing.
	wrong := byeOf(inv, ringing)
	wrong.To().Params.Add("tag", "not-ours")
	if res := do(t, c, wrong); res.StatusCode != 481 {
		t.Errorf("BYE with a foreign tag answered %d, want 481", res.StatusCode)
	}
	if res := do(t, c, byeOf(inv, ringing)); res.StatusCode != 200 {
		t.Fatalf("BYE answered %d", res.StatusCode)
	}
	response(t, tx, 487)
	if ev := h.next(t); ev.Type != telephony.Ended || ev.Cause != telephony.CauseNormalClearing || ev.CauseCode != 16 {
		t.Fatalf("got %s %q, want Ended normal_clearing", ev.Type, ev.Cause)
	}
}

func TestFinalCode(t *testing.T) {
	h := start(t, func(c *Config) { c.FinalCode = 486 })
	c := newClient(t)
	inv, tx := c.invite(t, h.udp, "UDP", "Busy", "3000")
	if ev := h.next(t); ev.Type != telephony.CallStarted || ev.Call.ID != inv.CallID().Value() {
		t.Fatalf("got %+v, want CallStarted", ev)
	}
	response(t, tx, 486)
	if ev := h.next(t); ev.Type != telephony.Ended || ev.Cause != "user_busy" || ev.CauseCode != 17 {
		t.Fatalf("got %s %q %d, want Ended user_busy 17", ev.Type, ev.Cause, ev.CauseCode)
	}
}

func TestRingTimeout(t *testing.T) {
	h := start(t, func(c *Config) { c.RingTimeout = 300 * time.Millisecond })
	c := newClient(t)
	_, tx := c.invite(t, h.udp, "UDP", "", "4000")
	h.next(t)
	response(t, tx, 480)
	if ev := h.next(t); ev.Type != telephony.Ended || ev.Cause != telephony.CauseNoAnswer {
		t.Fatalf("got %s %q, want Ended no_answer", ev.Type, ev.Cause)
	}
}

func TestShutdownReleasesRingingCalls(t *testing.T) {
	h := start(t, nil)
	c := newClient(t)
	_, tx := c.invite(t, h.udp, "UDP", "", "5000")
	h.next(t)
	response(t, tx, 180)
	h.stop(t)
	response(t, tx, 480)
	if ev := h.next(t); ev.Type != telephony.Ended || ev.Cause != telephony.CauseLost {
		t.Fatalf("got %s %q, want Ended lost", ev.Type, ev.Cause)
	}
}

func TestTrustedPAI(t *testing.T) {
	pai := sipmsg.NewHeader("P-Asserted-Identity", `"Asserted" <sip:+982188776655@pbx>`)
	for _, trusted := range []bool{true, false} {
		t.Run(fmt.Sprint("trusted=", trusted), func(t *testing.T) {
			h := start(t, func(c *Config) {
				if trusted {
					c.TrustedPAI = []string{"127.0.0.0/8"}
				} else {
					c.TrustedPAI = []string{"192.0.2.1"}
				}
			})
			c := newClient(t)
			c.invite(t, h.udp, "UDP", "Claimed", "1000", pai)
			ev := h.next(t)
			want := telephony.Party{Name: "Claimed", Number: "1000"}
			if trusted {
				want = telephony.Party{Name: "Asserted", Number: "+982188776655"}
			}
			if ev.Call.Caller != want {
				t.Errorf("caller = %+v, want %+v", ev.Call.Caller, want)
			}
		})
	}
}

func TestDigestAuthentication(t *testing.T) {
	h := start(t, func(c *Config) {
		c.FinalCode = 486 // so that a call ends on its own
		c.Auth = Auth{Realm: "tamas", Users: map[string]string{"pbx": "s3cret"}, NonceTTL: time.Minute}
	})
	c := newClient(t)

	// Without credentials: challenged, and no call.
	_, tx := c.invite(t, h.udp, "UDP", "", "1000")
	chal := response(t, tx, 401)
	if hdr := chal.GetHeader("WWW-Authenticate"); hdr == nil || !strings.Contains(hdr.Value(), `realm="tamas"`) {
		t.Fatalf("401 without a challenge for our realm: %v", hdr)
	}
	h.quiet(t, 200*time.Millisecond)

	call := func(password string) error {
		dua := sipgo.DialogUA{Client: c.c, ContactHDR: sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: "pbx", Host: "127.0.0.1"}}}
		host, port, _ := sipmsg.ParseAddr(h.udp)
		sess, err := dua.Invite(context.Background(), sipmsg.Uri{Scheme: "sip", User: "18005550100", Host: host, Port: port}, nil)
		if err != nil {
			return err
		}
		defer sess.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return sess.WaitAnswer(ctx, sipgo.AnswerOptions{Username: "pbx", Password: password})
	}
	err := call("s3cret")
	if resErr, ok := err.(*sipgo.ErrDialogResponse); !ok || resErr.Res.StatusCode != 486 {
		t.Fatalf("authenticated INVITE: %v, want 486 from the configured final code", err)
	}
	if ev := h.next(t); ev.Type != telephony.CallStarted {
		t.Fatalf("got %s, want CallStarted", ev.Type)
	}
	h.next(t) // Ended

	err = call("wrong")
	if resErr, ok := err.(*sipgo.ErrDialogResponse); !ok || resErr.Res.StatusCode != 403 {
		t.Fatalf("wrong password: %v, want 403", err)
	}
	h.quiet(t, 200*time.Millisecond)
	if got := value(h.e.m.auth.WithLabelValues("failed")); got != 1 {
		t.Errorf("auth failures = %v, want 1", got)
	}
}

func TestOptionsAndUnknownMethods(t *testing.T) {
	h := start(t, nil)
	c := newClient(t)
	host, port, _ := sipmsg.ParseAddr(h.udp)
	uri := sipmsg.Uri{Scheme: "sip", Host: host, Port: port}
	if res := do(t, c, sipmsg.NewRequest(sipmsg.OPTIONS, uri)); res.StatusCode != 200 || res.GetHeader("Allow") == nil {
		t.Errorf("OPTIONS answered %d", res.StatusCode)
	}
	if res := do(t, c, sipmsg.NewRequest(sipmsg.MESSAGE, uri)); res.StatusCode != 405 {
		t.Errorf("MESSAGE answered %d, want 405", res.StatusCode)
	}
	if res := do(t, c, sipmsg.NewRequest(sipmsg.RequestMethod("FROBNICATE"), uri)); res.StatusCode != 405 {
		t.Errorf("unknown method answered %d, want 405", res.StatusCode)
	}
	if got := value(h.e.m.requests.WithLabelValues("other")); got != 1 {
		t.Errorf("unknown methods counted %v, want 1 under \"other\"", got)
	}
}

func TestAllowFrom(t *testing.T) {
	h := start(t, func(c *Config) { c.AllowFrom = []string{"192.0.2.0/24"} })
	r := dialUDP(t, h.udp)
	r.send(t, rawInvite(r.addr, "acl-1", "acl-1", `<sip:1000@x>`))
	r.expect(t, 403)
	h.quiet(t, 200*time.Millisecond)
}

// TestRecordedExchanges replays INVITEs and a CANCEL that real Asterisk and
// SIPp exchanged, as a PBX would send them to the endpoint.
func TestRecordedExchanges(t *testing.T) {
	h := start(t, nil)

	r := dialUDP(t, h.udp)
	r.send(t, fixtureRequest(t, "caller_hangup_cancel.messages.log", "INVITE "))
	r.expect(t, 100)
	ringing := r.expect(t, 180)
	ev := h.next(t)
	if ev.Type != telephony.CallStarted || ev.Call.ID != "1-22357@127.0.0.1" ||
		ev.Call.Caller != (telephony.Party{Name: "Abandoning Caller", Number: "+442071234567"}) || ev.Call.DNIS != "4001" {
		t.Fatalf("got %+v", ev)
	}
	r.send(t, fixtureRequest(t, "caller_hangup_cancel.messages.log", "CANCEL "))
	r.expect(t, 200)
	if res := r.expect(t, 487); tagOf(res) != tagOf(ringing) {
		t.Errorf("487 tag differs from 180's")
	}
	r.send(t, fixtureRequest(t, "caller_hangup_cancel.messages.log", "ACK "))
	if ev := h.next(t); ev.Type != telephony.Ended || ev.Cause != telephony.CauseOriginatorCancel {
		t.Fatalf("got %s %q", ev.Type, ev.Cause)
	}

	// Asterisk dialling an endpoint (with PAI, from 127.0.0.1, which is
	// not trusted here).
	r2 := dialUDP(t, h.udp)
	r2.send(t, fixtureRequest(t, "agent_call_uas.messages.log", "INVITE sip:agent1000"))
	r2.expect(t, 180)
	ev = h.next(t)
	if ev.Call.ID != "661671f3-e6f1-4e1c-ad66-3f9894841787" || ev.Call.DNIS != "agent1000" || ev.Call.Caller.Number != "+14155550123" {
		t.Fatalf("got %+v", ev.Call)
	}
	// Its re-INVITE, in a dialog we never made: 481.
	r3 := dialUDP(t, h.udp)
	r3.send(t, fixtureRequest(t, "agent_call_uas.messages.log", "INVITE sip:127.0.0.1:5072"))
	r3.expect(t, 481)
	h.quiet(t, 100*time.Millisecond)
}

func TestRetransmissionsAndMergedRequests(t *testing.T) {
	h := start(t, nil)
	r := dialUDP(t, h.udp)
	inv := rawInvite(r.addr, "dup-1", "b1", `<sip:1000@x>`)
	r.send(t, inv)
	r.expect(t, 180)
	r.send(t, inv) // a retransmission: same transaction, no new call
	r.expect(t, 180)
	h.next(t)
	h.quiet(t, 200*time.Millisecond)

	// Same Call-ID, another branch: the fork reached us twice.
	r.send(t, rawInvite(r.addr, "dup-1", "b2", `<sip:1000@x>`))
	r.expect(t, 482)

	r.send(t, rawCancel(r.addr, "dup-1", "b1", `<sip:1000@x>`))
	r.expect(t, 487)
	if ev := h.next(t); ev.Type != telephony.Ended {
		t.Fatalf("got %s", ev.Type)
	}
	// A CANCEL for nothing.
	r.send(t, rawCancel(r.addr, "nothing", "b9", `<sip:1000@x>`))
	r.expect(t, 481)
	h.quiet(t, 100*time.Millisecond)
}

// TestBadInput throws garbage, broken requests and hostile identities at
// the endpoint, and checks each is answered or dropped, logged and counted,
// and that the endpoint keeps taking calls.
func TestBadInput(t *testing.T) {
	h := start(t, nil)
	r := dialUDP(t, h.udp)

	r.send(t, "\x00\x01garbage that is not SIP at all\xff")
	if res := r.recv(t, 300*time.Millisecond); res != nil {
		t.Errorf("garbage answered %d", res.StatusCode)
	}

	// A broken URI in From makes the whole message unparseable; it still
	// carries enough to be answered.
	broken := strings.Replace(rawInvite(r.addr, "bad-1", "bad-1", `<sip:1000@x>`), "From: <sip:1000@x>", "From: <no-scheme-here>", 1)
	r.send(t, broken)
	if raw := r.recvRaw(t, 2*time.Second); !strings.HasPrefix(raw, "SIP/2.0 400 ") || !strings.Contains(raw, "\r\nCall-ID: bad-1\r\n") {
		t.Errorf("no 400 carrying the request's Call-ID:\n%s", raw)
	}
	// A broken Contact: the 400 does not copy it, so even sipgo can read
	// the answer.
	r.send(t, strings.Replace(rawInvite(r.addr, "bad-1c", "bad-1c", `<sip:1@x>`), "Contact: <sip:caller@"+r.addr, "Contact: <sip:caller@127.0.0.1:port", 1))
	if res := r.expect(t, 400); res.CallID() == nil || res.CallID().Value() != "bad-1c" {
		t.Errorf("400 does not carry the request's Call-ID")
	}

	// A broken Request-URI.
	r.send(t, strings.Replace(rawInvite(r.addr, "bad-2", "bad-2", `<sip:1@x>`), "INVITE sip:18005550100@tamas SIP/2.0", "INVITE sip:[::1 SIP/2.0", 1))
	r.expect(t, 400)

	// Missing headers.
	r.send(t, strings.Replace(rawInvite(r.addr, "bad-3", "bad-3", `<sip:1@x>`), "Call-ID: bad-3\r\n", "", 1))
	r.expect(t, 400)
	r.send(t, strings.Replace(rawInvite(r.addr, "bad-4", "bad-4", `<sip:1@x>`), "To: <sip:18005550100@tamas>\r\n", "", 1))
	r.expect(t, 400)
	// Missing Via: nowhere to answer, dropped.
	noVia := rawInvite(r.addr, "bad-5", "bad-5", `<sip:1@x>`)
	noVia = noVia[:strings.Index(noVia, "Via:")] + noVia[strings.Index(noVia, "From:"):]
	r.send(t, noVia)
	if res := r.recv(t, 300*time.Millisecond); res != nil {
		t.Errorf("request without Via answered %d", res.StatusCode)
	}
	// CSeq method not the request's.
	r.send(t, strings.Replace(rawInvite(r.addr, "bad-6", "bad-6", `<sip:1@x>`), "CSeq: 1 INVITE", "CSeq: 1 BYE", 1))
	r.expect(t, 400)

	h.quiet(t, 100*time.Millisecond)
	for reason, want := range map[string]float64{
		"unparseable": 4, "missing_call-id": 1, "missing_to": 1, "missing_via": 1, "cseq_method": 1,
	} {
		if got := value(h.e.m.malformed.WithLabelValues("udp", reason)); got != want {
			t.Errorf("malformed %s = %v, want %v", reason, got, want)
		}
	}
	if !strings.Contains(h.logs.String(), "malformed message refused") {
		t.Error("no log line for malformed messages")
	}

	// Over UDP, a 2 KB caller ID makes a request whose answers sipgo
	// cannot send: refused at once with 513.
	long := strings.Repeat("7", 2048)
	r.send(t, rawInvite(r.addr, "evil-0", "evil-0", `"X" <sip:`+long+`@x>`))
	r.expect(t, 513)
	h.quiet(t, 100*time.Millisecond)
	if got := value(h.e.m.malformed.WithLabelValues("udp", "too_large")); got != 1 {
		t.Errorf("too large counted %v", got)
	}

	// Hostile identities: the call is caught, the identity cleaned.
	r.send(t, rawInvite(r.addr, "evil-1", "evil-1", `"<img src=x onerror=alert(1)>" <sip:`+strings.Repeat("7", 100)+`@x>`,
		"Remote-Party-ID: \"Bad\xffName\" <sip:+14155550123@x>;party=calling"))
	r.expect(t, 180)
	ev := h.next(t)
	if ev.Call.Caller.Number != "+14155550123" || ev.Call.Caller.Name != "Bad\uFFFDName" {
		t.Errorf("caller = %+v", ev.Call.Caller)
	}
	for _, k := range []struct{ header, kind string }{
		{HeaderFrom, string(ProblemNumberTooLong)}, {HeaderFrom, string(ProblemNameMarkup)}, {HeaderRPID, string(ProblemInvalidUTF8)},
	} {
		if got := value(h.e.m.identity.WithLabelValues(k.header, k.kind)); got != 1 {
			t.Errorf("identity problem %s/%s counted %v, want 1", k.header, k.kind, got)
		}
	}
	if logs := h.logs.String(); !strings.Contains(logs, "caller identity problem") || strings.Contains(logs, strings.Repeat("7", 100)) {
		t.Error("identity problems not logged, or logged at full length")
	}
	r.send(t, rawCancel(r.addr, "evil-1", "evil-1", `"x" <sip:1@x>`))
	r.expect(t, 487)
	h.next(t)

	// Over TCP the 2 KB number fits: the call is caught without it.
	tc := newClient(t)
	_, ttx := tc.invite(t, h.tcp, "TCP", "Long", long, sipmsg.NewHeader("Remote-Party-ID", `<sip:+14155550124@x>`))
	response(t, ttx, 180)
	if ev := h.next(t); ev.Call.Caller != (telephony.Party{Name: "Long", Number: "+14155550124"}) {
		t.Errorf("caller = %+v", ev.Call.Caller)
	}

	// Still serving: a good call over a fresh socket goes through.
	c := newClient(t)
	_, tx := c.invite(t, h.udp, "UDP", "After", "+14155550123")
	response(t, tx, 180)
	if ev := h.next(t); ev.Type != telephony.CallStarted || ev.Call.Caller.Name != "After" {
		t.Fatalf("got %+v after bad input", ev)
	}
}

func TestGarbageOverTCP(t *testing.T) {
	h := start(t, nil)
	conn, err := net.Dial("tcp", h.tcp)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = conn.Write([]byte("this is not SIP\r\nat: all\r\n\r\n"))
	// sipgo closes a stream it cannot frame.
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := conn.Read(make([]byte, 100)); err == nil {
		t.Error("connection still open after garbage")
	}
	deadline := time.Now().Add(2 * time.Second)
	for value(h.e.m.malformed.WithLabelValues("tcp", "unparseable")) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("TCP garbage not counted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// And TCP still takes calls.
	c := newClient(t)
	_, tx := c.invite(t, h.tcp, "TCP", "", "1000")
	response(t, tx, 180)
	h.next(t)
}

func TestSlowHandlerDropsRatherThanStalls(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Listen = []Listener{{Network: "udp", Addr: "127.0.0.1:0"}}
	cfg.EventBuffer = 1
	cfg.FinalCode = 486
	cfg.ShutdownTimeout = time.Second
	e, err := NewEndpoint(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	unblock := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- e.Run(ctx, func(context.Context, telephony.Event) { <-unblock })
	}()
	<-e.Ready()
	c := newClient(t)
	for i := range 5 {
		_, tx := c.invite(t, e.Addrs()[0].String(), "UDP", "", fmt.Sprint(1000+i))
		// Answered at once although the handler is stuck.
		response(t, tx, 486)
	}
	if got := value(e.m.dropped); got < 5 {
		t.Errorf("dropped = %v, want at least 5 of 10 events", got)
	}
	close(unblock)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestConfigValidation(t *testing.T) {
	bad := []func(*Config){
		func(c *Config) { c.Listen = nil },
		func(c *Config) { c.Listen = []Listener{{Network: "sctp", Addr: ":5060"}} },
		func(c *Config) { c.Listen = []Listener{{Network: "udp", Addr: "nope"}} },
		func(c *Config) { c.TrustedPAI = []string{"10.0.0.0/33"} },
		func(c *Config) { c.AllowFrom = []string{"pbx.example.com"} },
		func(c *Config) { c.FinalCode = 200 },
		func(c *Config) { c.Auth.Realm = "r" },
		func(c *Config) { c.EventBuffer = 0 },
	}
	for i, mutate := range bad {
		cfg := DefaultConfig()
		mutate(&cfg)
		if _, err := NewEndpoint(cfg, nil, nil); err == nil {
			t.Errorf("case %d: accepted", i)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("default config: %v", err)
	}
}

// Digest passwords never reach a log line or fmt output, however the
// configuration is printed.
func TestConfigHidesPasswords(t *testing.T) {
	const pw = "digest-pa55w0rd"
	cfg := DefaultConfig()
	cfg.Auth.Realm = "tamas"
	cfg.Auth.Users = map[string]string{"pbx": pw}
	var logs bytes.Buffer
	for _, hd := range []slog.Handler{slog.NewTextHandler(&logs, nil), slog.NewJSONHandler(&logs, nil)} {
		slog.New(hd).Info("config", "sip", cfg, "auth", cfg.Auth)
	}
	for _, s := range []string{logs.String(), fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg),
		fmt.Sprint(cfg.Auth), fmt.Sprintf("%#v", cfg.Auth)} {
		if strings.Contains(s, pw) {
			t.Errorf("password shown: %s", s)
		}
	}
	if !strings.Contains(logs.String(), "tamas") {
		t.Errorf("the realm is not logged: %s", logs.String())
	}
}

func TestParseUsers(t *testing.T) {
	u, err := ParseUsers([]byte("# pbx trunks\npbx:s3cret\n\nother: pa:ss \n"))
	if err != nil || u["pbx"] != "s3cret" || u["other"] != "pa:ss" || len(u) != 2 {
		t.Errorf("got %v, %v", u, err)
	}
	if _, err := ParseUsers([]byte("nopassword\n")); err == nil || strings.Contains(err.Error(), "nopassword") {
		t.Errorf("bad line: %v", err)
	}
}

func TestRunTwiceAndBindFailure(t *testing.T) {
	h := start(t, nil)
	if err := h.e.Run(context.Background(), func(context.Context, telephony.Event) {}); err == nil {
		t.Error("second Run accepted")
	}
	cfg := DefaultConfig()
	cfg.Listen = []Listener{{Network: "udp", Addr: h.udp}}
	e, err := NewEndpoint(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Run(context.Background(), func(context.Context, telephony.Event) {}); err == nil {
		t.Error("bound an address already in use")
	}
}

// FuzzReadFilter feeds arbitrary datagrams to the guard: it must never
// panic nor return an error (sipgo stops reading the socket on one).
func FuzzReadFilter(f *testing.F) {
	f.Add([]byte(rawInvite("127.0.0.1:5070", "f1", "f1", `"A" <sip:1@x>`)))
	f.Add([]byte("INVITE sip:x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <bad>\r\n\r\n"))
	f.Add([]byte("SIP/2.0 200 OK\r\n\r\n"))
	f.Add([]byte("\r\n\r\n"))
	cfg := DefaultConfig()
	e, err := NewEndpoint(cfg, nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	props := sipmsg.TransportReadProps{Transport: "UDP",
		LocalAddr:  &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5080},
		RemoteAddr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5070}}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := e.readFilter(props, data)
		if err != nil {
			t.Fatalf("filter error %v", err)
		}
		if out != nil && !bytes.Equal(out, data) {
			t.Fatal("filter altered a datagram it let through")
		}
	})
}

func TestTCPConnectionDropEndsCall(t *testing.T) {
	h := start(t, nil)
	conn, err := net.Dial("tcp", h.tcp)
	if err != nil {
		t.Fatal(err)
	}
	local := conn.LocalAddr().String()
	inv := strings.Replace(rawInvite(local, "tcp-drop", "tcp-drop", `"T" <sip:1000@x>`), "SIP/2.0/UDP", "SIP/2.0/TCP", 1)
	if _, err := conn.Write([]byte(inv)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got []byte
	buf := make([]byte, 4096)
	for !bytes.Contains(got, []byte("SIP/2.0 180 ")) {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no 180 over TCP: %v\n%s", err, got)
		}
		got = append(got, buf[:n]...)
	}
	if ev := h.next(t); ev.Type != telephony.CallStarted || ev.Call.ID != "tcp-drop" {
		t.Fatalf("got %+v", ev)
	}
	conn.Close()
	if ev := h.next(t); ev.Type != telephony.Ended || ev.Cause != telephony.CauseLost {
		t.Fatalf("got %s %q, want Ended lost when the PBX's connection drops", ev.Type, ev.Cause)
	}
}

func TestMissingHeaderOverTCP(t *testing.T) {
	h := start(t, nil)
	conn, err := net.Dial("tcp", h.tcp)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	inv := strings.Replace(rawInvite(conn.LocalAddr().String(), "tcp-noto", "tcp-noto", `<sip:1@x>`), "SIP/2.0/UDP", "SIP/2.0/TCP", 1)
	inv = strings.Replace(inv, "To: <sip:18005550100@tamas>\r\n", "", 1)
	if _, err := conn.Write([]byte(inv)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil || !bytes.HasPrefix(buf[:n], []byte("SIP/2.0 400 ")) {
		t.Fatalf("got %q, %v; want 400", buf[:n], err)
	}
	if got := value(h.e.m.malformed.WithLabelValues("tcp", "missing_to")); got != 1 {
		t.Errorf("counted %v", got)
	}
	h.quiet(t, 100*time.Millisecond)
}

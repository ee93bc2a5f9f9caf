package callgen_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"go.uber.org/goleak"

	"github.com/tamas-cc/tamas/internal/testkit"
	"github.com/tamas-cc/tamas/telephony"
	"github.com/tamas-cc/tamas/telephony/sip"
	"github.com/tamas-cc/tamas/telephony/sip/callgen"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// endpoint runs the Tamas SIP endpoint on loopback and collects its events.
func endpoint(t *testing.T, mutate func(*sip.Config)) (addr func(network string) string, events <-chan telephony.Event) {
	t.Helper()
	cfg := sip.DefaultConfig()
	cfg.Listen = []sip.Listener{{Network: "udp", Addr: "127.0.0.1:0"}, {Network: "tcp", Addr: "127.0.0.1:0"}}
	cfg.ShutdownTimeout = 2 * time.Second
	if mutate != nil {
		mutate(&cfg)
	}
	e, err := sip.NewEndpoint(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan telephony.Event, 1000)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx, func(_ context.Context, ev telephony.Event) { ch <- ev }) }()
	<-e.Ready()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return func(network string) string {
		for _, a := range e.Addrs() {
			if a.Network() == network {
				return a.String()
			}
		}
		t.Fatalf("no %s listener", network)
		return ""
	}, ch
}

func TestCallsToTheEndpoint(t *testing.T) {
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			addr, events := endpoint(t, nil)
			var mu sync.Mutex
			sent := map[string]bool{}
			s, err := callgen.Run(context.Background(), callgen.Options{
				Target:    "sip:18005550100@" + addr(transport),
				Transport: transport,
				Rate:      50, Total: 10, Concurrency: 10, Hold: 300 * time.Millisecond,
				Callers: []callgen.Caller{{Number: "+14155550123", Name: `The "Boss"`}, {Number: "09121234567", Name: "<b>x</b>"}},
				PAI:     true,
				OnInviteSent: func(id string, _ time.Time) {
					mu.Lock()
					sent[id] = true
					mu.Unlock()
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			if s.Placed != 10 || s.Ringing != 10 || s.Cancelled != 10 || s.Failed != 0 || s.Ring.N != 10 || s.Codes[487] != 10 {
				t.Fatalf("summary:\n%s", s)
			}
			if s.Rate < 25 || s.Rate > 100 {
				t.Errorf("rate %.1f/s, asked for 50", s.Rate)
			}
			if s.Ring.P50 <= 0 || s.Ring.Max < s.Ring.P99 || s.Ring.P99 < s.Ring.P50 {
				t.Errorf("latencies out of order: %s", s.Ring)
			}
			started, ended := 0, 0
			for started+ended < 20 {
				select {
				case ev := <-events:
					if !sent[ev.Call.ID] {
						t.Errorf("event for a call we did not place: %s", ev.Call.ID)
					}
					switch ev.Type {
					case telephony.CallStarted:
						started++
						if ev.Call.Caller.Name != `The "Boss"` && ev.Call.Caller.Name != "<b>x</b>" {
							t.Errorf("caller name %q", ev.Call.Caller.Name)
						}
					case telephony.Ended:
						ended++
						if ev.Cause != telephony.CauseOriginatorCancel {
							t.Errorf("cause %q", ev.Cause)
						}
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("%d started, %d ended", started, ended)
				}
			}
		})
	}
}

func TestRejectedCalls(t *testing.T) {
	addr, _ := endpoint(t, func(c *sip.Config) { c.FinalCode = 486 })
	s, err := callgen.Run(context.Background(), callgen.Options{Target: "sip:100@" + addr("udp"), Total: 5, Concurrency: 5})
	if err != nil {
		t.Fatal(err)
	}
	if s.Rejected != 5 || s.Codes[486] != 5 || s.Final.N != 5 || s.Ringing != 0 {
		t.Fatalf("summary:\n%s", s)
	}
}

// peer is a SIP phone that answers every call, as Asterisk would: 180,
// then 200 with SDP; it records DTMF received by INFO and hang-ups.
type peer struct {
	addr string
	mu   sync.Mutex
	dtmf map[string]string // Call-ID → digits
	byes int
	sdp  bool
}

func (p *peer) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.byes
}

func answeringPeer(t *testing.T, hangupAfter time.Duration) *peer {
	t.Helper()
	p := &peer{dtmf: map[string]string{}}
	quiet := slog.New(slog.DiscardHandler)
	ua, err := sipgo.NewUA(sipgo.WithUserAgentTransactionLayerOptions(sipmsg.WithTransactionLayerLogger(quiet)),
		sipgo.WithUserAgentTransportLayerOptions(sipmsg.WithTransportLayerLogger(quiet)))
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := sipgo.NewServer(ua, sipgo.WithServerLogger(quiet))
	cli, _ := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientLogger(quiet))
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = pc.LocalAddr().String()
	host, port, _ := sipmsg.ParseAddr(p.addr)
	dialogs := sipgo.NewDialogServerCache(cli, sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", Host: host, Port: port}})
	srv.OnInvite(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		d, err := dialogs.ReadInvite(req, tx)
		if err != nil {
			return
		}
		p.mu.Lock()
		p.sdp = p.sdp || strings.Contains(string(req.Body()), "m=audio")
		p.mu.Unlock()
		_ = d.Respond(180, "Ringing", nil)
		if err := d.RespondSDP([]byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0\r\n")); err != nil {
			return
		}
		if hangupAfter > 0 {
			// sipgo gives each request its own goroutine: this one may
			// wait to hang up.
			select {
			case <-time.After(hangupAfter):
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = d.Bye(ctx)
			case <-d.Context().Done():
			}
		}
	})
	srv.OnAck(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) { _ = dialogs.ReadAck(req, tx) })
	srv.OnInfo(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		body := string(req.Body())
		if sig, ok := strings.CutPrefix(body, "Signal="); ok {
			p.mu.Lock()
			p.dtmf[req.CallID().Value()] += sig[:1]
			p.mu.Unlock()
		}
		_ = tx.Respond(sipmsg.NewResponseFromRequest(req, 200, "OK", nil))
	})
	srv.OnBye(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		if err := dialogs.ReadBye(req, tx); err == nil {
			p.mu.Lock()
			p.byes++
			p.mu.Unlock()
		}
	})
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.ServeUDP(pc) }()
	t.Cleanup(func() {
		pc.Close()
		ua.Close()
		<-done
	})
	return p
}

func TestAnsweredCallsWithDTMF(t *testing.T) {
	p := answeringPeer(t, 0)
	s, err := callgen.Run(context.Background(), callgen.Options{
		Target: "sip:ivr@" + p.addr, Total: 3, Concurrency: 3, Hold: 600 * time.Millisecond,
		DTMF: "15#", DTMFGap: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.Answered != 3 || s.Codes[200] != 3 || s.Final.N != 3 || s.Failed != 0 || len(s.Errors) != 0 {
		t.Fatalf("summary:\n%s", s)
	}
	// The peer counts a BYE once it has answered it.
	deadline := time.Now().Add(2 * time.Second)
	for p.count() < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byes != 3 || len(p.dtmf) != 3 || !p.sdp {
		t.Fatalf("peer saw %d BYEs, DTMF %v, SDP %v", p.byes, p.dtmf, p.sdp)
	}
	for id, d := range p.dtmf {
		if d != "15#" {
			t.Errorf("%s: DTMF %q, want 15#", id, d)
		}
	}
}

func TestFarEndHangsUp(t *testing.T) {
	p := answeringPeer(t, 100*time.Millisecond)
	start := time.Now()
	s, err := callgen.Run(context.Background(), callgen.Options{Target: "sip:ivr@" + p.addr, Total: 2, Hold: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if s.Answered != 2 || s.Failed != 0 {
		t.Fatalf("summary:\n%s", s)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("run took %s: the far end's BYE was not noticed", el)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byes != 0 {
		t.Errorf("we sent %d BYEs after the far end hung up", p.byes)
	}
}

func TestUnreachableTargetFails(t *testing.T) {
	// A socket that reads nothing: INVITEs go unanswered.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	s, err := callgen.Run(ctx, callgen.Options{Target: "sip:1@" + pc.LocalAddr().String(), Total: 1, Hold: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if s.Placed != 1 || s.Failed != 1 || s.Ringing != 0 {
		t.Fatalf("summary:\n%s", s)
	}
}

func TestOptionsErrors(t *testing.T) {
	for _, o := range []callgen.Options{
		{Target: "not a uri"},
		{Target: "tel:+1415"},
		{Target: "sip:1@127.0.0.1", Transport: "sctp"},
		{Target: "sip:1@127.0.0.1", DTMF: "1x"},
		{Target: "sip:1@127.0.0.1", Rate: -1},
	} {
		if _, err := callgen.Run(context.Background(), o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

func TestReadCallers(t *testing.T) {
	in := "# test callers\n+14155550123,Alice Smith\n\n09121234567,\"Doe, John\"\r\n+989121234567\n" +
		"<script>,<img src=x>\n"
	got, err := callgen.ReadCallers(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []callgen.Caller{
		{Number: "+14155550123", Name: "Alice Smith"}, {Number: "09121234567", Name: "Doe, John"},
		{Number: "+989121234567"}, {Number: "<script>", Name: "<img src=x>"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := callgen.ReadCallers(strings.NewReader(",name only\n")); err == nil {
		t.Error("line without a number accepted")
	}
	if c := callgen.Sequence("+98912", 1000000)(5); c.Number != "+989121000005" || c.Name != "Caller 6" {
		t.Errorf("sequence gave %+v", c)
	}
}

// TestAgainstSIPp calls SIPp's built-in answering scenario (INVITE, 180,
// 200, ACK, BYE): a third-party SIP stack must find our calls correct.
func TestAgainstSIPp(t *testing.T) {
	sippPath, err := exec.LookPath("sipp")
	if err != nil {
		testkit.Unavailable(t, "sipp not installed (Debian package sip-tester)")
	}
	free, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := free.LocalAddr().(*net.UDPAddr).Port
	free.Close()

	const calls = 5
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sippPath, "-sn", "uas", "-i", "127.0.0.1", "-p", fmt.Sprint(port),
		"-m", fmt.Sprint(calls), "-nostdin", "-timeout", "20s", "-timeout_error")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// SIPp is up once its port is taken.
	for {
		probe, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			break
		}
		probe.Close()
		if ctx.Err() != nil {
			t.Fatalf("sipp did not start:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	s, err := callgen.Run(ctx, callgen.Options{
		Target: fmt.Sprintf("sip:service@127.0.0.1:%d", port), Total: calls, Rate: 20, Hold: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("sipp: %v\n%s\nsummary:\n%s", err, out.String(), s)
	}
	if s.Answered != calls || s.Failed != 0 || s.Codes[200] != calls {
		t.Fatalf("summary:\n%s", s)
	}
}

func TestHostileCallersStillMakeValidRequests(t *testing.T) {
	addr, events := endpoint(t, nil)
	s, err := callgen.Run(context.Background(), callgen.Options{
		Target: "sip:18005550100@" + addr("udp"), Total: 1, Hold: 200 * time.Millisecond,
		Callers: []callgen.Caller{{Number: "<img src=x>", Name: `a"b\c <script>`}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.Ringing != 1 {
		t.Fatalf("summary:\n%s", s)
	}
	ev := <-events
	if ev.Call.Caller.Number != "" || ev.Call.Caller.Name != `a"b\c <script>` {
		t.Errorf("caller %+v: the number must be refused, the name kept", ev.Call.Caller)
	}
	<-events
}

package push_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/tamas-cc/tamas/screenpop"
	"github.com/tamas-cc/tamas/screenpop/membus"
	"github.com/tamas-cc/tamas/web/push"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type frame struct {
	Type    string          `json:"type"`
	Channel string          `json:"channel"`
	Epoch   string          `json:"epoch"`
	Seq     uint64          `json:"seq"`
	Data    json.RawMessage `json:"data"`
	User    string          `json:"user"`
}

type rig struct {
	t   *testing.T
	bus screenpop.Bus
	hub *push.Hub
	srv *httptest.Server
	// check is consulted by every console's session check.
	mu    sync.Mutex
	check error
}

func newRig(t *testing.T, bus screenpop.Bus, o push.Options) *rig {
	t.Helper()
	r := &rig{t: t, bus: bus}
	o.Bus = bus
	r.hub = push.New(o)
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		user, role := req.URL.Query().Get("user"), req.URL.Query().Get("role")
		channels := []string{screenpop.UserChannel(user)}
		if role == "supervisor" {
			channels = append(channels, screenpop.SupervisorChannel)
		} else {
			role = "agent"
		}
		r.hub.ServeConsole(w, req, push.Client{
			Username: user, Role: role, Channels: channels,
			Check: func(context.Context) error {
				r.mu.Lock()
				defer r.mu.Unlock()
				return r.check
			},
		})
	}))
	t.Cleanup(func() {
		r.hub.Close()
		r.srv.Close()
		bus.Close()
	})
	return r
}

type console struct {
	t  *testing.T
	ws *websocket.Conn
}

func (r *rig) dial(user string, hello any) *console {
	r.t.Helper()
	return r.dialAs(user, "agent", hello)
}

// dialAs connects user in role; a supervisor also gets the supervisors'
// channel.
func (r *rig) dialAs(user, role string, hello any) *console {
	r.t.Helper()
	url := "ws" + strings.TrimPrefix(r.srv.URL, "http") + "/?user=" + user + "&role=" + role
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		r.t.Fatalf("dial: %v", err)
	}
	r.t.Cleanup(func() { ws.Close() })
	if hello != nil {
		if err := ws.WriteJSON(hello); err != nil {
			r.t.Fatal(err)
		}
	}
	c := &console{t: r.t, ws: ws}
	if hello != nil {
		if f := c.next(); f.Type != "welcome" || f.User != user {
			r.t.Fatalf("first frame = %+v, want welcome for %s", f, user)
		}
	}
	return c
}

func fresh() map[string]any { return map[string]any{"type": "hello"} }

func resume(ch, epoch string, seq uint64) map[string]any {
	return map[string]any{"type": "hello", "resume": []map[string]any{{"channel": ch, "epoch": epoch, "seq": seq}}}
}

func (c *console) next() frame {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	var f frame
	if err := c.ws.ReadJSON(&f); err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return f
}

// closed waits for the server's close frame and returns its code and text.
func (c *console) closed() (int, string) {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := c.ws.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, ce.Text
		}
		if err != nil {
			c.t.Fatalf("connection ended without a close frame: %v", err)
		}
	}
}

// expectSeqs reads message frames and checks their seqs and payloads.
func (c *console) expectSeqs(ch string, seqs ...uint64) {
	c.t.Helper()
	for _, want := range seqs {
		f := c.next()
		if f.Type != "message" || f.Channel != ch || f.Seq != want {
			c.t.Fatalf("got %+v, want message %s #%d", f, ch, want)
		}
		if string(f.Data) != payload(want) {
			c.t.Fatalf("#%d data = %s, want %s", want, f.Data, payload(want))
		}
	}
}

func payload(seq uint64) string { return fmt.Sprintf(`{"n":%d}`, seq) }

func (r *rig) publish(ch string, from, to uint64) screenpop.Message {
	r.t.Helper()
	var m screenpop.Message
	for i := from; i <= to; i++ {
		var err error
		if m, err = r.bus.Publish(context.Background(), ch, []byte(payload(i))); err != nil {
			r.t.Fatal(err)
		}
		if m.Seq != i {
			r.t.Fatalf("published seq %d, want %d", m.Seq, i)
		}
	}
	return m
}

func waitConsoles(t *testing.T, h *push.Hub, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for h.Connections() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d consoles connected, want %d", h.Connections(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLiveMessagesReachOnlyTheirConsole(t *testing.T) {
	r := newRig(t, membus.New(screenpop.Retention{}), push.Options{})
	ali := r.dial("ali", fresh())
	sara := r.dial("sara", fresh())
	waitConsoles(t, r.hub, 2)
	// Subscriptions are ready once the welcome was sent and history read;
	// publishing after a Position round trip is enough here.
	time.Sleep(20 * time.Millisecond)
	r.publish("user:sara", 1, 1)
	r.publish("user:ali", 1, 3)
	ali.expectSeqs("user:ali", 1, 2, 3)
	sara.expectSeqs("user:sara", 1)
}

func TestFreshConsoleGetsRecentHistory(t *testing.T) {
	r := newRig(t, membus.New(screenpop.Retention{}), push.Options{FreshLimit: 3})
	r.publish("user:ali", 1, 5)
	c := r.dial("ali", fresh())
	c.expectSeqs("user:ali", 3, 4, 5)
	r.publish("user:ali", 6, 6)
	c.expectSeqs("user:ali", 6)
}

func TestResumeGetsExactlyWhatWasMissed(t *testing.T) {
	r := newRig(t, membus.New(screenpop.Retention{}), push.Options{})
	c := r.dial("ali", fresh())
	last := r.publish("user:ali", 1, 3)
	c.expectSeqs("user:ali", 1, 2, 3)
	c.ws.Close()
	waitConsoles(t, r.hub, 0)
	r.publish("user:ali", 4, 6)
	c = r.dial("ali", resume("user:ali", last.Epoch, 3))
	c.expectSeqs("user:ali", 4, 5, 6)
	r.publish("user:ali", 7, 7)
	c.expectSeqs("user:ali", 7)
}

func TestResumeFromAnotherEpochResets(t *testing.T) {
	r := newRig(t, membus.New(screenpop.Retention{}), push.Options{})
	last := r.publish("user:ali", 1, 2)
	c := r.dial("ali", resume("user:ali", "old-epoch", 9))
	f := c.next()
	if f.Type != "reset" || f.Channel != "user:ali" || f.Epoch != last.Epoch || f.Seq != 2 {
		t.Fatalf("got %+v, want reset to %s/2", f, last.Epoch)
	}
	c.expectSeqs("user:ali", 1, 2)
}

func TestResumeBeyondRetentionResets(t *testing.T) {
	r := newRig(t, membus.New(screenpop.Retention{Messages: 2}), push.Options{})
	last := r.publish("user:ali", 1, 5)
	c := r.dial("ali", resume("user:ali", last.Epoch, 1))
	if f := c.next(); f.Type != "reset" {
		t.Fatalf("got %+v, want reset", f)
	}
	c.expectSeqs("user:ali", 4, 5)
}

func TestSeqFromTheFutureIsRefused(t *testing.T) {
	r := newRig(t, membus.New(screenpop.Retention{}), push.Options{})
	last := r.publish("user:ali", 1, 2)
	c := r.dial("ali", nil)
	if err := c.ws.WriteJSON(resume("user:ali", last.Epoch, 50)); err != nil {
		t.Fatal(err)
	}
	if code, text := c.closed(); code != 4409 || text != "sequence from the future" {
		t.Fatalf("close %d %q, want 4409", code, text)
	}
	// Nothing else is disturbed: another console works.
	d := r.dial("ali", fresh())
	d.expectSeqs("user:ali", 1, 2)
}

func TestOthersChannelsCannotBeResumed(t *testing.T) {
	r := newRig(t, membus.New(screenpop.Retention{}), push.Options{})
	last := r.publish("user:sara", 1, 3)
	c := r.dial("ali", map[string]any{"type": "hello", "resume": []map[string]any{
		{"channel": "user:sara", "epoch": last.Epoch, "seq": 0},
	}})
	r.publish("user:ali", 1, 1)
	c.expectSeqs("user:ali", 1) // and nothing of sara's came first
}

func TestBadInputClosesCleanly(t *testing.T) {
	r := newRig(t, membus.New(screenpop.Retention{}), push.Options{HelloTimeout: 200 * time.Millisecond})
	cases := []struct {
		name string
		send func(*websocket.Conn) error
		code int
	}{
		{"garbage", func(ws *websocket.Conn) error { return ws.WriteMessage(websocket.TextMessage, []byte("<script>")) }, 4400},
		{"binary", func(ws *websocket.Conn) error { return ws.WriteMessage(websocket.BinaryMessage, []byte{1, 2}) }, 4400},
		{"not hello", func(ws *websocket.Conn) error { return ws.WriteJSON(map[string]any{"type": "pop"}) }, 4400},
		{"1 MB frame", func(ws *websocket.Conn) error {
			return ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello","x":"`+strings.Repeat("a", 1<<20)+`"}`))
		}, websocket.CloseMessageTooBig},
		{"silent", func(*websocket.Conn) error { return nil }, 4400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := r.dial("ali", nil)
			c.t = t
			_ = tc.send(c.ws) // the server may cut a 1 MB frame short
			if code, _ := c.closed(); code != tc.code {
				t.Fatalf("close code %d, want %d", code, tc.code)
			}
		})
	}
	// After a valid hello, garbage still closes.
	c := r.dial("ali", fresh())
	_ = c.ws.WriteMessage(websocket.TextMessage, []byte("{{{"))
	if code, _ := c.closed(); code != 4400 {
		t.Fatalf("close code %d, want 4400", code)
	}
	waitConsoles(t, r.hub, 0)
}

func TestSlowConsoleIsCutOffOthersUnaffected(t *testing.T) {
	r := newRig(t, membus.New(screenpop.Retention{Messages: 5000}), push.Options{SendQueue: 8, WriteTimeout: 500 * time.Millisecond})
	// Both listen to one channel: the slow one never reads.
	slow := r.dial("ali", fresh())
	fast := r.dial("ali", fresh())
	waitConsoles(t, r.hub, 2)
	time.Sleep(20 * time.Millisecond)
	// The fast console reads every frame; the slow one never reads, so its
	// socket buffers and then its queue fill up.
	big := strings.Repeat("x", 16<<10)
	for i := uint64(1); i <= 2000; i++ {
		if _, err := r.bus.Publish(context.Background(), "user:ali", []byte(fmt.Sprintf(`{"n":%d,"pad":%q}`, i, big))); err != nil {
			t.Fatal(err)
		}
		if f := fast.next(); f.Seq != i {
			t.Fatalf("fast console got #%d, want #%d", f.Seq, i)
		}
	}
	// The slow console was dropped while it still had not read a byte; its
	// close frame cannot get through a full socket, so it only sees the end.
	waitConsoles(t, r.hub, 1)
	_ = slow.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := slow.ws.ReadMessage(); err != nil {
			break
		}
	}
	waitConsoles(t, r.hub, 1)
}

func TestEndedSessionClosesConsole(t *testing.T) {
	r := newRig(t, membus.New(screenpop.Retention{}), push.Options{CheckInterval: 20 * time.Millisecond})
	c := r.dial("ali", fresh())
	r.mu.Lock()
	r.check = errors.New("logged out")
	r.mu.Unlock()
	if code, text := c.closed(); code != 4001 || text != "session ended" {
		t.Fatalf("close %d %q, want 4001 session ended", code, text)
	}
}

// lossy drops chosen live deliveries, as Redis pub/sub does while a node's
// connection is down, and can announce a reconnect.
type lossy struct {
	screenpop.Bus
	mu   sync.Mutex
	drop map[uint64]bool
	fns  []func(screenpop.Message)
}

func (l *lossy) Subscribe(ctx context.Context, ch string, fn func(screenpop.Message)) (func(), error) {
	l.mu.Lock()
	l.fns = append(l.fns, fn)
	l.mu.Unlock()
	return l.Bus.Subscribe(ctx, ch, func(m screenpop.Message) {
		l.mu.Lock()
		d := l.drop[m.Seq]
		l.mu.Unlock()
		if !d {
			fn(m)
		}
	})
}

func (l *lossy) reconnected() {
	l.mu.Lock()
	fns := append([]func(screenpop.Message){}, l.fns...)
	l.mu.Unlock()
	for _, fn := range fns {
		fn(screenpop.Message{})
	}
}

func TestLostLiveMessagesAreRecovered(t *testing.T) {
	bus := &lossy{Bus: membus.New(screenpop.Retention{}), drop: map[uint64]bool{2: true, 3: true, 6: true}}
	r := newRig(t, bus, push.Options{})
	c := r.dial("ali", fresh())
	waitConsoles(t, r.hub, 1)
	time.Sleep(20 * time.Millisecond)
	// 2 and 3 are lost live; 4 shows the gap and history fills it.
	r.publish("user:ali", 1, 5)
	c.expectSeqs("user:ali", 1, 2, 3, 4, 5)
	// 6 is lost with nothing after it: the reconnect hint recovers it.
	r.publish("user:ali", 6, 6)
	bus.reconnected()
	c.expectSeqs("user:ali", 6)
	r.publish("user:ali", 7, 7)
	c.expectSeqs("user:ali", 7)
}

func TestReconnectStormLosesAndDoublesNothing(t *testing.T) {
	r := newRig(t, membus.New(screenpop.Retention{}), push.Options{})
	const n = 200
	epochs := make([]string, n)
	for i := range n {
		m := r.publish(fmt.Sprintf("user:a%d", i), 1, 1)
		epochs[i] = m.Epoch
	}
	// Everyone saw #1 and then was away while #2..#4 were published.
	for i := range n {
		m, _ := r.bus.Publish(context.Background(), fmt.Sprintf("user:a%d", i), []byte(payload(2)))
		_ = m
		r.bus.Publish(context.Background(), fmt.Sprintf("user:a%d", i), []byte(payload(3)))
		r.bus.Publish(context.Background(), fmt.Sprintf("user:a%d", i), []byte(payload(4)))
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			user := fmt.Sprintf("a%d", i)
			ch := "user:" + user
			url := "ws" + strings.TrimPrefix(r.srv.URL, "http") + "/?user=" + user
			ws, _, err := websocket.DefaultDialer.Dial(url, nil)
			if err != nil {
				errs <- err
				return
			}
			defer ws.Close()
			_ = ws.WriteJSON(resume(ch, epochs[i], 1))
			_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
			want := []uint64{0, 2, 3, 4} // welcome, then 2..4 exactly
			for _, seq := range want {
				var f frame
				if err := ws.ReadJSON(&f); err != nil {
					errs <- fmt.Errorf("%s: %w", user, err)
					return
				}
				if (seq == 0 && f.Type != "welcome") || (seq != 0 && (f.Seq != seq || string(f.Data) != payload(seq))) {
					errs <- fmt.Errorf("%s: got %+v, want #%d", user, f, seq)
					return
				}
			}
			// Nothing doubled: the next frame is the live #5.
			if _, err := r.bus.Publish(context.Background(), ch, []byte(payload(5))); err != nil {
				errs <- err
				return
			}
			var f frame
			if err := ws.ReadJSON(&f); err != nil || f.Seq != 5 {
				errs <- fmt.Errorf("%s: after catch-up got %+v %v, want #5", user, f, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

package aritest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func mustLoad(t *testing.T, name string) *Transcript {
	t.Helper()
	tr, err := Load(name)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestTranscriptsLoad(t *testing.T) {
	names := Names()
	want := []string{"agent_call", "ari_info", "bridge_and_hangup", "caller_hangup",
		"inbound_sip_call", "listen_curl_demo", "local_originate", "snoop"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("Names() = %v, want %v", names, want)
	}
	for _, n := range names {
		tr := mustLoad(t, n)
		for _, f := range tr.Frames() {
			if f.Type == "" || !json.Valid(f.Data) || frameType(f.Data) != f.Type {
				t.Errorf("%s seq %d: frame type %q does not match its data", n, f.Seq, f.Type)
			}
		}
	}
	if got := len(mustLoad(t, "ari_info").Exchanges()); got != 11 {
		t.Errorf("ari_info exchanges = %d, want 11", got)
	}
	in := mustLoad(t, "inbound_sip_call")
	if got := len(in.Frames()); got != 14 {
		t.Errorf("inbound_sip_call frames = %d, want 14", got)
	}
	if a, b := len(in.FramesUntil(9)), len(in.FramesFrom(9)); a != 2 || a+b != 14 {
		t.Errorf("split at seq 9 = %d + %d, want 2 + 12", a, b)
	}
	if _, err := Load("no_such"); err == nil {
		t.Error("Load of a missing transcript did not fail")
	}
	if _, err := Parse("bad", strings.NewReader("{not json\n")); err == nil {
		t.Error("Parse accepted a broken line")
	}
}

type client struct {
	t    *testing.T
	base string
	user string
	pass string
}

func (c client) do(method, path string, q url.Values, body any) (int, []byte) {
	c.t.Helper()
	u := c.base + path
	if q != nil {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func newServer(t *testing.T) (*Server, client) {
	t.Helper()
	s := NewServer(Options{})
	t.Cleanup(func() {
		s.Close()
		http.DefaultClient.CloseIdleConnections()
	})
	return s, client{t: t, base: s.URL(), user: "tamas", pass: "secret"}
}

func TestRESTAnswers(t *testing.T) {
	s, c := newServer(t)
	s.Load(mustLoad(t, "ari_info"))

	if code, _ := (client{t: t, base: s.URL()}).do("GET", "/asterisk/info", nil, nil); code != 401 {
		t.Errorf("no credentials: %d, want 401", code)
	}
	if code, _ := (client{t: t, base: s.URL(), user: "tamas", pass: "wrong"}).do("GET", "/asterisk/info", nil, nil); code != 401 {
		t.Errorf("wrong password: %d, want 401", code)
	}
	if code, _ := (client{t: t, base: s.URL()}).do("GET", "/asterisk/ping", url.Values{"api_key": {"tamas:secret"}}, nil); code != 200 {
		t.Errorf("api_key: %d, want 200", code)
	}

	code, body := c.do("GET", "/endpoints", nil, nil)
	if code != 200 || !strings.Contains(string(body), `"resource":"agent1000"`) {
		t.Errorf("recorded GET /endpoints: %d %s", code, body)
	}
	code, body = c.do("GET", "/channels/does-not-exist", nil, nil)
	if code != 404 || !strings.Contains(string(body), "Channel not found") {
		t.Errorf("unknown channel: %d %s", code, body)
	}
	if code, _ := c.do("POST", "/channels/does-not-exist/answer", nil, nil); code != 404 {
		t.Errorf("answer unknown channel: %d, want 404", code)
	}
	var info struct {
		System struct {
			EntityID string `json:"entity_id"`
		} `json:"system"`
	}
	_, body = c.do("GET", "/asterisk/info", nil, nil)
	if json.Unmarshal(body, &info); info.System.EntityID != RecordedEntityID {
		t.Errorf("entity id %q", info.System.EntityID)
	}
	for _, app := range []string{"tamas", RecordedApp} {
		if code, _ := c.do("GET", "/applications/"+app, nil, nil); code != 200 {
			t.Errorf("application %s: %d", app, code)
		}
	}
	if code, _ := c.do("GET", "/applications/other", nil, nil); code != 404 {
		t.Errorf("unknown application: %d, want 404", code)
	}
	if code, _ := c.do("GET", "/no/such/route", nil, nil); code != 404 {
		t.Errorf("unknown route: %d, want 404", code)
	}
	if n := len(s.Requests()); n < 8 {
		t.Errorf("requests logged = %d", n)
	}
}

func dial(t *testing.T, s *Server, app string) *websocket.Conn {
	t.Helper()
	u := "ws" + strings.TrimPrefix(s.URL(), "http") + "/events?" + url.Values{"app": {app}}.Encode()
	hdr := http.Header{}
	req, _ := http.NewRequest("GET", "http://x", nil)
	req.SetBasicAuth("tamas", "secret")
	hdr.Set("Authorization", req.Header.Get("Authorization"))
	ws, _, err := websocket.DefaultDialer.Dial(u, hdr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

func readFrame(t *testing.T, ws *websocket.Conn) []byte {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, data, err := ws.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestReplayHonoursFilterAndTracksChannels(t *testing.T) {
	s, c := newServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Send(Frame{Data: []byte(`{"type":"StasisStart"}`)}); err != ErrNotConnected {
		t.Errorf("Send without a client: %v, want ErrNotConnected", err)
	}
	ws := dial(t, s, "tamas")
	if err := s.WaitConnected(ctx, 1); err != nil {
		t.Fatal(err)
	}
	code, _ := c.do("PUT", "/applications/tamas/eventFilter", nil, map[string]any{
		"allowed": []map[string]string{{"type": "StasisStart"}, {"type": "ChannelDtmfReceived"}},
	})
	if code != 200 || strings.Join(s.EventFilter(), ",") != "ChannelDtmfReceived,StasisStart" {
		t.Fatalf("eventFilter: %d %v", code, s.EventFilter())
	}
	tr := mustLoad(t, "inbound_sip_call")
	if err := s.Send(tr.FramesUntil(10)...); err != nil {
		t.Fatal(err)
	}
	if got := s.Channels(); len(got) != 1 || got[0] != "1795328539.0" {
		t.Errorf("channels mid-call = %v", got)
	}
	code, body := c.do("GET", "/applications/tamas", nil, nil)
	if code != 200 || !strings.Contains(string(body), `"channel_ids":["1795328539.0"]`) {
		t.Errorf("application mid-call: %s", body)
	}
	if err := s.Send(tr.FramesFrom(10)...); err != nil {
		t.Fatal(err)
	}
	frames := tr.Frames()
	var want [][]byte
	for _, f := range frames {
		if f.Type == "StasisStart" || f.Type == "ChannelDtmfReceived" {
			want = append(want, f.Data)
		}
	}
	for i, w := range want {
		if got := readFrame(t, ws); !bytes.Equal(got, w) {
			t.Fatalf("frame %d = %s, want %s", i, got, w)
		}
	}
	if got := s.Channels(); len(got) != 0 {
		t.Errorf("channels after StasisEnd = %v", got)
	}
	if code, _ := c.do("GET", "/channels/1795328539.0", nil, nil); code != 404 {
		t.Errorf("ended channel: %d, want 404", code)
	}
}

func TestSecondConnectionReplacesFirst(t *testing.T) {
	s, _ := newServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	first := dial(t, s, "tamas")
	if err := s.WaitConnected(ctx, 1); err != nil {
		t.Fatal(err)
	}
	second := dial(t, s, "tamas")
	if err := s.WaitConnected(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if got := frameType(readFrame(t, first)); got != "ApplicationReplaced" {
		t.Fatalf("first connection got %q, want ApplicationReplaced", got)
	}
	if err := s.SendRaw([]byte(`{"type":"Hello"}`)); err != nil {
		t.Fatal(err)
	}
	if got := frameType(readFrame(t, second)); got != "Hello" {
		t.Errorf("second connection got %q", got)
	}
	_ = first.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if _, data, err := first.ReadMessage(); err == nil {
		t.Errorf("replaced connection still receives: %s", data)
	}
}

func TestDropAndRestart(t *testing.T) {
	s, c := newServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws := dial(t, s, RecordedApp)
	if err := s.WaitConnected(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(mustLoad(t, "inbound_sip_call").FramesUntil(4)...); err != nil {
		t.Fatal(err)
	}
	readFrame(t, ws)
	_, before := c.do("GET", "/asterisk/info", nil, nil)
	s.Restart("02:fc:00:00:00:99")
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := ws.ReadMessage(); err == nil {
		t.Fatal("connection survived Restart")
	}
	_, after := c.do("GET", "/asterisk/info", nil, nil)
	if bytes.Equal(before, after) || !strings.Contains(string(after), "02:fc:00:00:00:99") {
		t.Errorf("info unchanged by Restart: %s", after)
	}
	if got := s.Channels(); len(got) != 0 {
		t.Errorf("channels after Restart = %v", got)
	}
}

func TestEmulatedControl(t *testing.T) {
	s, c := newServer(t)
	code, body := c.do("POST", "/channels", url.Values{
		"endpoint": {"PJSIP/agent1000"}, "app": {"tamas"}, "channelId": {"out-1"},
		"callerId": {`"Lab Customer" <+14155550123>`},
	}, nil)
	if code != 200 || !strings.Contains(string(body), `"number":"+14155550123"`) {
		t.Fatalf("originate: %d %s", code, body)
	}
	if code, _ := c.do("GET", "/channels/out-1", nil, nil); code != 200 {
		t.Errorf("originated channel: %d", code)
	}
	if code, _ := c.do("POST", "/bridges", url.Values{"bridgeId": {"b1"}, "type": {"mixing"}}, nil); code != 200 {
		t.Fatalf("bridge create: %d", code)
	}
	if code, body := c.do("POST", "/bridges/b1/addChannel", url.Values{"channel": {"nobody"}}, nil); code != 400 ||
		!strings.Contains(string(body), "Channel not found") {
		t.Errorf("add unknown channel: %d %s", code, body)
	}
	if code, _ := c.do("POST", "/bridges/b1/addChannel", url.Values{"channel": {"out-1"}}, nil); code != 422 {
		t.Errorf("add channel outside Stasis: %d, want 422", code)
	}
	if err := s.PutChannel(json.RawMessage(`{"id":"in-1","name":"PJSIP/x-1","state":"Up"}`), true); err != nil {
		t.Fatal(err)
	}
	if code, _ := c.do("POST", "/bridges/b1/addChannel", url.Values{"channel": {"in-1"}}, nil); code != 204 {
		t.Errorf("add channel: %d, want 204", code)
	}
	code, body = c.do("POST", "/channels/in-1/snoop", url.Values{"app": {"tamas"}, "snoopId": {"sn-1"}}, nil)
	if code != 200 || !strings.Contains(string(body), `"name":"Snoop/in-1-`) {
		t.Errorf("snoop: %d %s", code, body)
	}
	code, body = c.do("POST", "/channels/in-1/play", url.Values{"media": {"sound:beep"}, "playbackId": {"pb-1"}}, nil)
	if code != 201 || !strings.Contains(string(body), `"id":"pb-1"`) {
		t.Errorf("play: %d %s", code, body)
	}
	if code, _ := c.do("DELETE", "/bridges/b1", nil, nil); code != 204 {
		t.Errorf("bridge delete: %d", code)
	}
	if code, _ := c.do("GET", "/bridges/b1", nil, nil); code != 404 {
		t.Errorf("deleted bridge: %d, want 404", code)
	}
	s.RemoveChannel("in-1")
	if code, _ := c.do("DELETE", "/channels/in-1", nil, nil); code != 404 {
		t.Errorf("hang up removed channel: %d, want 404", code)
	}

	s.SetLatency(150 * time.Millisecond)
	start := time.Now()
	c.do("GET", "/asterisk/ping", nil, nil)
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("latency not applied: %v", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, idx, err := s.WaitRequest(ctx, 0, "POST", "/ari/channels/in-1/snoop")
	if err != nil || idx < 0 || r.Query.Get("snoopId") != "sn-1" {
		t.Errorf("WaitRequest: %v %d %v", err, idx, r.Query)
	}
}

// Requests on a collection with a method it does not serve are answered,
// not a panic that drops the connection.
func TestCollectionsWithOtherMethods(t *testing.T) {
	s, c := newServer(t)
	s.Load(mustLoad(t, "ari_info"))
	for _, r := range []struct{ method, path string }{
		{"DELETE", "/channels"}, {"PUT", "/channels"}, {"DELETE", "/bridges"}, {"PUT", "/bridges"},
	} {
		if code, _ := c.do(r.method, r.path, nil, nil); code < 400 || code > 499 {
			t.Errorf("%s %s: %d, want a 4xx answer", r.method, r.path, code)
		}
	}
}

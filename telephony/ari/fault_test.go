package ari

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tamas-cc/tamas/telephony"
	"github.com/tamas-cc/tamas/telephony/ari/aritest"
)

func loadTranscript(t *testing.T, name string) *aritest.Transcript {
	t.Helper()
	tr, err := aritest.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// The websocket drops mid-call while the call goes on: after reconnecting,
// the call is resumed and its remaining events arrive as if nothing
// happened.
func TestCutMidCallResumes(t *testing.T) {
	h := start(t, nil)
	tr := loadTranscript(t, "inbound_sip_call")
	const id = "1795328539.0"
	h.send(tr.FramesUntil(9)...) // StasisStart, answered
	h.waitEvents(2)
	h.srv.Drop()
	h.waitConnected(2)
	h.send(tr.FramesFrom(9)...)
	check(t, h.settle(), []want{
		{typ: telephony.CallStarted, call: id},
		{typ: telephony.Answered, call: id},
		{typ: telephony.DTMF, call: id, digit: "1"},
		{typ: telephony.DTMF, call: id, digit: "5"},
		{typ: telephony.Ended, call: id, cause: "normal_clearing", code: 16},
	})
	if n := h.metric("tamas_ari_reconnects_total"); n != 1 {
		t.Errorf("reconnects = %v, want 1", n)
	}
	if n := h.metric("tamas_ari_calls_lost_total"); n != 0 {
		t.Errorf("lost = %v, want 0", n)
	}
	if !strings.Contains(h.logs.String(), "resumed=1") {
		t.Errorf("no resync log with resumed=1:\n%s", h.logs.String())
	}
}

// The caller hangs up while the websocket is down: Asterisk keeps no events
// for a disconnected application, so only the resync can tell.
func TestCutMidCallLost(t *testing.T) {
	h := start(t, nil)
	tr := loadTranscript(t, "inbound_sip_call")
	const id = "1795328539.0"
	h.send(tr.FramesUntil(9)...)
	h.waitEvents(2)
	h.srv.RemoveChannel(id)
	h.srv.Drop()
	h.waitConnected(2)
	evs := h.waitUntil("Ended", func(evs []telephony.Event) bool { return hasEvent(evs, telephony.Ended, id) })
	// Late events for the call are ignored.
	h.send(tr.FramesFrom(9)...)
	check(t, h.settle(), []want{
		{typ: telephony.CallStarted, call: id},
		{typ: telephony.Answered, call: id},
		{typ: telephony.Ended, call: id, cause: telephony.CauseLost, code: 0},
	})
	if e := evs[2].Call; e.State != telephony.StateEnded || e.Caller.Number != "+14155550123" {
		t.Errorf("lost call = %+v", e)
	}
	if n := h.metric("tamas_ari_calls_lost_total"); n != 1 {
		t.Errorf("lost = %v, want 1", n)
	}
	if n := h.metric("tamas_ari_events_ignored_total", "reason", "ended_channel"); n < 2 {
		t.Errorf("late events ignored = %v", n)
	}
}

// A call lost in an outage ends when it was last known to exist — when the
// connection dropped — not when the adapter came back to find it gone.
func TestLostCallEndsWhenTheConnectionDropped(t *testing.T) {
	// The adapter stays away at least 200 ms (backoff draws from the upper
	// half of the delay).
	h := start(t, func(c *Config) { c.ReconnectMin, c.ReconnectMax = 400*time.Millisecond, 400*time.Millisecond })
	tr := loadTranscript(t, "inbound_sip_call")
	const id = "1795328539.0"
	h.send(tr.FramesUntil(9)...)
	h.waitEvents(2)
	h.srv.RemoveChannel(id)
	beforeDrop := time.Now()
	h.srv.Drop()
	afterDrop := time.Now()
	h.waitConnected(2)
	back := time.Now()
	evs := h.waitUntil("Ended", func(evs []telephony.Event) bool { return hasEvent(evs, telephony.Ended, id) })
	end := evs[len(evs)-1]
	if end.Type != telephony.Ended || end.Cause != telephony.CauseLost {
		t.Fatalf("events:\n%s", describe(evs))
	}
	// The read fails a moment after the cut; well before the reconnection.
	if end.At.Before(beforeDrop) || end.At.After(afterDrop.Add(100*time.Millisecond)) || back.Sub(end.At) < 150*time.Millisecond {
		t.Errorf("lost call ended at %v; dropped between %v and %v, back at %v", end.At.Format(time.StampMicro),
			beforeDrop.Format(time.StampMicro), afterDrop.Format(time.StampMicro), back.Format(time.StampMicro))
	}
	if !end.Call.EndedAt.Equal(end.At) {
		t.Errorf("call EndedAt %v, event At %v", end.Call.EndedAt, end.At)
	}

	// Asterisk restarts while the adapter is away: its calls end as of the
	// drop too.
	h.liveCall("r1")
	beforeDrop = time.Now()
	h.srv.Restart("02:fc:00:00:00:98")
	afterDrop = time.Now()
	h.waitConnected(3)
	back = time.Now()
	evs = h.waitUntil("Ended", func(evs []telephony.Event) bool { return hasEvent(evs, telephony.Ended, "r1") })
	end = evs[len(evs)-1]
	if end.Call.ID != "r1" || end.At.Before(beforeDrop) || end.At.After(afterDrop.Add(100*time.Millisecond)) ||
		back.Sub(end.At) < 150*time.Millisecond {
		t.Errorf("call of the restarted Asterisk ended at %v; dropped between %v and %v, back at %v",
			end.At.Format(time.StampMicro), beforeDrop.Format(time.StampMicro), afterDrop.Format(time.StampMicro),
			back.Format(time.StampMicro))
	}
}

// When the connection falls silent, the adapter notices only after
// 2×PingInterval without a frame or a pong; a call lost meanwhile ends when
// Asterisk was last heard from, not when the silence was noticed.
func TestLostCallEndsWhenAsteriskWasLastHeard(t *testing.T) {
	h := start(t, func(c *Config) { c.PingInterval = 100 * time.Millisecond })
	h.liveCall("quiet")
	h.srv.RemoveChannel("quiet")
	muted := time.Now()
	h.srv.Mute()
	h.waitConnected(2)
	noticed := time.Now()
	evs := h.waitUntil("Ended", func(evs []telephony.Event) bool { return hasEvent(evs, telephony.Ended, "quiet") })
	end := evs[len(evs)-1]
	// The last pong came at most one ping interval before the mute.
	if end.Type != telephony.Ended || end.Cause != telephony.CauseLost ||
		end.At.After(muted.Add(50*time.Millisecond)) || end.At.Before(muted.Add(-250*time.Millisecond)) {
		t.Errorf("lost call ended at %v; muted at %v, silence noticed by %v", end.At.Format(time.StampMicro),
			muted.Format(time.StampMicro), noticed.Format(time.StampMicro))
	}
	if noticed.Sub(muted) < 100*time.Millisecond {
		t.Errorf("silence noticed %v after the mute, sooner than 2×PingInterval allows", noticed.Sub(muted))
	}
}

// orphan is a caller that entered the application while no adapter was
// connected: stuck in Stasis, waiting.
const orphan = `{"id":"1795328600.7","name":"PJSIP/trunk-00000007","state":"Up","protocol_id":"",
 "caller":{"name":"Stuck Caller","number":"+14155550177"},"connected":{"name":"","number":""},
 "accountcode":"","dialplan":{"context":"crm-inbound","exten":"18005550100","priority":2,
 "app_name":"Stasis","app_data":"tamas,18005550100,inbound"},
 "creationtime":"2026-11-22T06:30:00.000+0000","language":"en"}`

func TestResyncAdoptsOrphan(t *testing.T) {
	h := start(t, nil)
	if err := h.srv.PutChannel(json.RawMessage(orphan), true); err != nil {
		t.Fatal(err)
	}
	h.srv.Drop()
	h.waitConnected(2)
	evs := h.settle()
	check(t, evs, []want{
		{typ: telephony.CallStarted, call: "1795328600.7"},
		{typ: telephony.Answered, call: "1795328600.7"},
	})
	if c := evs[0].Call; c.DNIS != "18005550100" || c.Line != "Sales" || c.Caller.Name != "Stuck Caller" ||
		c.Direction != telephony.Inbound {
		t.Errorf("adopted call = %+v", c)
	}
	if n := h.metric("tamas_ari_calls_adopted_total"); n != 1 {
		t.Errorf("adopted = %v", n)
	}
	// It is tracked like any other call from now on.
	h.send(h.hangupFrames("1795328600.7")...)
	if evs := forCall(h.settle(), "1795328600.7"); len(evs) != 3 || evs[2].Type != telephony.Ended {
		t.Errorf("adopted call events:\n%s", describe(evs))
	}
}

func TestResyncHangsUpOrphan(t *testing.T) {
	h := start(t, func(c *Config) { c.Orphans = OrphanHangup })
	if err := h.srv.PutChannel(json.RawMessage(orphan), true); err != nil {
		t.Fatal(err)
	}
	n := len(h.srv.Requests())
	h.srv.Drop()
	h.waitConnected(2)
	h.request(n, "DELETE", "/ari/channels/1795328600.7")
	if evs := h.settle(); len(evs) != 0 {
		t.Errorf("events for a hung-up orphan:\n%s", describe(evs))
	}
	if n := h.metric("tamas_ari_orphans_hung_up_total"); n != 1 {
		t.Errorf("orphans hung up = %v", n)
	}
}

// Asterisk restarts: every call it had is gone, whether or not its entity
// id changed.
func TestAsteriskRestart(t *testing.T) {
	h := start(t, nil)
	h.liveCall("r1")
	h.srv.Restart("02:fc:00:00:00:99")
	h.waitConnected(2)
	h.liveCall("r2")
	h.srv.Restart("")
	h.waitConnected(3)
	check(t, h.settle(), []want{
		{typ: telephony.CallStarted, call: "r1"},
		{typ: telephony.Ended, call: "r1", cause: telephony.CauseLost},
		{typ: telephony.CallStarted, call: "r2"},
		{typ: telephony.Ended, call: "r2", cause: telephony.CauseLost},
	})
	if n := h.metric("tamas_ari_asterisk_restarts_total"); n != 2 {
		t.Errorf("restarts = %v, want 2", n)
	}
	if !strings.Contains(h.logs.String(), "Asterisk restarted while disconnected") {
		t.Error("restart not logged")
	}
	// The restarted Asterisk lost the event filter; the adapter set it again.
	if len(h.srv.EventFilter()) != len(handledTypes) {
		t.Errorf("event filter after restart = %v", h.srv.EventFilter())
	}
}

// A slow REST answer holds up neither the event stream nor the caller
// longer than its context allows.
func TestSlowRESTDoesNotBlockEvents(t *testing.T) {
	h := start(t, nil)
	h.liveCall("w1")
	h.srv.SetLatency(time.Second)
	answered := make(chan error, 1)
	go func() { answered <- h.ad.Answer(context.Background(), "w1") }()
	h.request(0, "POST", "/ari/channels/w1/answer")
	h.send(evChannel("ChannelDtmfReceived", "w1", "Ring", map[string]any{"digit": "4"}))
	h.waitUntil("DTMF during a slow request", func(evs []telephony.Event) bool { return hasEvent(evs, telephony.DTMF, "w1") })
	select {
	case err := <-answered:
		t.Fatalf("Answer returned (%v) before its slow answer came: the test proves nothing", err)
	default:
	}
	if err := <-answered; err != nil {
		t.Errorf("slow Answer = %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := h.ad.Answer(ctx, "w1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Answer past its deadline = %v", err)
	}
}

func TestSlowRESTTimesOut(t *testing.T) {
	h := start(t, func(c *Config) { c.RequestTimeout = 150 * time.Millisecond })
	h.liveCall("w2")
	h.srv.SetLatency(time.Second)
	if err := h.ad.Answer(context.Background(), "w2"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Answer = %v, want the request timeout", err)
	}
	if n := h.metric("tamas_ari_rest_requests_total", "op", "answer", "code", "error"); n != 1 {
		t.Errorf("failed answer requests = %v", n)
	}
	// A reconnection cannot resync while Asterisk is this slow; it keeps
	// trying, and succeeds once Asterisk recovers. The call survived.
	h.srv.Drop()
	h.eventually("failed resyncs", func() bool {
		return metricValue(t, h.reg, "tamas_ari_resyncs_total", "outcome", "error") >= 2
	})
	h.srv.SetLatency(0)
	h.eventually("reconnected", h.ad.Connected)
	h.send(h.hangupFrames("w2")...)
	check(t, h.settle(), []want{
		{typ: telephony.CallStarted, call: "w2"},
		{typ: telephony.Ended, call: "w2", cause: "normal_clearing", code: 16},
	})
}

// Frames that are not ARI events are counted, logged and skipped; the
// adapter keeps serving calls.
func TestGarbageFrames(t *testing.T) {
	h := start(t, nil)
	long := strings.Repeat("9", 2048)
	for _, g := range []string{
		"not json", "", "{", `{"type":`, "[]", "null", `"StasisStart"`, "\xff\xfe",
		strings.Repeat("[", 20000) + strings.Repeat("]", 20000),
		`{}`, `{"type":""}`, `{"type":123}`, `{"type":null}`,
		`{"type":"StasisStart","channel":"oops"}`,
		`{"type":"StasisStart","args":5,"channel":{"id":"g1"}}`,
		`{"type":"ChannelDtmfReceived","channel":{"id":"g2"},"digit":["1"]}`,
		`{"type":"StasisStart","channel":{"id":""}}`,
		`{"type":"StasisStart","channel":{"id":"` + long + `"}}`,
		`{"type":"FutureEvent","channel":"whatever"}`,
		`{"type":"Dial","peer":"not an object"}`,
		"{\"type\":\"\xff\"}",
	} {
		h.sendRaw(g)
	}
	if err := h.srv.SendBinary([]byte{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	h.srv.Load(loadTranscript(t, "inbound_sip_call"))
	if err := h.srv.Replay(loadTranscript(t, "inbound_sip_call")); err != nil {
		t.Fatal(err)
	}
	evs := h.settle()
	if types(evs) != "call_started,answered,dtmf,dtmf,ended" {
		t.Errorf("events after garbage:\n%s", describe(evs))
	}
	for reason, min := range map[string]float64{"not_json": 6, "no_type": 4, "bad_field": 3, "binary_frame": 1} {
		if n := h.metric("tamas_ari_decode_errors_total", "reason", reason); n < min {
			t.Errorf("decode errors %s = %v, want >= %v", reason, n, min)
		}
	}
	if n := h.metric("tamas_ari_events_total", "type", "unknown"); n < 2 {
		t.Errorf("unknown types counted = %v", n)
	}
	if n := h.metric("tamas_ari_events_ignored_total", "reason", "no_channel"); n < 2 {
		t.Errorf("channel-less events = %v", n)
	}
	if !strings.Contains(h.logs.String(), "unreadable event frame skipped") {
		t.Error("garbage not logged")
	}
	if h.srv.Accepted() != 1 {
		t.Errorf("connections = %d: garbage cost the connection", h.srv.Accepted())
	}
}

// asterisk22Types is every event type of Asterisk 22's events.json.
var asterisk22Types = []string{
	"DeviceStateChanged", "PlaybackStarted", "PlaybackContinuing", "PlaybackFinished",
	"RecordingStarted", "RecordingFinished", "RecordingFailed", "ApplicationMoveFailed",
	"ApplicationRegistered", "ApplicationUnregistered", "ApplicationReplaced",
	"BridgeCreated", "BridgeDestroyed", "BridgeMerged", "BridgeBlindTransfer",
	"BridgeAttendedTransfer", "BridgeVideoSourceChanged", "ChannelCreated", "ChannelDestroyed",
	"ChannelEnteredBridge", "ChannelLeftBridge", "ChannelStateChange", "ChannelDtmfReceived",
	"ChannelDialplan", "ChannelCallerId", "ChannelUserevent", "ChannelHangupRequest",
	"ChannelVarset", "ChannelToneDetected", "ChannelTalkingStarted", "ChannelTalkingFinished",
	"ChannelHold", "ChannelUnhold", "ContactStatusChange", "EndpointStateChange", "Dial",
	"StasisEnd", "StasisStart", "TextMessageReceived", "ChannelConnectedLine",
	"PeerStatusChange", "ChannelTransfer", "RESTResponse", "CallBroadcast", "CallClaimed",
}

// Every Asterisk 22 event type, for a channel the adapter does not track
// and with the fields the seven types the ARI library cannot decode carry,
// goes through without harm. ApplicationReplaced, which stops the adapter,
// is tested on its own.
func TestEveryAsterisk22EventType(t *testing.T) {
	h := start(t, nil)
	ghost := channel("ghost", "Up", "", "")
	bridge := map[string]any{"id": "br-ghost", "bridge_type": "mixing", "channels": []string{"ghost"}}
	extra := map[string]map[string]any{
		"ChannelTransfer": {"state": "channel_progress",
			"refer_to":    map[string]any{"requested_destination": map[string]any{"destination": "2000"}, "bridge": bridge},
			"referred_by": map[string]any{"source_channel": ghost, "connected_channel": ghost}},
		"RESTResponse": {"transaction_id": "t1", "request_id": "r1", "status_code": 200,
			"reason_phrase": "OK", "uri": "channels", "content_type": "application/json", "message_body": "[]"},
		"CallBroadcast":        {"caller": "+14155550123", "called": "18005550100"},
		"CallClaimed":          {"winner_app": "other"},
		"ChannelToneDetected":  {},
		"BridgeBlindTransfer":  {"result": "Success", "exten": "2000", "transferee": ghost, "bridge": bridge},
		"PlaybackFinished":     {"playback": map[string]any{"id": "pb-ghost", "state": "done"}},
		"ChannelEnteredBridge": {"bridge": bridge},
		"ChannelLeftBridge":    {"bridge": map[string]any{"id": "br-ghost", "channels": []string{}}},
		"ChannelDtmfReceived":  {"digit": "5"},
		"ChannelHangupRequest": {"cause": 16},
		"ChannelDestroyed":     {"cause": 16, "cause_txt": "Normal Clearing"},
		"Dial":                 {"peer": ghost, "dialstatus": "ANSWER"},
	}
	for _, typ := range asterisk22Types {
		if typ == "ApplicationReplaced" {
			continue
		}
		f := map[string]any{"channel": ghost, "bridge": bridge}
		if typ == "StasisStart" || typ == "StasisEnd" {
			// A ghost that starts would be a call; send it as a stranger's
			// spy channel instead.
			spy := channel("ghost-spy", "Up", "", "")
			spy["name"] = "Snoop/ghost-00000001"
			f = map[string]any{"channel": spy, "args": []string{}}
		}
		for k, v := range extra[typ] {
			f[k] = v
		}
		// Raw, past the event filter: an Asterisk without one sends all.
		if err := h.srv.SendRaw(frame(typ, f).Data); err != nil {
			t.Fatal(err)
		}
	}
	// The adapter is still serving calls, and saw nothing it should report.
	if err := h.srv.Replay(loadTranscript(t, "inbound_sip_call")); err != nil {
		t.Fatal(err)
	}
	evs := h.settle()
	if types(evs) != "call_started,answered,dtmf,dtmf,ended" {
		t.Errorf("events:\n%s", describe(evs))
	}
	for _, typ := range asterisk22Types {
		if typ == "ApplicationReplaced" {
			continue
		}
		if n := h.metric("tamas_ari_events_total", "type", typ); n < 1 {
			t.Errorf("%s not counted", typ)
		}
	}
	if n := h.metric("tamas_ari_decode_errors_total", "reason", "bad_field"); n != 0 {
		t.Errorf("well-formed events of every type failed to decode: %v", n)
	}
	if !h.ad.Connected() || h.srv.Accepted() != 1 {
		t.Error("the connection did not survive every event type")
	}
}

func TestUnknownChannelsAndDuplicates(t *testing.T) {
	h := start(t, nil)
	for _, typ := range []string{"ChannelDtmfReceived", "ChannelHangupRequest", "StasisEnd", "ChannelDestroyed",
		"ChannelHold", "ChannelUnhold", "ChannelEnteredBridge", "ChannelLeftBridge"} {
		h.send(evChannel(typ, "nobody", "Up", map[string]any{"digit": "1",
			"bridge": map[string]any{"id": "b", "channels": []string{"nobody", "other"}}}))
	}
	if evs := h.settle(); len(evs) != 0 {
		t.Errorf("events for an unknown channel:\n%s", describe(evs))
	}
	if n := h.metric("tamas_ari_events_ignored_total", "reason", "unknown_channel"); n < 7 {
		t.Errorf("unknown-channel events counted = %v", n)
	}

	start := evStasisStart("dup1", "Ring", "Twice", "+14155550123", []string{"18005550100"})
	h.send(start, start) // a byte-for-byte repeat
	h.send(evStasisStart("dup1", "Ring", "Twice", "+14155550123", []string{"18005550100"}))
	up := evChannel("ChannelStateChange", "dup1", "Up", nil)
	h.send(up, up, evChannel("ChannelStateChange", "dup1", "Up", nil))
	digit := evChannel("ChannelDtmfReceived", "dup1", "Up", map[string]any{"digit": "7"})
	h.send(digit, digit)
	h.send(evChannel("ChannelHold", "dup1", "Up", nil), evChannel("ChannelHold", "dup1", "Up", nil),
		evChannel("ChannelUnhold", "dup1", "Up", nil), evChannel("ChannelUnhold", "dup1", "Up", nil))
	end := evStasisEnd("dup1", "Up")
	h.send(end, end, evStasisEnd("dup1", "Up"), evChannel("ChannelDestroyed", "dup1", "Up", map[string]any{"cause": 16}))
	check(t, h.settle(), []want{
		{typ: telephony.CallStarted, call: "dup1"},
		{typ: telephony.Answered, call: "dup1"},
		{typ: telephony.DTMF, call: "dup1", digit: "7"},
		{typ: telephony.Held, call: "dup1"},
		{typ: telephony.Resumed, call: "dup1"},
		{typ: telephony.Ended, call: "dup1", cause: CauseLeftApplication},
	})
	if n := h.metric("tamas_ari_duplicate_events_total"); n != 4 {
		t.Errorf("duplicates = %v, want 4", n)
	}
}

// The caller hangs up while the answer is on its way: the call ends once,
// never answered, and the answer reports the call gone.
func TestHangupBeforeAnswerFinished(t *testing.T) {
	h := start(t, nil)
	h.liveCall("h1")
	h.srv.SetLatency(300 * time.Millisecond)
	answered := make(chan error, 1)
	go func() { answered <- h.ad.Answer(context.Background(), "h1") }()
	h.request(0, "POST", "/ari/channels/h1/answer")
	h.send(evChannel("ChannelHangupRequest", "h1", "Ring", map[string]any{"cause": 127, "tech_cause": 487}),
		evStasisEnd("h1", "Ring"))
	if err := <-answered; !errors.Is(err, telephony.ErrCallGone) {
		t.Errorf("Answer = %v, want ErrCallGone", err)
	}
	h.srv.SetLatency(0)
	h.send(evChannel("ChannelStateChange", "h1", "Up", nil))
	check(t, h.settle(), []want{
		{typ: telephony.CallStarted, call: "h1"},
		{typ: telephony.Ended, call: "h1", cause: "originator_cancel", code: 127},
	})
}

// Another client takes the application name: the adapter says so loudly,
// ends its calls as lost and stops rather than fight for the name.
func TestReplacedByAnotherClient(t *testing.T) {
	h := start(t, nil)
	h.liveCall("x1")
	u := "ws" + strings.TrimPrefix(h.srv.URL(), "http") + "/events?app=tamas"
	intruder, _, err := websocket.DefaultDialer.Dial(u, http.Header{"Authorization": {h.ad.auth}})
	if err != nil {
		t.Fatal(err)
	}
	defer intruder.Close()
	if err := h.wait(false); !errors.Is(err, ErrApplicationReplaced) {
		t.Fatalf("Run = %v, want ErrApplicationReplaced", err)
	}
	check(t, h.snapshot(), []want{
		{typ: telephony.CallStarted, call: "x1"},
		{typ: telephony.Ended, call: "x1", cause: telephony.CauseLost},
	})
	if h.srv.Accepted() != 2 {
		t.Errorf("connections = %d, want 2 (ours and the intruder's)", h.srv.Accepted())
	}
	if n := h.metric("tamas_ari_application_replaced_total"); n != 1 {
		t.Errorf("replaced = %v", n)
	}
}

// A wrong password is reported, retried, and never logged.
func TestAuthenticationFailure(t *testing.T) {
	const wrong = "wrong-password-x9"
	h := startUnconnected(t, func(c *Config) { c.Password = wrong })
	h.eventually("failed attempts", func() bool {
		return metricValue(t, h.reg, "tamas_ari_connect_attempts_total", "outcome", "error") >= 3
	})
	if h.ad.Connected() {
		t.Error("connected with a wrong password")
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "authentication failed") {
		t.Errorf("no authentication failure in the log:\n%s", logs)
	}
	if strings.Contains(logs, wrong) {
		t.Error("the password appears in the log")
	}
	if err := h.stop(); err != nil {
		t.Errorf("Run = %v", err)
	}
}

// Asterisk that stops answering without closing the connection (a dead
// host, a cut cable) is noticed by the missing pongs, and left.
func TestSilentPeerIsDropped(t *testing.T) {
	srv := aritest.NewServer(aritest.Options{Password: testPassword})
	defer srv.Close()
	target, _ := url.Parse(srv.URL())
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: target.Host})
	var upgrades atomic.Int32
	release := make(chan struct{})
	var held sync.WaitGroup
	mute := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ari/events" {
			proxy.ServeHTTP(w, r)
			return
		}
		up := websocket.Upgrader{}
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		held.Add(1)
		defer held.Done()
		upgrades.Add(1)
		<-release // never read: pings go unanswered
		c.Close()
	}))
	defer func() {
		close(release)
		held.Wait()
		mute.Close()
	}()
	cfg := testConfig(mute.URL + "/ari")
	cfg.PingInterval = 50 * time.Millisecond
	ad, err := New(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ad.Run(ctx, func(context.Context, telephony.Event) {}) }()
	deadline := time.Now().Add(10 * time.Second)
	for upgrades.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	if n := upgrades.Load(); n < 3 {
		t.Errorf("connections to a silent peer = %d, want the adapter to give up on each and retry", n)
	}
}

func TestConfigValidate(t *testing.T) {
	good := testConfig("http://127.0.0.1:8088/ari")
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for name, mutate := range map[string]func(*Config){
		"no name":          func(c *Config) { c.Name = " " },
		"bad url":          func(c *Config) { c.URL = "ftp://x/ari" },
		"url credentials":  func(c *Config) { c.URL = "http://u:p@x:8088/ari" },
		"no password":      func(c *Config) { c.Password = "" },
		"bad app":          func(c *Config) { c.Application = "my app" },
		"backoff":          func(c *Config) { c.ReconnectMax = c.ReconnectMin / 2 },
		"request timeout":  func(c *Config) { c.RequestTimeout = 0 },
		"ping":             func(c *Config) { c.PingInterval = 0 },
		"originate":        func(c *Config) { c.OriginateTimeout = time.Millisecond },
		"orphans":          func(c *Config) { c.Orphans = "ignore" },
		"event buffer":     func(c *Config) { c.EventBuffer = 0 },
		"shutdown timeout": func(c *Config) { c.ShutdownTimeout = 0 },
	} {
		c := good
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), testPassword) {
			t.Errorf("%s: error shows the password", name)
		}
		if _, err := New(c, nil, nil); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
	for _, s := range []string{fmt.Sprint(good), fmt.Sprintf("%#v", good), fmt.Sprintf("%v", good.LogValue())} {
		if strings.Contains(s, testPassword) {
			t.Errorf("password shown: %s", s)
		}
	}
}

// Several Asterisk servers: one adapter each, one registry, told apart by
// the pbx label.
func TestSeveralServersShareARegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := testConfig("http://127.0.0.1:1/ari")
	b := a
	b.Name = "lab-2"
	if _, err := New(a, nil, reg); err != nil {
		t.Fatal(err)
	}
	if _, err := New(b, nil, reg); err != nil {
		t.Fatalf("second server: %v", err)
	}
	if _, err := New(a, nil, reg); err == nil {
		t.Error("two adapters with the same name were accepted on one registry")
	}
}

func TestRunTwice(t *testing.T) {
	h := start(t, nil)
	if err := h.ad.Run(context.Background(), func(context.Context, telephony.Event) {}); err == nil {
		t.Error("second Run did not fail")
	}
}

// A handler that falls behind costs events (counted), not the connection.
func TestSlowHandlerDropsEvents(t *testing.T) {
	srv := aritest.NewServer(aritest.Options{Password: testPassword})
	defer srv.Close()
	cfg := testConfig(srv.URL())
	cfg.EventBuffer = 2
	reg := prometheus.NewRegistry()
	ad, err := New(cfg, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	var got atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- ad.Run(ctx, func(context.Context, telephony.Event) {
			<-gate
			got.Add(1)
		})
	}()
	if err := srv.WaitConnected(ctx, 1); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		id := fmt.Sprintf("slow-%d", i)
		if err := srv.Send(evStasisStart(id, "Ring", "", "+1", nil), evStasisEnd(id, "Ring")); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for metricValue(t, reg, "tamas_ari_call_events_total", "type", "ended") < 20 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	close(gate)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	dropped := metricValue(t, reg, "tamas_ari_events_dropped_total")
	if dropped == 0 || float64(got.Load())+dropped != 40 {
		t.Errorf("delivered %d + dropped %v, want 40 with some dropped", got.Load(), dropped)
	}
}

// A password written into a URL that does not even parse must not come back
// in the error (url.Parse quotes the whole URL), nor when the config is
// printed or logged before it was validated.
func TestConfigURLPasswordNotShown(t *testing.T) {
	for _, u := range []string{
		"http://tamas:" + testPassword + "%zz@pbx:8088/ari",
		"http://tamas:" + testPassword + "@pbx:80 88/ari",
		"http://tamas:" + testPassword + "@pbx:8088/ari",
	} {
		c := testConfig(u)
		err := c.Validate()
		if err == nil {
			t.Errorf("%q: accepted", u)
			continue
		}
		for _, s := range []string{err.Error(), fmt.Sprint(c), fmt.Sprintf("%#v", c), fmt.Sprintf("%v", c.LogValue())} {
			if strings.Contains(s, testPassword) {
				t.Errorf("password shown: %s", s)
			}
		}
	}
}

// Channels reported before entering the application whose end the adapter
// missed while disconnected are forgotten on resync, so that the set does
// not silt up to its cap.
func TestResyncForgetsVanishedPreStasisChannels(t *testing.T) {
	h := start(t, nil)
	h.send(evChannel("ChannelStateChange", "pre1", "Ringing", nil))
	h.settle()
	h.ad.mu.Lock()
	seen := h.ad.preStasis["pre1"]
	h.ad.mu.Unlock()
	if !seen {
		t.Fatal("a channel reported before entering the application was not remembered")
	}
	h.srv.RemoveChannel("pre1")
	h.srv.Drop()
	h.waitConnected(2)
	h.ad.mu.Lock()
	n := len(h.ad.preStasis)
	h.ad.mu.Unlock()
	if n != 0 {
		t.Errorf("after resync %d vanished pre-Stasis channels are still remembered", n)
	}
}

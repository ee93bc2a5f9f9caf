package ari

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/telephony"
	"github.com/tamas-cc/tamas/telephony/ari/aritest"
)

// liveCall makes a caller arrive and waits for its CallStarted.
func (h *harness) liveCall(id string) {
	h.t.Helper()
	h.send(evStasisStart(id, "Ring", "Lab Customer", "+14155550123", []string{"18005550100"}))
	h.waitUntil("CallStarted "+id, func(evs []telephony.Event) bool { return hasEvent(evs, telephony.CallStarted, id) })
}

// request waits for a REST request received at or after index from, with
// the given method and path (a path ending in "/" is a prefix).
func (h *harness) request(from int, method, path string) (aritest.Request, int) {
	h.t.Helper()
	for {
		r, i, err := h.srv.WaitRequest(h.ctx(), from, method, path)
		if err != nil {
			h.t.Fatalf("no %s %s request: %v\nrequests: %+v", method, path, err, h.srv.Requests())
		}
		if r.Path == path || strings.HasSuffix(path, "/") {
			return r, i
		}
		from = i + 1
	}
}

// originated waits for an originate request at or after index from and for
// the server to have created its channel, so that events the test then
// sends for the channel cannot overtake the request's handling.
func (h *harness) originated(from int) (aritest.Request, int) {
	h.t.Helper()
	r, i := h.request(from, "POST", "/ari/channels")
	id := r.Query.Get("channelId")
	deadline := time.Now().Add(5 * time.Second)
	for !h.srv.HasChannel(id) {
		if time.Now().After(deadline) {
			h.t.Fatalf("the server never created channel %q", id)
		}
		time.Sleep(time.Millisecond)
	}
	return r, i
}

func (h *harness) hangupFrames(id string) []aritest.Frame {
	return []aritest.Frame{
		evChannel("ChannelHangupRequest", id, "Up", map[string]any{"cause": 32, "soft": true}),
		evStasisEnd(id, "Up"),
	}
}

func TestAnswerRingHangup(t *testing.T) {
	h := start(t, nil)
	ctx := h.ctx()
	h.liveCall("c1")
	n := len(h.srv.Requests())
	if err := h.ad.Ring(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	h.request(n, "POST", "/ari/channels/c1/ring")
	if err := h.ad.Answer(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	h.request(n, "POST", "/ari/channels/c1/answer")
	h.send(evChannel("ChannelStateChange", "c1", "Up", nil))
	if err := h.ad.Hangup(ctx, "c1", "bogus"); err == nil {
		t.Error("Hangup accepted an unknown cause")
	}
	if err := h.ad.Hangup(ctx, "c1", "user_busy"); err != nil {
		t.Fatal(err)
	}
	r, _ := h.request(n, "DELETE", "/ari/channels/c1")
	if r.Query.Get("reason") != "busy" {
		t.Errorf("hangup query = %v", r.Query)
	}
	h.send(h.hangupFrames("c1")...)
	check(t, h.settle(), []want{
		{typ: telephony.CallStarted, call: "c1"},
		{typ: telephony.Ringing, call: "c1"},
		{typ: telephony.Answered, call: "c1"},
		{typ: telephony.Ended, call: "c1", cause: "user_busy", code: 17},
	})
	// The call is gone: control reports it as such.
	for name, err := range map[string]error{
		"answer": h.ad.Answer(ctx, "c1"),
		"ring":   h.ad.Ring(ctx, "c1"),
		"hangup": h.ad.Hangup(ctx, "c1", ""),
	} {
		if !errors.Is(err, telephony.ErrCallGone) {
			t.Errorf("%s on an ended call = %v, want ErrCallGone", name, err)
		}
	}

	h.liveCall("c2")
	if err := h.ad.Hangup(ctx, "c2", "42"); err != nil {
		t.Fatal(err)
	}
	r, _ = h.request(n, "DELETE", "/ari/channels/c2")
	if r.Query.Get("reason_code") != "42" {
		t.Errorf("hangup query = %v", r.Query)
	}
	h.send(h.hangupFrames("c2")...)
	evs := forCall(h.settle(), "c2")
	if e := evs[len(evs)-1]; e.Cause != "switch_congestion" || e.CauseCode != 42 {
		t.Errorf("Ended = %s/%d, want switch_congestion/42", e.Cause, e.CauseCode)
	}
}

func TestPlay(t *testing.T) {
	h := start(t, nil)
	ctx := h.ctx()
	h.liveCall("p1")

	play := func(ctx context.Context, media string) chan error {
		done := make(chan error, 1)
		go func() { done <- h.ad.Play(ctx, "p1", media) }()
		return done
	}
	finished := func(from int, state string) int {
		r, i := h.request(from, "POST", "/ari/channels/p1/play")
		h.send(frame("PlaybackFinished", map[string]any{"playback": map[string]any{
			"id": r.Query.Get("playbackId"), "media_uri": r.Query.Get("media"),
			"target_uri": "channel:p1", "state": state,
		}}))
		return i + 1
	}

	done := play(ctx, "hello-world")
	next := finished(0, "done")
	if err := <-done; err != nil {
		t.Errorf("Play = %v", err)
	}
	if r, _ := h.request(0, "POST", "/ari/channels/p1/play"); r.Query.Get("media") != "sound:hello-world" {
		t.Errorf("media = %q", r.Query.Get("media"))
	}

	done = play(ctx, "sound:no-such-file")
	next = finished(next, "failed")
	if err := <-done; err == nil || !strings.Contains(err.Error(), "failed") {
		t.Errorf("failed playback: Play = %v", err)
	}

	cctx, cancel := context.WithCancel(ctx)
	done = play(cctx, "sound:long")
	r, i := h.request(next, "POST", "/ari/channels/p1/play")
	next = i + 1
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Play = %v", err)
	}
	h.request(0, "DELETE", "/ari/playbacks/"+r.Query.Get("playbackId"))

	done = play(ctx, "sound:long")
	h.request(next, "POST", "/ari/channels/p1/play")
	h.send(h.hangupFrames("p1")...)
	if err := <-done; !errors.Is(err, telephony.ErrCallGone) {
		t.Errorf("Play during hang-up = %v, want ErrCallGone", err)
	}
	if err := h.ad.Play(ctx, "p1", "sound:beep"); !errors.Is(err, telephony.ErrCallGone) {
		t.Errorf("Play on ended call = %v, want ErrCallGone", err)
	}
	if err := h.ad.Play(ctx, "p1", " "); err == nil {
		t.Error("Play without media did not fail")
	}
}

func TestCollect(t *testing.T) {
	h := start(t, nil)
	ctx := h.ctx()
	h.liveCall("d1")

	type result struct {
		digits string
		err    error
	}
	collect := func(opts telephony.CollectOptions) chan result {
		out := make(chan result, 1)
		go func() {
			d, err := h.ad.Collect(ctx, "d1", opts)
			out <- result{d, err}
		}()
		// Digits count from the call to Collect: wait until it listens.
		h.eventually("collector registered", func() bool {
			h.ad.mu.Lock()
			defer h.ad.mu.Unlock()
			cs := h.ad.calls["d1"]
			return cs != nil && len(cs.collectors) > 0
		})
		return out
	}
	dtmf := func(digits ...string) {
		for _, d := range digits {
			h.send(evChannel("ChannelDtmfReceived", "d1", "Up", map[string]any{"digit": d, "duration_ms": 100}))
		}
		// Let the adapter read them before the next Collect starts.
		h.settle()
	}

	out := collect(telephony.CollectOptions{MaxDigits: 6, Terminator: "#"})
	dtmf("1", "2", "#", "3")
	if r := <-out; r.digits != "12" || r.err != nil {
		t.Errorf("terminated: %q %v, want 12", r.digits, r.err)
	}
	out = collect(telephony.CollectOptions{MaxDigits: 2})
	dtmf("7", "8", "9")
	if r := <-out; r.digits != "78" || r.err != nil {
		t.Errorf("max digits: %q %v, want 78", r.digits, r.err)
	}
	out = collect(telephony.CollectOptions{InterDigit: 30 * time.Millisecond})
	dtmf("4")
	if r := <-out; r.digits != "4" || r.err != nil {
		t.Errorf("inter-digit timeout: %q %v, want 4", r.digits, r.err)
	}
	out = collect(telephony.CollectOptions{Timeout: 20 * time.Millisecond})
	if r := <-out; r.digits != "" || r.err != nil {
		t.Errorf("no input: %q %v, want empty", r.digits, r.err)
	}
	out = collect(telephony.CollectOptions{MaxDigits: 4})
	dtmf("5")
	h.send(h.hangupFrames("d1")...)
	if r := <-out; r.digits != "5" || !errors.Is(r.err, telephony.ErrCallGone) {
		t.Errorf("hang-up: %q %v, want 5 and ErrCallGone", r.digits, r.err)
	}
	if _, err := h.ad.Collect(ctx, "d1", telephony.CollectOptions{MaxDigits: 1}); !errors.Is(err, telephony.ErrCallGone) {
		t.Errorf("Collect on ended call = %v", err)
	}
	// Every digit was also reported as an event.
	var digits string
	for _, e := range forCall(h.settle(), "d1") {
		digits += e.Digit
	}
	if digits != "12#378945" {
		t.Errorf("DTMF events = %q", digits)
	}
}

func TestOriginate(t *testing.T) {
	h := start(t, nil)
	ctx := h.ctx()
	if _, err := h.ad.Originate(ctx, "agent1000", "1000"); err == nil {
		t.Error("Originate accepted an endpoint without technology")
	}
	id, err := h.ad.Originate(ctx, "PJSIP/agent1000", `"Lab Customer" <+14155550123>`)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := h.request(0, "POST", "/ari/channels")
	q := r.Query
	if q.Get("channelId") != id || q.Get("endpoint") != "PJSIP/agent1000" || q.Get("app") != "tamas" ||
		q.Get("callerId") != `"Lab Customer" <+14155550123>` || q.Get("timeout") != "30" {
		t.Errorf("originate query = %v", q)
	}
	h.send(evChannel("ChannelStateChange", id, "Ringing", nil))
	h.send(evStasisStart(id, "Up", "Lab Customer", "+14155550123", []string{"originate"}))
	h.send(h.hangupFrames(id)...)

	quiet, err := h.ad.Originate(ctx, "PJSIP/agent1001", "+14155550100")
	if err != nil {
		t.Fatal(err)
	}
	h.send(evChannel("ChannelStateChange", quiet, "Ringing", nil))
	h.send(evChannel("ChannelDestroyed", quiet, "Ringing", map[string]any{"cause": 19, "cause_txt": "User alerting, no answer"}))

	// Events of different calls may interleave; each call's are in order.
	all := h.settle()
	evs := forCall(all, id)
	check(t, evs, []want{
		{typ: telephony.CallStarted, call: id},
		{typ: telephony.Ringing, call: id},
		{typ: telephony.Answered, call: id},
		{typ: telephony.Ended, call: id, cause: "normal_clearing", code: 16},
	})
	check(t, forCall(all, quiet), []want{
		{typ: telephony.CallStarted, call: quiet},
		{typ: telephony.Ringing, call: quiet},
		{typ: telephony.Ended, call: quiet, cause: "no_answer", code: 19},
	})
	if c := evs[0].Call; c.Direction != telephony.Outbound || c.DNIS != "agent1000" ||
		c.Caller.Number != "+14155550123" || c.Caller.Name != "Lab Customer" {
		t.Errorf("outbound call = %+v", c)
	}
}

func TestBridge(t *testing.T) {
	h := start(t, nil)
	ctx := h.ctx()
	h.liveCall("a1")
	h.liveCall("b1")
	if err := h.ad.Bridge(ctx, "a1", "a1"); err == nil {
		t.Error("Bridge of a call with itself did not fail")
	}
	if err := h.ad.Bridge(ctx, "a1", "b1"); err != nil {
		t.Fatal(err)
	}
	r, _ := h.request(0, "POST", "/ari/bridges")
	bid := r.Query.Get("bridgeId")
	if r.Query.Get("type") != "mixing" || bid == "" {
		t.Errorf("bridge create query = %v", r.Query)
	}
	if r, _ := h.request(0, "POST", "/ari/bridges/"+bid+"/addChannel"); r.Query.Get("channel") != "a1,b1" {
		t.Errorf("addChannel query = %v", r.Query)
	}
	bridge := func(chans ...string) map[string]any {
		return map[string]any{"bridge": map[string]any{"id": bid, "bridge_type": "mixing", "channels": chans}}
	}
	h.send(evChannel("ChannelEnteredBridge", "a1", "Up", bridge("a1")))
	h.send(evChannel("ChannelEnteredBridge", "b1", "Up", bridge("a1", "b1")))
	h.send(evChannel("ChannelLeftBridge", "a1", "Up", bridge("b1")))
	n := len(h.srv.Requests())
	h.send(evChannel("ChannelLeftBridge", "b1", "Up", bridge()))
	h.request(n, "DELETE", "/ari/bridges/"+bid)
	evs := h.settle()
	check(t, evs[2:], []want{
		{typ: telephony.Bridged, call: "b1", peer: "a1", linked: "a1"},
		{typ: telephony.Bridged, call: "a1", peer: "b1", linked: "a1"},
	})

	n = len(h.srv.Requests())
	err := h.ad.Bridge(ctx, "a1", "nobody")
	if !errors.Is(err, telephony.ErrCallGone) {
		t.Errorf("Bridge with a vanished call = %v, want ErrCallGone", err)
	}
	// The bridge made for it is cleaned up.
	r, _ = h.request(n, "POST", "/ari/bridges")
	h.request(n, "DELETE", "/ari/bridges/"+r.Query.Get("bridgeId"))
}

func TestSnoop(t *testing.T) {
	h := start(t, nil)
	ctx := h.ctx()
	h.liveCall("s1")
	if _, err := h.ad.Snoop(ctx, "s1", "PJSIP/super1", "shout"); err == nil {
		t.Error("Snoop accepted an unknown mode")
	}
	type result struct {
		id  string
		err error
	}
	out := make(chan result, 1)
	go func() {
		id, err := h.ad.Snoop(ctx, "s1", "PJSIP/super1", telephony.Whisper)
		out <- result{id, err}
	}()
	sr, _ := h.request(0, "POST", "/ari/channels/s1/snoop")
	snoopID := sr.Query.Get("snoopId")
	if sr.Query.Get("spy") != "both" || sr.Query.Get("whisper") != "out" || sr.Query.Get("app") != "tamas" {
		t.Errorf("snoop query = %v", sr.Query)
	}
	or, _ := h.originated(0)
	supID := or.Query.Get("channelId")
	if or.Query.Get("endpoint") != "PJSIP/super1" || !strings.Contains(or.Query.Get("callerId"), "+14155550123") {
		t.Errorf("supervisor originate query = %v", or.Query)
	}
	spy := channel(snoopID, "Up", "", "")
	spy["name"] = "Snoop/s1-00000000"
	h.send(frame("StasisStart", map[string]any{"args": []string{"snoop"}, "channel": spy}))
	h.send(evStasisStart(supID, "Up", "Lab Customer", "+14155550123", []string{"snoop-supervisor"}))
	r := <-out
	if r.err != nil || r.id != supID {
		t.Fatalf("Snoop = %q %v, want %q", r.id, r.err, supID)
	}
	br, _ := h.request(0, "POST", "/ari/bridges/")
	if br.Query.Get("channel") != snoopID+","+supID {
		t.Errorf("snoop bridge query = %v", br.Query)
	}
	// The call ends: the supervisor is let go, and then the spy channel.
	n := len(h.srv.Requests())
	h.send(h.hangupFrames("s1")...)
	h.request(n, "DELETE", "/ari/channels/"+supID)
	h.send(h.hangupFrames(supID)...)
	h.request(n, "DELETE", "/ari/channels/"+snoopID)

	evs := h.settle()
	check(t, evs, []want{
		{typ: telephony.CallStarted, call: "s1"},
		{typ: telephony.CallStarted, call: supID},
		{typ: telephony.Answered, call: supID},
		{typ: telephony.Ended, call: "s1", cause: "normal_clearing", code: 16},
		{typ: telephony.Ended, call: supID, cause: "normal_clearing", code: 16},
	})

	// A supervisor who does not answer: Snoop fails and cleans up.
	h.liveCall("s2")
	n = len(h.srv.Requests())
	go func() {
		id, err := h.ad.Snoop(ctx, "s2", "PJSIP/super2", telephony.Listen)
		out <- result{id, err}
	}()
	sr, _ = h.request(n, "POST", "/ari/channels/s2/snoop")
	if sr.Query.Get("whisper") != "none" {
		t.Errorf("listen snoop query = %v", sr.Query)
	}
	or, _ = h.originated(n)
	h.send(evChannel("ChannelDestroyed", or.Query.Get("channelId"), "Ringing", map[string]any{"cause": 19}))
	if r := <-out; r.err == nil {
		t.Error("Snoop with an unanswered supervisor did not fail")
	}
	h.request(n, "DELETE", "/ari/channels/"+sr.Query.Get("snoopId"))
	if _, err := h.ad.Snoop(ctx, "nobody", "PJSIP/super1", telephony.Barge); !errors.Is(err, telephony.ErrCallGone) {
		t.Errorf("Snoop on a vanished call = %v, want ErrCallGone", err)
	}
}

// An originate whose answer never came (the caller's deadline passed) may
// still have created the channel: it is hung up rather than left ringing an
// agent nobody knows about, and its events are not taken for a new call.
func TestOriginateAbandonedIsHungUp(t *testing.T) {
	h := start(t, nil)
	h.srv.SetLatency(300 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := h.ad.Originate(ctx, "PJSIP/agent1000", "+14155550123"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Originate = %v, want the deadline", err)
	}
	r, _ := h.request(0, "POST", "/ari/channels")
	id := r.Query.Get("channelId")
	h.srv.SetLatency(0)
	h.request(0, "DELETE", "/ari/channels/"+id)
	h.send(evChannel("ChannelStateChange", id, "Ringing", nil))
	h.send(evStasisStart(id, "Up", "", "+14155550123", []string{"originate"}))
	h.send(h.hangupFrames(id)...)
	if evs := forCall(h.settle(), id); len(evs) != 0 {
		t.Errorf("events for an abandoned originate:\n%s", describe(evs))
	}
}

// The call ends while the supervisor is being rung: Snoop fails with
// ErrCallGone and lets the supervisor go, rather than leaving them in a
// bridge with a spy channel on a call that no longer exists.
func TestSnoopCallEndsWhileSupervisorRings(t *testing.T) {
	h := start(t, nil)
	ctx := h.ctx()
	h.liveCall("s3")
	type result struct {
		id  string
		err error
	}
	out := make(chan result, 1)
	go func() {
		id, err := h.ad.Snoop(ctx, "s3", "PJSIP/super1", telephony.Listen)
		out <- result{id, err}
	}()
	sr, _ := h.request(0, "POST", "/ari/channels/s3/snoop")
	snoopID := sr.Query.Get("snoopId")
	or, _ := h.originated(0)
	supID := or.Query.Get("channelId")
	h.waitUntil("supervisor leg", func(evs []telephony.Event) bool { return hasEvent(evs, telephony.CallStarted, supID) })
	n := len(h.srv.Requests())
	h.send(h.hangupFrames("s3")...)
	// The supervisor answers anyway, and the spy channel (gone with the
	// call in Asterisk) is reported late.
	spy := channel(snoopID, "Up", "", "")
	spy["name"] = "Snoop/s3-00000000"
	h.send(frame("StasisStart", map[string]any{"args": []string{"snoop"}, "channel": spy}))
	h.send(evStasisStart(supID, "Up", "", "+14155550123", []string{"snoop-supervisor"}))
	r := <-out
	if !errors.Is(r.err, telephony.ErrCallGone) {
		t.Errorf("Snoop on a call that ended meanwhile = %q %v, want ErrCallGone", r.id, r.err)
	}
	h.request(n, "DELETE", "/ari/channels/"+supID)
}

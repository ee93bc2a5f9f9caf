package ari

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/telephony"
	"github.com/tamas-cc/tamas/telephony/ari/aritest"
)

// want is one expected call event; empty fields are not checked.
type want struct {
	typ    telephony.EventType
	call   string
	digit  string
	cause  string
	code   int
	peer   string
	agent  string
	linked string
}

func check(t *testing.T, got []telephony.Event, wants []want) {
	t.Helper()
	if len(got) != len(wants) {
		t.Fatalf("got %d events, want %d:\n%s", len(got), len(wants), describe(got))
	}
	for i, w := range wants {
		e := got[i]
		bad := e.Type != w.typ || e.Call.ID != w.call ||
			w.digit != "" && e.Digit != w.digit ||
			w.cause != "" && (e.Cause != w.cause || e.CauseCode != w.code) ||
			w.peer != "" && e.PeerCallID != w.peer ||
			w.agent != "" && e.Agent != w.agent ||
			w.linked != "" && e.Call.LinkedID != w.linked
		if bad {
			t.Errorf("event %d = %+v\nwant %+v\nall:\n%s", i, e, w, describe(got))
		}
		if e.Call.PBX != "lab" || e.Call.Node != "node-1" {
			t.Errorf("event %d: pbx %q node %q", i, e.Call.PBX, e.Call.Node)
		}
	}
}

// replay runs a transcript through a fresh adapter and returns the call
// events it produced.
func replay(t *testing.T, name string) (*harness, []telephony.Event) {
	t.Helper()
	h := start(t, nil)
	tr, err := aritest.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	h.srv.Load(tr)
	if err := h.srv.Replay(tr); err != nil {
		t.Fatal(err)
	}
	return h, h.settle()
}

func TestTranscriptInboundSIPCall(t *testing.T) {
	h, evs := replay(t, "inbound_sip_call")
	const id = "1795328539.0"
	check(t, evs, []want{
		{typ: telephony.CallStarted, call: id},
		{typ: telephony.Answered, call: id},
		{typ: telephony.DTMF, call: id, digit: "1"},
		{typ: telephony.DTMF, call: id, digit: "5"},
		{typ: telephony.Ended, call: id, cause: "normal_clearing", code: 16},
	})
	c := evs[0].Call
	if c.Direction != telephony.Inbound || c.Caller.Number != "+14155550123" || c.Caller.Name != "Lab Customer" ||
		c.DNIS != "18005550100" || c.Line != "Sales" || c.LinkedID != id || c.State != telephony.StateRinging {
		t.Errorf("CallStarted call = %+v", c)
	}
	if want := time.Date(2026, 11, 22, 6, 22, 19, 960e6, time.UTC); !c.StartedAt.Equal(want) || !evs[0].At.Equal(want) {
		t.Errorf("started at %v (event at %v), want %v", c.StartedAt, evs[0].At, want)
	}
	if a := evs[1].Call; a.State != telephony.StateUp || a.AnsweredAt.IsZero() {
		t.Errorf("Answered call = %+v", a)
	}
	if e := evs[4].Call; e.State != telephony.StateEnded || e.EndedAt.IsZero() {
		t.Errorf("Ended call = %+v", e)
	}
	// The filter kept ChannelVarset and PlaybackStarted from being sent.
	if got := strings.Join(h.srv.EventFilter(), ","); strings.Contains(got, "ChannelVarset") || !strings.Contains(got, "StasisStart") {
		t.Errorf("event filter = %s", got)
	}
	if n := h.metric("tamas_ari_events_total", "type", "ChannelVarset"); n != 0 {
		t.Errorf("ChannelVarset events read = %v, want 0 (filtered by Asterisk)", n)
	}
	if n := h.metric("tamas_ari_events_total", "type", "ChannelDtmfReceived"); n != 2 {
		t.Errorf("DTMF events read = %v, want 2", n)
	}
}

func TestTranscriptBridgeAndHangup(t *testing.T) {
	_, evs := replay(t, "bridge_and_hangup")
	const id = "1795328543.1"
	check(t, evs, []want{
		{typ: telephony.CallStarted, call: id},
		{typ: telephony.Answered, call: id},
		{typ: telephony.DTMF, call: id, digit: "1"},
		{typ: telephony.DTMF, call: id, digit: "9"},
		{typ: telephony.Ended, call: id, cause: "normal_clearing", code: 16},
	})
	if c := evs[0].Call; c.Caller.Number != "09121234567" || c.Caller.Name != "Bridge Caller" || c.DNIS != "2000" || c.Line != "" {
		t.Errorf("call = %+v", c)
	}
}

func TestTranscriptCallerHangup(t *testing.T) {
	_, evs := replay(t, "caller_hangup")
	const held, abandoned = "1795328554.17", "1795328557.20"
	check(t, evs, []want{
		{typ: telephony.CallStarted, call: held},
		{typ: telephony.Answered, call: held},
		// A BYE: ChannelHangupRequest without a cause.
		{typ: telephony.Ended, call: held, cause: "normal_clearing", code: 16},
		{typ: telephony.CallStarted, call: abandoned},
		// A CANCEL: cause 127 with tech_cause 487.
		{typ: telephony.Ended, call: abandoned, cause: "originator_cancel", code: 127},
	})
	if c := evs[3].Call; c.Caller.Number != "+442071234567" || c.Caller.Name != "Abandoning Caller" || c.DNIS != "4001" {
		t.Errorf("abandoned call = %+v", c)
	}
}

func TestTranscriptSnoop(t *testing.T) {
	h, evs := replay(t, "snoop")
	const id = "1795328552.14"
	// The spy channels are not calls.
	check(t, evs, []want{
		{typ: telephony.CallStarted, call: id},
		{typ: telephony.Answered, call: id},
		{typ: telephony.DTMF, call: id, digit: "1"},
		{typ: telephony.DTMF, call: id, digit: "2"},
		{typ: telephony.Ended, call: id, cause: "normal_clearing", code: 16},
	})
	if n := h.metric("tamas_ari_events_ignored_total", "reason", "internal_channel"); n < 2 {
		t.Errorf("spy channel events ignored = %v, want >= 2", n)
	}
}

func TestTranscriptLocalOriginate(t *testing.T) {
	_, evs := replay(t, "local_originate")
	const a1, a2 = "lab-local-a1-1795328546578", "lab-local-a2-1795328546578"
	const b1, c1 = "lab-local-b1-1795328546581", "lab-local-c1-1795328547026"
	check(t, evs, []want{
		{typ: telephony.CallStarted, call: a2},
		{typ: telephony.Answered, call: a2},
		{typ: telephony.CallStarted, call: a1},
		{typ: telephony.Answered, call: a1},
		{typ: telephony.Ended, call: a1, cause: "normal_clearing", code: 16},
		{typ: telephony.Ended, call: a2, cause: "normal_clearing", code: 16},
		{typ: telephony.CallStarted, call: b1},
		{typ: telephony.Answered, call: b1},
		{typ: telephony.Ended, call: b1, cause: "normal_clearing", code: 16},
		{typ: telephony.CallStarted, call: c1},
		{typ: telephony.Answered, call: c1},
		{typ: telephony.Ended, call: c1, cause: "normal_clearing", code: 16},
	})
	dirs := map[string]telephony.Direction{a2: telephony.Inbound, a1: telephony.Outbound, b1: telephony.Outbound, c1: telephony.Outbound}
	dnis := map[string]string{a2: "5000", a1: "5000", b1: "moh", c1: "echo"}
	for _, e := range evs {
		if e.Type == telephony.CallStarted && (e.Call.Direction != dirs[e.Call.ID] || e.Call.DNIS != dnis[e.Call.ID]) {
			t.Errorf("%s: direction %s dnis %q, want %s %q", e.Call.ID, e.Call.Direction, e.Call.DNIS, dirs[e.Call.ID], dnis[e.Call.ID])
		}
	}
	if c := evs[0].Call; c.Caller.Number != "+14155550199" || c.Caller.Name != "CRM Dialer" {
		t.Errorf("a2 caller = %+v", c.Caller)
	}
}

func TestTranscriptAgentCall(t *testing.T) {
	h, evs := replay(t, "agent_call")
	const cust, agent = "1795328561.21", "lab-agent-leg-1795328561162"
	check(t, evs, []want{
		{typ: telephony.CallStarted, call: cust},
		{typ: telephony.Answered, call: cust},
		{typ: telephony.CallStarted, call: agent},
		{typ: telephony.Answered, call: agent},
		{typ: telephony.Bridged, call: agent, peer: cust, agent: "PJSIP/agent1000", linked: cust},
		{typ: telephony.Bridged, call: cust, peer: agent, agent: "PJSIP/agent1000", linked: cust},
		// The bridge is recorded: both legs hear of it.
		{typ: telephony.Recorded, call: cust},
		{typ: telephony.Recorded, call: agent},
		{typ: telephony.Ended, call: cust, cause: "normal_clearing", code: 16},
		{typ: telephony.Ended, call: agent, cause: "normal_clearing", code: 16},
	})
	if c := evs[2].Call; c.Direction != telephony.Outbound || c.DNIS != "agent1000" || c.Caller.Number != "+14155550123" {
		t.Errorf("agent leg = %+v", c)
	}
	if c := evs[4].Call; c.State != telephony.StateBridged {
		t.Errorf("bridged state = %s", c.State)
	}
	if r := evs[6].Recording; r != "lab-call-rec-1795328562174.wav" {
		t.Errorf("recording = %q", r)
	}
	// Asterisk repeated ChannelStateChange, ChannelHangupRequest and
	// ChannelDestroyed frames for the agent leg.
	if n := h.metric("tamas_ari_duplicate_events_total"); n < 3 {
		t.Errorf("duplicates = %v, want >= 3", n)
	}
}

func TestTranscriptApplicationReplaced(t *testing.T) {
	h := start(t, nil)
	tr, err := aritest.Load("listen_curl_demo")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.srv.Replay(tr); err != nil {
		t.Fatal(err)
	}
	if err := h.wait(false); !errors.Is(err, ErrApplicationReplaced) {
		t.Fatalf("Run = %v, want ErrApplicationReplaced", err)
	}
	const one, two = "curl-demo-1", "curl-demo-2"
	check(t, h.snapshot(), []want{
		{typ: telephony.CallStarted, call: one},
		{typ: telephony.Answered, call: one},
		{typ: telephony.Ended, call: one, cause: "normal_clearing", code: 16},
		{typ: telephony.CallStarted, call: two},
		{typ: telephony.Answered, call: two},
		{typ: telephony.Ended, call: two, cause: "normal_clearing", code: 16},
	})
	if got := h.srv.Accepted(); got != 1 {
		t.Errorf("connections = %d: the adapter reconnected after ApplicationReplaced", got)
	}
	if n := h.metric("tamas_ari_application_replaced_total"); n != 1 {
		t.Errorf("replaced metric = %v", n)
	}
	if !strings.Contains(h.logs.String(), "level=ERROR msg=\"ari: ANOTHER CONNECTION TOOK OVER") {
		t.Errorf("no error-level log of the takeover:\n%s", h.logs.String())
	}
}

func TestTranscriptARIInfo(t *testing.T) {
	h := start(t, nil)
	tr, err := aritest.Load("ari_info")
	if err != nil {
		t.Fatal(err)
	}
	h.srv.Load(tr)
	// The recorded 404 for a channel that does not exist is call gone.
	err = h.ad.Answer(h.ctx(), "does-not-exist")
	if !errors.Is(err, telephony.ErrCallGone) {
		t.Errorf("Answer(does-not-exist) = %v, want ErrCallGone", err)
	}
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 404 || se.Message != "Channel not found" {
		t.Errorf("status error = %+v", se)
	}
}

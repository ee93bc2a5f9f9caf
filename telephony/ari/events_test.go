package ari

import (
	"strings"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/crm/phone"
	"github.com/tamas-cc/tamas/telephony"
)

func TestTransfers(t *testing.T) {
	h := start(t, nil)
	h.liveCall("cust")
	h.liveCall("agent")
	refer := func(state string) {
		h.send(frame("ChannelTransfer", map[string]any{
			"state":       state,
			"refer_to":    map[string]any{"requested_destination": map[string]any{"destination": "2000"}},
			"referred_by": map[string]any{"source_channel": channel("agent", "Up", "", ""), "connected_channel": channel("cust", "Up", "", "")},
		}))
	}
	// Asterisk reports a REFER's progress in several events: one
	// Transferred.
	refer("channel_progress")
	refer("channel_answered")
	refer("channel_declined")
	h.send(frame("BridgeAttendedTransfer", map[string]any{
		"result": "Success", "transferee": channel("cust", "Up", "", ""),
		"transfer_target": map[string]any{"id": "target", "name": "PJSIP/agent1001-0000000a"},
	}))
	h.send(frame("BridgeBlindTransfer", map[string]any{"result": "Fail", "transferee": channel("cust", "Up", "", ""), "exten": "3000"}))
	h.send(frame("BridgeBlindTransfer", map[string]any{"result": "Success", "channel": channel("agent", "Up", "", ""), "exten": "3000"}))
	evs := h.settle()
	check(t, evs[2:], []want{
		{typ: telephony.Transferred, call: "cust", agent: "2000"},
		{typ: telephony.Transferred, call: "cust", agent: "PJSIP/agent1001", peer: "target"},
		{typ: telephony.Transferred, call: "agent", agent: "3000"},
	})
}

// Caller identities come from strangers: oversized, malformed or marked-up
// values are cleaned or dropped, counted and logged; the call still starts.
func TestBadCallerIdentity(t *testing.T) {
	h := start(t, nil)
	h.send(evStasisStart("bad1", "Ring", "<script>alert(1)</script>", strings.Repeat("1", 2048), []string{"sales"}))
	h.send(evStasisStart("bad2", "Ring", "Evil\u202eeman\x07"+strings.Repeat("x", 300), `12" onmouseover="x`, []string{"18005550100"}))
	evs := h.settle()
	if len(evs) != 2 {
		t.Fatalf("events:\n%s", describe(evs))
	}
	one, two := evs[0].Call, evs[1].Call
	if one.Caller.Number != "" || one.Caller.Name != "<script>alert(1)</script>" || one.DNIS != "sales" {
		t.Errorf("bad1 = %+v", one)
	}
	if two.Caller.Number != "" || strings.ContainsAny(two.Caller.Name, "\u202e\x07") ||
		len([]rune(two.Caller.Name)) > maxNameLen || !strings.HasPrefix(two.Caller.Name, "Evileman") {
		t.Errorf("bad2 = %+v", two)
	}
	for _, p := range []struct{ field, kind string }{
		{"caller_number", problemNumberTooLong}, {"caller_name", problemNameMarkup}, {"dnis", problemNotNumeric},
		{"caller_number", problemNumberChars}, {"caller_name", problemNameControl}, {"caller_name", problemNameTooLong},
	} {
		if n := h.metric("tamas_ari_identity_problems_total", "field", p.field, "kind", p.kind); n != 1 {
			t.Errorf("%s/%s = %v, want 1", p.field, p.kind, n)
		}
	}
	if !strings.Contains(h.logs.String(), "bad caller identity from Asterisk") {
		t.Error("bad identity not logged")
	}
}

// Asterisk passes a percent-encoded SIP user on decoded: a caller typing
// Persian or Arabic-Indic digits arrives with them, sometimes with the
// zero-width space a right-to-left editor left inside. The number is kept
// (not "withheld") and reads as the same E.164 the REST lookup finds.
func TestEasternDigitsCallerNumber(t *testing.T) {
	h := start(t, nil)
	h.send(evStasisStart("fa", "Ring", "مشتری", "۰۹۱۲۱۲۳۴۵۶۷", []string{"18005550100"}))
	h.send(evStasisStart("ar", "Ring", "", "٠٩١٢١٢٣٤٥٦٧", []string{"١٨٠٠٥٥٥٠١٠٠"}))
	h.send(evStasisStart("zw", "Ring", "", "۰۹۱۲\u200b۱۲۳\u200f۴۵۶۷\u200b", []string{"18005550100"}))
	h.send(evStasisStart("zwonly", "Ring", "", "\u200b\u200e", []string{"18005550100"}))
	evs := h.settle()
	if len(evs) != 4 {
		t.Fatalf("events:\n%s", describe(evs))
	}
	norm, err := phone.New("IR")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct{ number, dnis string }{
		{"۰۹۱۲۱۲۳۴۵۶۷", "18005550100"},
		{"٠٩١٢١٢٣٤٥٦٧", "١٨٠٠٥٥٥٠١٠٠"},
		{"۰۹۱۲۱۲۳۴۵۶۷", "18005550100"},
	} {
		c := evs[i].Call
		if c.Caller.Number != want.number || c.DNIS != want.dnis {
			t.Errorf("%s: number %q dnis %q, want %q %q", c.ID, c.Caller.Number, c.DNIS, want.number, want.dnis)
		}
		if got := norm.Parse(c.Caller.Number).E164; got != "+989121234567" {
			t.Errorf("%s: %q reads as %q", c.ID, c.Caller.Number, got)
		}
	}
	if n := evs[3].Call.Caller.Number; n != "" {
		t.Errorf("a number of format characters only = %q", n)
	}
	for _, kind := range []string{problemNumberChars, problemNumberTooLong, problemInvalidUTF8, problemNotNumeric} {
		for _, field := range []string{"caller_number", "dnis"} {
			if n := h.metric("tamas_ari_identity_problems_total", "field", field, "kind", kind); n != 0 {
				t.Errorf("%s/%s = %v, want 0", field, kind, n)
			}
		}
	}
}

func TestCauses(t *testing.T) {
	for _, c := range []struct {
		code, tech int
		want       string
	}{
		{16, 0, "normal_clearing"}, {17, 0, "user_busy"}, {19, 0, "no_answer"}, {127, 487, "originator_cancel"},
		{127, 0, "interworking"}, {0, 0, CauseUnknown}, {999, 0, CauseUnknown}, {-1, 0, CauseUnknown},
	} {
		if got := causeName(c.code, c.tech); got != c.want {
			t.Errorf("causeName(%d, %d) = %q, want %q", c.code, c.tech, got, c.want)
		}
	}
	for _, c := range []struct {
		in, param, value, name string
		code                   int
	}{
		{"", "reason", "normal", "normal_clearing", 16},
		{"user_busy", "reason", "busy", "user_busy", 17},
		{"No_Answer", "reason", "no_answer", "no_answer", 19},
		{"call_rejected", "reason", "rejected", "call_rejected", 21},
		{"34", "reason_code", "34", "normal_circuit_congestion", 34},
	} {
		p, v, n, code, ok := hangupArgs(c.in)
		if !ok || p != c.param || v != c.value || n != c.name || code != c.code {
			t.Errorf("hangupArgs(%q) = %s=%s %s/%d %v", c.in, p, v, n, code, ok)
		}
	}
	for _, bad := range []string{"0", "128", "-5", "explode", "normal; drop"} {
		if _, _, _, _, ok := hangupArgs(bad); ok {
			t.Errorf("hangupArgs(%q) accepted", bad)
		}
	}
}

func TestNames(t *testing.T) {
	for in, want := range map[string]string{
		"PJSIP/agent1000-00000006":          "PJSIP/agent1000",
		"Local/5000@crm-inbound-00000002;1": "Local/5000@crm-inbound",
		"PJSIP/anonymous-0000000a":          "PJSIP/anonymous",
		"PJSIP/agent1000":                   "PJSIP/agent1000",
		"PJSIP/sales-team":                  "PJSIP/sales-team",
		"Snoop/1795328552.14-00000000":      "Snoop/1795328552.14",
		"":                                  "",
	} {
		if got := endpointOf(in); got != want {
			t.Errorf("endpointOf(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"PJSIP/agent1000":          "agent1000",
		"PJSIP/+14155550123@trunk": "+14155550123",
		"agent":                    "agent",
	} {
		if got := resourceOf(in); got != want {
			t.Errorf("resourceOf(%q) = %q, want %q", in, got, want)
		}
	}
	if n, num := parseCallerID(`"Lab Customer" <+14155550123>`); n != "Lab Customer" || num != "+14155550123" {
		t.Errorf("parseCallerID = %q %q", n, num)
	}
	if n, num := parseCallerID("+14155550123"); n != "" || num != "+14155550123" {
		t.Errorf("parseCallerID bare = %q %q", n, num)
	}
	if got := formatCallerID(telephony.Party{Name: `Say "hi"`, Number: "1"}); got != `"Say hi" <1>` {
		t.Errorf("formatCallerID = %s", got)
	}
}

func TestParseTime(t *testing.T) {
	fallback := time.Unix(1, 0)
	got := parseTime("2026-11-22T06:22:19.960+0000", fallback)
	if want := time.Date(2026, 11, 22, 6, 22, 19, 960e6, time.UTC); !got.Equal(want) {
		t.Errorf("ARI time = %v", got)
	}
	if got := parseTime("2026-11-22T06:22:19.960+03:30", fallback); got.Equal(fallback) {
		t.Error("RFC 3339 time not read")
	}
	for _, bad := range []string{"", "yesterday", "2026-13-40T99:99:99.000+0000"} {
		if got := parseTime(bad, fallback); !got.Equal(fallback) {
			t.Errorf("parseTime(%q) = %v, want the fallback", bad, got)
		}
	}
}

func TestBackoff(t *testing.T) {
	lo, hi := 100*time.Millisecond, 2*time.Second
	for attempt := range 12 {
		ceil := min(lo<<attempt, hi)
		for range 50 {
			d := backoff(lo, hi, attempt)
			if d < ceil/2 || d > ceil {
				t.Fatalf("attempt %d: %v outside [%v, %v]", attempt, d, ceil/2, ceil)
			}
		}
	}
}

func TestDedupeWindow(t *testing.T) {
	var d dedupe
	if d.seenBefore(1) || !d.seenBefore(1) {
		t.Fatal("repeat not recognised")
	}
	for i := uint64(2); i < 2+uint64(len(d.ring)); i++ {
		d.seenBefore(i)
	}
	// 1 has left the window: it is new again, and the map stays bounded.
	if d.seenBefore(1) {
		t.Error("an old frame is still remembered")
	}
	if len(d.seen) > len(d.ring) {
		t.Errorf("dedupe map holds %d entries for a %d window", len(d.seen), len(d.ring))
	}
	r := newRecentSet(2)
	r.add("a")
	r.add("b")
	r.add("c")
	if r.has("a") || !r.has("b") || !r.has("c") {
		t.Error("recent set does not keep the last n")
	}
}

package ari

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tamas-cc/tamas/telephony"
	"github.com/tamas-cc/tamas/telephony/ari/aritest"
)

// maxFuzzFrames bounds the frames of one fuzz input, well below the 4096
// ended ids the adapter remembers: an id that ended cannot start again.
const maxFuzzFrames = 256

// FuzzHandleFrame feeds websocket frames, one per line of the input, to the
// adapter's frame reader, seeded with the recorded Asterisk sessions. Nothing
// Asterisk (or whoever speaks for it) sends may panic it, and:
//   - every frame is accounted for exactly once: counted by its type, as a
//     decode error, or as a repeat; a frame that does not decode emits
//     nothing;
//   - what is emitted carries a caller identity safe to store and show:
//     numbers and DNIS valid UTF-8, bounded, of number characters only;
//     names valid UTF-8, bounded, without control or bidi characters;
//     ids of at most maxIDLen bytes;
//   - each call's events make sense: CallStarted first and once, Answered
//     and Ringing at most once (no Ringing after Answered), Held and Resumed
//     alternating, nothing after Ended, which comes at most once; the
//     calls the adapter tracks are exactly those started and not ended;
//   - ApplicationReplaced ends every call "lost".
func FuzzHandleFrame(f *testing.F) {
	// Each recorded session as the adapter receives it once its event
	// filter is set (ChannelVarset alone is most of the rest, and large
	// inputs slow the fuzzer down), and one whole, with the types it skips.
	for _, name := range aritest.Names() {
		tr, err := aritest.Load(name)
		if err != nil {
			f.Fatal(err)
		}
		var frames, all [][]byte
		for _, fr := range tr.Frames() {
			all = append(all, fr.Data)
			if slices.Contains(handledTypes, fr.Type) {
				frames = append(frames, fr.Data)
			}
		}
		if len(frames) > 0 {
			f.Add(bytes.Join(frames, []byte("\n")))
		}
		if name == "inbound_sip_call" {
			f.Add(bytes.Join(all, []byte("\n")))
		}
	}
	hostile := []aritest.Frame{
		evStasisStart("c1", "Ring", "Evil\u202eeman\x07<b>"+strings.Repeat("é", 200), strings.Repeat("1", 100), []string{"18005550100"}),
		evStasisStart("c2", "Ring", " \t", `12" onmouseover="x`, []string{"\x00sales"}),
		evStasisStart("c3", "Down", "", "+1 (415) 555-0123", nil),
		evStasisStart("c4", "Ring", "", "۰۹۱۲\u200b۱۲۳\u202e۴۵۶۷", []string{"١٨٠٠٥٥٥٠١٠٠"}),
		evStasisStart("c5", "Ring", "", "\u200b"+strings.Repeat("۹", 40), []string{"\u2066"}),
		evChannel("ChannelStateChange", "c3", "Ringing", nil),
		evChannel("ChannelStateChange", "c3", "Up", nil),
		evChannel("ChannelStateChange", "c3", "Ringing", nil),
		evChannel("ChannelDtmfReceived", "c1", "Up", map[string]any{"digit": "a"}),
		evChannel("ChannelDtmfReceived", "c1", "Up", map[string]any{"digit": "10"}),
		evChannel("ChannelHold", "c1", "Up", nil),
		evChannel("ChannelHold", "c1", "Up", nil),
		evChannel("ChannelUnhold", "c1", "Up", nil),
		evChannel("ChannelEnteredBridge", "c1", "Up", map[string]any{"bridge": map[string]any{"id": "b1", "channels": []string{"c1", "c3"}}}),
		evChannel("RecordingStarted", "c1", "Up", map[string]any{"recording": map[string]any{"name": "r1", "format": "wav", "target_uri": "bridge:b1"}}),
		frame("BridgeBlindTransfer", map[string]any{"result": "Success", "transferee": channel("c1", "Up", "", ""), "exten": strings.Repeat("\xff", 100)}),
		evChannel("ChannelHangupRequest", "c1", "Up", map[string]any{"cause": 16}),
		evStasisEnd("c1", "Up"),
		evChannel("ChannelDestroyed", "c1", "Up", map[string]any{"cause": 16}),
		evStasisStart("c1", "Ring", "again", "1", nil),
		evStasisStart(strings.Repeat("x", maxIDLen+1), "Ring", "", "1", nil),
		frame("ApplicationReplaced", nil),
	}
	var seq [][]byte
	for _, fr := range hostile {
		seq = append(seq, fr.Data)
	}
	f.Add(bytes.Join(seq, []byte("\n")))
	f.Add([]byte("{\"type\":\"StasisStart\",\"channel\":{\"id\":\"x\",\"caller\":{\"name\":\"\xff\xfe\",\"number\":\"\xff\"}}}\n" +
		"not json\n{}\n{\"type\":7}\n{\"type\":\"StasisStart\",\"channel\":\"x\"}\n{\"type\":\"Nope\"}\n\n[]\nnull"))

	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := testConfig("http://127.0.0.1:1/ari")
		// Drained after every frame, and no frame emits more than one event
		// per call, plus a few: a smaller buffer makes an adapter cheaper.
		cfg.EventBuffer = 2 * maxFuzzFrames
		a, err := New(cfg, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer a.bg.Wait()
		chk := newCallChecker(t, cfg)
		frames := bytes.Split(data, []byte("\n"))
		if len(frames) > maxFuzzFrames {
			frames = frames[:maxFuzzFrames]
		}
		now := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
		for i, fr := range frames {
			replaced := a.handleFrame(fr, now.Add(time.Duration(i)*time.Millisecond))
			evs := drain(a)
			if len(evs) > 0 && json.Unmarshal(fr, &wireEvent{}) != nil {
				t.Fatalf("frame %d does not decode, yet emitted %d events", i, len(evs))
			}
			for _, ev := range evs {
				chk.event(ev)
			}
			a.mu.Lock()
			chk.tracked(a.calls)
			a.mu.Unlock()
			if replaced {
				if len(chk.live) != 0 {
					t.Fatalf("ApplicationReplaced left calls %v without Ended", chk.live)
				}
				frames = frames[:i+1]
				break
			}
		}
		if got := accounted(t, a.m); got != float64(len(frames)) {
			t.Fatalf("%d frames read, %v accounted for", len(frames), got)
		}
	})
}

func drain(a *Adapter) []telephony.Event { return a.q.Take() }

// accounted counts each frame once: by type, as undecodable, or as a
// repeat. A frame of a known type with a bad field is counted by type and
// again as a decode error; that second count is left out.
func accounted(t *testing.T, m *metrics) float64 {
	t.Helper()
	sum := value(t, m.duplicates)
	for _, c := range collect(m.events) {
		sum += value(t, c)
	}
	for _, c := range collect(m.decodeErrors) {
		var d dto.Metric
		if err := c.Write(&d); err != nil {
			t.Fatal(err)
		}
		bad := false
		for _, l := range d.GetLabel() {
			bad = bad || l.GetName() == "reason" && l.GetValue() == "bad_field"
		}
		if !bad {
			sum += d.GetCounter().GetValue()
		}
	}
	return sum
}

func collect(c prometheus.Collector) []prometheus.Metric {
	ch := make(chan prometheus.Metric, 64)
	go func() { c.Collect(ch); close(ch) }()
	var out []prometheus.Metric
	for m := range ch {
		out = append(out, m)
	}
	return out
}

func value(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		t.Fatal(err)
	}
	return d.GetCounter().GetValue()
}

// callChecker follows the calls in the emitted events.
type callChecker struct {
	t     *testing.T
	cfg   Config
	live  map[string]*callSeen
	ended map[string]bool
}

type callSeen struct {
	answered, rang, held bool
}

func newCallChecker(t *testing.T, cfg Config) *callChecker {
	return &callChecker{t: t, cfg: cfg, live: map[string]*callSeen{}, ended: map[string]bool{}}
}

func (c *callChecker) event(ev telephony.Event) {
	t := c.t
	t.Helper()
	call := ev.Call
	if call.ID == "" || len(call.ID) > maxIDLen {
		t.Fatalf("%s: call id of %d bytes", ev.Type, len(call.ID))
	}
	if call.PBX != c.cfg.Name || call.Node != c.cfg.Node {
		t.Fatalf("%s %q: pbx %q node %q", ev.Type, call.ID, call.PBX, call.Node)
	}
	if call.Direction != telephony.Inbound && call.Direction != telephony.Outbound {
		t.Fatalf("%s %q: direction %q", ev.Type, call.ID, call.Direction)
	}
	checkNumber(t, "caller number", call.Caller.Number, maxNumberLen)
	checkNumber(t, "dnis", call.DNIS, maxDNISLen)
	checkName(t, call.Caller.Name)

	if c.ended[call.ID] {
		t.Fatalf("%s for call %q after its Ended", ev.Type, call.ID)
	}
	s := c.live[call.ID]
	if ev.Type == telephony.CallStarted {
		if s != nil {
			t.Fatalf("second CallStarted for %q", call.ID)
		}
		c.live[call.ID] = &callSeen{}
		return
	}
	if s == nil {
		t.Fatalf("%s for %q before CallStarted", ev.Type, call.ID)
	}
	switch ev.Type {
	case telephony.Answered:
		if s.answered {
			t.Fatalf("second Answered for %q", call.ID)
		}
		s.answered = true
	case telephony.Ringing:
		if s.rang || s.answered {
			t.Fatalf("Ringing for %q again or after Answered", call.ID)
		}
		s.rang = true
	case telephony.Held, telephony.Resumed:
		if s.held != (ev.Type == telephony.Resumed) {
			t.Fatalf("%s for %q while held=%v", ev.Type, call.ID, s.held)
		}
		s.held = ev.Type == telephony.Held
	case telephony.DTMF:
		if len(ev.Digit) != 1 || !strings.Contains("0123456789ABCD*#", ev.Digit) {
			t.Fatalf("DTMF digit %q", ev.Digit)
		}
	case telephony.Bridged:
		if c.live[ev.PeerCallID] == nil || ev.PeerCallID == call.ID {
			t.Fatalf("%q bridged to %q, which is not another live call", call.ID, ev.PeerCallID)
		}
	case telephony.Transferred:
		// The destination is logged and shown: shortened, valid UTF-8.
		if !utf8.ValidString(ev.Agent) || len(ev.Agent) > 80+len("…") {
			t.Fatalf("transfer destination %q", ev.Agent)
		}
	case telephony.Recorded:
		if ev.Recording == "" || len(ev.Recording) > maxIDLen+16 {
			t.Fatalf("recording name %q", ev.Recording)
		}
	case telephony.Ended:
		if ev.Cause == "" {
			t.Fatalf("Ended for %q without a cause", call.ID)
		}
		delete(c.live, call.ID)
		c.ended[call.ID] = true
	default:
		t.Fatalf("unexpected %s for %q", ev.Type, call.ID)
	}
}

// tracked checks the adapter follows exactly the calls started and not
// ended.
func (c *callChecker) tracked(calls map[string]*callState) {
	c.t.Helper()
	if len(calls) != len(c.live) {
		c.t.Fatalf("adapter tracks %d calls, events tell of %d", len(calls), len(c.live))
	}
	for id := range calls {
		if c.live[id] == nil {
			c.t.Fatalf("adapter tracks %q, which has no CallStarted or has ended", id)
		}
	}
}

func checkNumber(t *testing.T, what, s string, max int) {
	t.Helper()
	if !utf8.ValidString(s) || len(s) > max || s != strings.TrimSpace(s) {
		t.Fatalf("unsafe %s %q", what, s)
	}
	// Number characters: ASCII ones, and the Persian (U+06F0–U+06F9) and
	// Arabic-Indic (U+0660–U+0669) digits crm/phone reads; never a control,
	// format or bidirectional character.
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' ||
			r >= 0x06F0 && r <= 0x06F9 || r >= 0x0660 && r <= 0x0669 ||
			strings.ContainsRune("+*#.-_()~!$&'=,;?/", r)) {
			t.Fatalf("%s %q holds %q", what, s, r)
		}
	}
}

func checkName(t *testing.T, s string) {
	t.Helper()
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxNameLen || s != strings.TrimSpace(s) {
		t.Fatalf("unsafe caller name %q", s)
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			t.Fatalf("caller name %q holds control character %U", s, r)
		}
	}
}

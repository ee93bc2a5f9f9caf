package calllog_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tamas-cc/tamas/calllog"
	"github.com/tamas-cc/tamas/telephony"
	"github.com/tamas-cc/tamas/telephony/ari"
	"github.com/tamas-cc/tamas/telephony/ari/aritest"
)

// recorded replays a recording of a real Asterisk through the ARI adapter
// and returns the call events it produced, once the calls have ended.
func recorded(t *testing.T, name string, ends int) []telephony.Event {
	t.Helper()
	srv := aritest.NewServer(aritest.Options{Password: "pw"})
	defer srv.Close()
	tr, err := aritest.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	srv.Load(tr)
	cfg := ari.DefaultConfig()
	cfg.Name, cfg.Node, cfg.URL, cfg.Username, cfg.Password = "lab", "node-1", srv.URL(), "tamas", "pw"
	cfg.Lines = map[string]string{"18005550100": "Sales"}
	ad, err := ari.New(cfg, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var evs []telephony.Event
	ended := make(chan struct{}, 64)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		ad.Run(ctx, func(_ context.Context, ev telephony.Event) {
			mu.Lock()
			evs = append(evs, ev)
			mu.Unlock()
			if ev.Type == telephony.Ended {
				ended <- struct{}{}
			}
		})
	}()
	defer func() { cancel(); <-done }()
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := srv.WaitConnected(wctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := srv.Replay(tr); err != nil {
		t.Fatal(err)
	}
	for range ends {
		select {
		case <-ended:
		case <-wctx.Done():
			t.Fatalf("%s: the calls did not end", name)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	return append([]telephony.Event(nil), evs...)
}

func records(evs []telephony.Event, times int) []calllog.Record {
	tr := calllog.NewTracker()
	var out []calllog.Record
	for range times {
		for _, ev := range evs {
			if r, ok := tr.Apply(ev); ok {
				out = append(out, r)
			}
		}
	}
	return out
}

func TestAgentCallFromARecording(t *testing.T) {
	evs := recorded(t, "agent_call", 2)
	recs := records(evs, 2) // the same stream twice
	if len(recs) != 1 {
		t.Fatalf("%d records, want exactly 1 (replayed events add none): %+v", len(recs), recs)
	}
	r := recs[0]
	if r.Outcome != calllog.Answered || r.AnsweredBy != "PJSIP/agent1000" || r.AnsweredAt == nil ||
		len(r.Agents) != 1 || r.Direction != telephony.Inbound || r.Cause != "normal_clearing" {
		t.Fatalf("record = %+v", r)
	}
	if r.Talk <= 0 || r.Talk != r.EndedAt.Sub(*r.AnsweredAt) || r.IVR+r.Wait+r.Talk != r.EndedAt.Sub(r.ArrivedAt) {
		t.Fatalf("durations: ivr %s wait %s talk %s over %s", r.IVR, r.Wait, r.Talk, r.EndedAt.Sub(r.ArrivedAt))
	}
	// Asterisk recorded the bridge: both legs report it, the record names
	// it once.
	if len(r.Recordings) != 1 || r.Recordings[0] != "lab-call-rec-1795328562174.wav" {
		t.Fatalf("recordings = %q", r.Recordings)
	}
}

func TestIVRCallsFromRecordings(t *testing.T) {
	r := records(recorded(t, "inbound_sip_call", 1), 1)
	if len(r) != 1 || r[0].Outcome != calllog.AbandonedIVR || r[0].Digits != "15" || r[0].Number != "+14155550123" ||
		r[0].DNIS != "18005550100" || r[0].Line != "Sales" || r[0].IVR != r[0].EndedAt.Sub(r[0].ArrivedAt) {
		t.Fatalf("inbound_sip_call = %+v", r)
	}
	r = records(recorded(t, "caller_hangup", 2), 1)
	if len(r) != 2 || r[1].Cause != "originator_cancel" || r[1].Outcome != calllog.AbandonedIVR {
		t.Fatalf("caller_hangup = %+v", r)
	}
}

// A queued call, offered to two agents, held, transferred.
func TestQueueHoldTransfer(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	c := telephony.Call{ID: "c", LinkedID: "c", Direction: telephony.Inbound, Caller: telephony.Party{Number: "+989120000001"}, StartedAt: t0}
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	evs := []telephony.Event{
		{Type: telephony.CallStarted, At: at(0), Call: c},
		{Type: telephony.DTMF, At: at(5), Call: c, Digit: "2"},
		{Type: telephony.Queued, At: at(10), Call: c, Queue: "sales"},
		{Type: telephony.AgentRinging, At: at(40), Call: c, Agent: "PJSIP/1001", Queue: "sales"},
		{Type: telephony.AgentRinging, At: at(55), Call: c, Agent: "PJSIP/1002", Queue: "sales"},
		{Type: telephony.Bridged, At: at(60), Call: c, Agent: "PJSIP/1002"},
		{Type: telephony.Held, At: at(100), Call: c},
		{Type: telephony.Resumed, At: at(130), Call: c},
		{Type: telephony.Transferred, At: at(200), Call: c, Agent: "PJSIP/1003"},
		{Type: telephony.Ended, At: at(260), Call: c, Cause: "normal_clearing", CauseCode: 16},
	}
	r := records(evs, 1)[0]
	if r.IVR != 10*time.Second || r.Wait != 50*time.Second || r.Hold != 30*time.Second || r.Talk != 170*time.Second {
		t.Fatalf("ivr %s wait %s hold %s talk %s", r.IVR, r.Wait, r.Hold, r.Talk)
	}
	if r.Outcome != calllog.Answered || r.AnsweredBy != "PJSIP/1002" || r.Queue != "sales" || r.Digits != "2" ||
		len(r.Agents) != 3 || r.Agents[2] != "PJSIP/1003" || !r.OfferedAt.Equal(at(40)) {
		t.Fatalf("record = %+v", r)
	}
	// The same call, with the caller leaving at each stage.
	for _, tc := range []struct {
		cut  int
		end  telephony.Event
		want calllog.Outcome
	}{
		{2, telephony.Event{Type: telephony.Ended, At: at(8), Cause: "originator_cancel"}, calllog.AbandonedIVR},
		{3, telephony.Event{Type: telephony.Ended, At: at(30), Cause: "originator_cancel"}, calllog.AbandonedQueue},
		{5, telephony.Event{Type: telephony.Ended, At: at(58), Cause: "originator_cancel"}, calllog.Missed},
		{3, telephony.Event{Type: telephony.Ended, At: at(30), Cause: "lost"}, calllog.Failed},
		{1, telephony.Event{Type: telephony.Ended, At: at(1), Cause: "normal_temporary_failure", CauseCode: 41}, calllog.Failed},
	} {
		end := tc.end
		end.Call = c
		got := records(append(append([]telephony.Event(nil), evs[:tc.cut]...), end), 1)
		if len(got) != 1 || got[0].Outcome != tc.want {
			t.Errorf("ended after %d events with %s: %+v, want %s", tc.cut, end.Cause, got, tc.want)
		}
	}
}

// Events of calls the tracker never saw start, and of an agent's own leg,
// make no record.
func TestStrayEvents(t *testing.T) {
	tr := calllog.NewTracker()
	stray := telephony.Call{ID: "gone", LinkedID: "gone"}
	if _, ok := tr.Apply(telephony.Event{Type: telephony.Ended, Call: stray}); ok {
		t.Fatal("a record for a call never started")
	}
	leg := telephony.Call{ID: "leg", LinkedID: "other", Direction: telephony.Outbound}
	tr.Apply(telephony.Event{Type: telephony.CallStarted, Call: leg})
	if _, ok := tr.Apply(telephony.Event{Type: telephony.Ended, Call: leg}); ok || tr.InProgress() != 0 {
		t.Fatal("an outbound leg of another call became a record")
	}
}

package screenpop_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/phone"
	"github.com/tamas-cc/tamas/crm/sqlite"
	"github.com/tamas-cc/tamas/crm/sqlite/sqlitetest"
	"github.com/tamas-cc/tamas/screenpop"
	"github.com/tamas-cc/tamas/screenpop/membus"
	"github.com/tamas-cc/tamas/telephony"
)

type env struct {
	t     *testing.T
	store *sqlite.Store
	dir   *crm.Directory
	bus   *membus.Bus
	svc   *screenpop.Service
}

func newEnv(t *testing.T, routes *screenpop.Routes, mod func(*screenpop.Options)) *env {
	t.Helper()
	st := sqlitetest.New(t)
	norm, err := phone.New("IR")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: st, dir: crm.NewDirectory(st, norm), bus: membus.New(screenpop.Retention{})}
	o := screenpop.Options{Lookup: e.dir, Records: st, Publisher: e.bus, Targets: routes, Node: "n1",
		ContactLinks: []screenpop.LinkTemplate{{Label: "CRM", URL: "https://crm.example/c/{contact_id}?n={number}"}}}
	if mod != nil {
		mod(&o)
	}
	e.svc = screenpop.NewService(o)
	return e
}

func (e *env) person(first, last, number string, custom string) *crm.Contact {
	e.t.Helper()
	c := &crm.Contact{Kind: crm.KindPerson, FirstName: first, LastName: last, Status: crm.StatusCustomer,
		Tags: []string{"vip"}, Owner: "sara", Phones: []crm.Phone{{Label: crm.LabelMobile, Raw: number}}}
	if custom != "" {
		c.Custom = json.RawMessage(custom)
	}
	if err := e.dir.Create(context.Background(), c); err != nil {
		e.t.Fatal(err)
	}
	return c
}

// pops collects the pops published on a channel.
type pops struct {
	mu  sync.Mutex
	got []screenpop.Pop
}

func (e *env) watch(ch string) *pops {
	e.t.Helper()
	p := &pops{}
	cancel, err := e.bus.Subscribe(context.Background(), ch, func(m screenpop.Message) {
		var env screenpop.Envelope
		if err := json.Unmarshal(m.Data, &env); err != nil || env.Kind != "pop" {
			e.t.Errorf("bad envelope on %s: %s", ch, m.Data)
			return
		}
		p.mu.Lock()
		p.got = append(p.got, *env.Pop)
		p.mu.Unlock()
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(cancel)
	return p
}

func (p *pops) wait(t *testing.T, n int) []screenpop.Pop {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		p.mu.Lock()
		got := append([]screenpop.Pop(nil), p.got...)
		p.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d pops, want %d", len(got), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (p *pops) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.got)
}

func call(id, number, name string) telephony.Call {
	return telephony.Call{ID: id, LinkedID: id, Direction: telephony.Inbound, PBX: "lab",
		Caller: telephony.Party{Number: number, Name: name}, DNIS: "02191000000", Line: "sales",
		State: telephony.StateRinging, StartedAt: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}
}

func ev(typ telephony.EventType, c telephony.Call, mod func(*telephony.Event)) telephony.Event {
	e := telephony.Event{Type: typ, At: time.Now(), Call: c}
	if mod != nil {
		mod(&e)
	}
	return e
}

func TestKnownCallerPopsToTheLineAgentsAndFollowsTheCall(t *testing.T) {
	routes := &screenpop.Routes{
		Lines:     []screenpop.LineRoute{{Line: "sales", Agents: []string{"ali", "sara"}}},
		Endpoints: map[string]string{"PJSIP/1001": "ali", "PJSIP/1002": "sara"},
	}
	e := newEnv(t, routes, nil)
	c := e.person("Reza", "Karimi", "0912 345 6789", `{"segment":"gold"}`)
	ctx := context.Background()
	if err := e.store.AddActivity(ctx, &crm.Activity{ContactID: c.ID, Kind: crm.ActivityNote, Body: "asked for a quote", At: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.AddTask(ctx, &crm.Task{ContactID: c.ID, Title: "send the quote", DueAt: time.Now().Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	ali, sara, omid, sup := e.watch("user:ali"), e.watch("user:sara"), e.watch("user:omid"), e.watch(screenpop.SupervisorChannel)

	cl := call("c1", "+989123456789", "RK")
	e.svc.Handle(ctx, ev(telephony.CallStarted, cl, nil))
	first := ali.wait(t, 1)[0]
	if first.ID != "c1" || first.Version != 1 || first.State != screenpop.StateRinging {
		t.Fatalf("first pop = %+v", first)
	}
	if first.Call.E164 != "+989123456789" || first.Call.National != "0912 345 6789" || first.Call.Line != "sales" || first.Call.CallerName != "RK" {
		t.Fatalf("call facts = %+v", first.Call)
	}
	if len(first.Matches) != 1 {
		t.Fatalf("matches = %+v", first.Matches)
	}
	m := first.Matches[0]
	if m.Contact.DisplayName != "Reza Karimi" || m.How != crm.MatchExact || m.Segment != "gold" || m.Contact.Owner != "sara" {
		t.Fatalf("match = %+v", m)
	}
	if len(m.History) != 1 || m.History[0].Body != "asked for a quote" || len(m.Tasks) != 1 || m.Tasks[0].Title != "send the quote" {
		t.Fatalf("history %+v tasks %+v", m.History, m.Tasks)
	}
	wantLink := "https://crm.example/c/" + itoa(c.ID) + "?n=%2B989123456789"
	if len(m.Links) != 1 || m.Links[0].URL != wantLink {
		t.Fatalf("links = %+v, want %s", m.Links, wantLink)
	}
	if first.Timing.BuildMicros <= 0 || first.Timing.BuiltAt.Before(first.Timing.EventAt) {
		t.Fatalf("timing = %+v", first.Timing)
	}

	e.svc.Handle(ctx, ev(telephony.DTMF, cl, func(e *telephony.Event) { e.Digit = "2" }))
	e.svc.Handle(ctx, ev(telephony.Bridged, cl, func(e *telephony.Event) { e.Agent = "PJSIP/1002-0000001a" }))
	e.svc.Handle(ctx, ev(telephony.Ended, cl, func(e *telephony.Event) { e.Cause = telephony.CauseNormalClearing }))
	got := ali.wait(t, 4)
	for i, p := range got {
		if p.ID != "c1" || p.Version != i+1 {
			t.Fatalf("pop %d: id %s version %d", i, p.ID, p.Version)
		}
	}
	if got[1].Call.Digits != "2" || got[2].State != screenpop.StateAnswered || got[2].AnsweredBy != "sara" {
		t.Fatalf("updates = %+v / %+v", got[1], got[2])
	}
	if last := got[3]; last.State != screenpop.StateEnded || last.Call.Cause != "normal_clearing" || last.Call.EndedAt == nil {
		t.Fatalf("last = %+v", last)
	}
	if n := len(sara.wait(t, 4)); n != 4 {
		t.Fatalf("sara got %d versions", n)
	}
	sup.wait(t, 4)
	e.svc.Wait()
	if omid.count() != 0 {
		t.Fatalf("omid, not on the line, got %d pops", omid.count())
	}
	if len(e.svc.Active()) != 0 {
		t.Fatalf("ended call still active")
	}
}

func TestEventsDuringTheFirstBuildAreAppliedInOrder(t *testing.T) {
	routes := &screenpop.Routes{Lines: []screenpop.LineRoute{{Line: "*", Agents: []string{"ali"}}}}
	e := newEnv(t, routes, nil)
	ali := e.watch("user:ali")
	cl := call("c2", "09350000000", "")
	ctx := context.Background()
	e.svc.Handle(ctx, ev(telephony.CallStarted, cl, nil))
	e.svc.Handle(ctx, ev(telephony.CallStarted, cl, nil)) // replayed
	for _, d := range "123" {
		e.svc.Handle(ctx, ev(telephony.DTMF, cl, func(e *telephony.Event) { e.Digit = string(d) }))
	}
	e.svc.Handle(ctx, ev(telephony.Ended, cl, func(e *telephony.Event) { e.Cause = telephony.CauseOriginatorCancel }))
	e.svc.Wait()
	got := ali.wait(t, 5)
	time.Sleep(20 * time.Millisecond)
	if ali.count() != 5 {
		t.Fatalf("got %d pops, want 5 (one start, three digits, one end)", ali.count())
	}
	for i, p := range got {
		if p.Version != i+1 {
			t.Fatalf("versions out of order: %d at %d", p.Version, i)
		}
	}
	if got[4].Call.Digits != "123" || got[4].State != screenpop.StateEnded || len(got[4].Matches) != 0 {
		t.Fatalf("final pop = %+v", got[4])
	}
}

func TestUntrustedCallerNameTravelsEscaped(t *testing.T) {
	routes := &screenpop.Routes{Lines: []screenpop.LineRoute{{Line: "*", Agents: []string{"ali"}}}}
	e := newEnv(t, routes, nil)
	var raw []byte
	done := make(chan struct{})
	cancel, _ := e.bus.Subscribe(context.Background(), "user:ali", func(m screenpop.Message) { raw = m.Data; close(done) })
	defer cancel()
	evil := `<img src=x onerror=alert(1)>`
	e.svc.Handle(context.Background(), ev(telephony.CallStarted, call("c3", "<script>", evil), nil))
	<-done
	if strings.Contains(string(raw), "<") {
		t.Fatalf("published JSON carries a raw '<': %s", raw)
	}
	var env screenpop.Envelope
	if err := json.Unmarshal(raw, &env); err != nil || env.Pop.Call.CallerName != evil || env.Pop.Call.Class != "invalid" {
		t.Fatalf("decoded %+v %v", env.Pop, err)
	}
}

func TestDeadDatabaseStillPops(t *testing.T) {
	routes := &screenpop.Routes{Lines: []screenpop.LineRoute{{Line: "*", Agents: []string{"ali"}}}}
	e := newEnv(t, routes, nil)
	e.person("Mina", "Ahmadi", "09121112233", "")
	ali := e.watch("user:ali")
	e.store.Close()
	e.svc.Handle(context.Background(), ev(telephony.CallStarted, call("c4", "09121112233", "Mina"), nil))
	p := ali.wait(t, 1)[0]
	if len(p.Matches) != 0 || p.Call.E164 != "+989121112233" || p.Call.CallerName != "Mina" {
		t.Fatalf("pop with a dead database = %+v", p)
	}
}

func TestScriptRulesAndPrePop(t *testing.T) {
	roster := screenpop.NewRoster()
	roster.Set("ali", screenpop.Available, "", time.Now())
	roster.Set("sara", screenpop.OnBreak, "lunch", time.Now())
	roster.Set("omid", screenpop.Available, "", time.Now())
	routes := &screenpop.Routes{PrePop: true, Roster: roster, Endpoints: map[string]string{"PJSIP/1003": "omid"}}
	rules := screenpop.ScriptRules{
		{Line: "support", Script: "triage", Title: "Support triage"},
		{Line: "sales", Caller: "known", Script: "followup", Title: "After-sale"},
		{Line: "sales", Caller: "new", Script: "bant", Title: "BANT"},
	}
	e := newEnv(t, routes, func(o *screenpop.Options) { o.Scripts = rules })
	ali, sara, omid := e.watch("user:ali"), e.watch("user:sara"), e.watch("user:omid")
	cl := call("c5", "09129998877", "")
	ctx := context.Background()
	e.svc.Handle(ctx, ev(telephony.CallStarted, cl, nil))
	e.svc.Handle(ctx, ev(telephony.Queued, cl, func(e *telephony.Event) { e.Queue = "sales" }))
	p := ali.wait(t, 1)[0]
	if p.State != screenpop.StateQueued || p.Call.Queue != "sales" || p.Script == nil || p.Script.ID != "bant" {
		t.Fatalf("pre-pop = %+v script %+v", p, p.Script)
	}
	omid.wait(t, 1)
	e.svc.Wait()
	if sara.count() != 0 {
		t.Fatal("an agent on break got a pre-pop")
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func TestPopsOfCallsThatNeverEndAreForgotten(t *testing.T) {
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	routes := &screenpop.Routes{Lines: []screenpop.LineRoute{{Line: "*", Agents: []string{"ali"}}}}
	e := newEnv(t, routes, func(o *screenpop.Options) { o.Now = clock; o.MaxCallAge = time.Hour })
	ctx := context.Background()
	e.svc.Handle(ctx, ev(telephony.CallStarted, call("lost-1", "09120000001", ""), nil))
	e.svc.Wait()
	if n := len(e.svc.Active()); n != 1 {
		t.Fatalf("active = %d, want 1", n)
	}
	now = now.Add(2 * time.Hour) // its hang-up was never reported
	e.svc.Handle(ctx, ev(telephony.CallStarted, call("new-1", "09120000002", ""), nil))
	e.svc.Wait()
	act := e.svc.Active()
	if len(act) != 1 || act[0].ID != "new-1" {
		t.Fatalf("active after two hours = %+v, want only the new call", act)
	}
}

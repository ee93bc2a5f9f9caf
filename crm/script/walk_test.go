package script

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func salesScript(t *testing.T, lang string) *Script {
	t.Helper()
	s, err := LoadFile("../../configs/scripts/inbound-sales." + lang + ".yaml")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestWalkQualifiedLead(t *testing.T) {
	s := salesScript(t, "en")
	r := s.Begin(Context{Fields: map[string]string{"agent.name": "Sara", "customer.name": "<b>Acme</b>"}})
	if r.Current().ID != "greet" {
		t.Fatalf("starts at %q", r.Current().ID)
	}
	if err := r.Answer("budget", []string{"yes"}); !errors.Is(err, ErrAnswer) {
		t.Fatalf("answer to a step not reached: %v", err)
	}
	if err := r.Answer("nope", []string{"yes"}); !errors.Is(err, ErrAnswer) {
		t.Fatalf("answer to a missing step: %v", err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.Forward())
	if err := r.Forward(); !errors.Is(err, ErrAnswer) {
		t.Fatalf("a required question skipped: %v", err)
	}
	must(r.Answer("need", []string{"a fleet plan"}))
	must(r.Forward())
	if err := r.Answer("need-size", []string{"lots"}); !errors.Is(err, ErrAnswer) {
		t.Fatalf("a word for a number: %v", err)
	}
	if err := r.Answer("need", []string{"a\x00b"}); !errors.Is(err, ErrAnswer) {
		t.Fatalf("a NUL in a text answer: %v", err)
	}
	for _, bad := range []string{"Inf", "-Inf", "NaN", "1e999"} {
		if err := r.Answer("need-size", []string{bad}); !errors.Is(err, ErrAnswer) {
			t.Fatalf("%s for a number: %v", bad, err)
		}
	}
	must(r.Answer("need-size", []string{"12"}))
	must(r.Forward())
	must(r.Answer("authority", []string{"caller"}))
	must(r.Forward())
	must(r.Answer("budget", []string{"yes"}))
	must(r.Forward())
	must(r.Answer("timeline", []string{"this-month"}))
	// The agent goes back and changes an earlier answer: it still counts.
	must(r.Back())
	must(r.Answer("budget", []string{"yes"}))
	must(r.Forward())
	must(r.Forward())
	// 25 + 25 + 25 ≥ 60: the branch goes to the close, skipping the branch step.
	if r.Current().ID != "close" || r.Score() != 75 {
		t.Fatalf("at %q with score %d, want close with 75", r.Current().ID, r.Score())
	}
	v := r.View(4 * time.Minute)
	last := v.Steps[len(v.Steps)-1]
	if last.Text != "From what you've told me, we can help. Shall I prepare the order for <b>Acme</b>?" {
		t.Fatalf("close text = %q", last.Text)
	}
	if !slices.Contains(v.Cues, "Ask for the sale.") || !slices.Contains(v.Cues, "Qualify within the first 3 minutes.") {
		t.Fatalf("cues = %q", v.Cues)
	}
	must(r.Forward())
	if !r.Ended() || r.Outcome().Disposition != "qualified" || r.Outcome().Status != "qualified" {
		t.Fatalf("ended %v at %q", r.Ended(), r.Current().ID)
	}
	if err := r.Forward(); !errors.Is(err, ErrAnswer) {
		t.Fatalf("forward after the outcome: %v", err)
	}
	if got := r.View(0).Steps; got[len(got)-1].Outcome == nil || got[len(got)-1].Outcome.Tasks[0].DueSeconds != 86400 {
		t.Fatalf("outcome view = %+v", got[len(got)-1])
	}
}

func TestWalkBranchesOnAnswers(t *testing.T) {
	s := salesScript(t, "fa")
	r := s.Begin(Context{})
	for _, a := range []struct{ step, v string }{
		{"greet", ""}, {"need", "x"}, {"need-size", "3"}, {"authority", "someone-else"}, {"budget", "no"}, {"timeline", "later"},
	} {
		if a.v != "" {
			if err := r.Answer(a.step, []string{a.v}); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.Forward(); err != nil {
			t.Fatalf("forward from %s: %v", a.step, err)
		}
	}
	if r.Current().ID != "nurture" || r.Outcome().Disposition != "not-ready" {
		t.Fatalf("no budget led to %q", r.Current().ID)
	}
	// Back past the branch, change the budget: the earlier way's answers
	// stop counting once the agent leaves them.
	for range 2 {
		if err := r.Back(); err != nil {
			t.Fatal(err)
		}
	}
	if r.Current().ID != "budget" {
		t.Fatalf("back twice from nurture is %q", r.Current().ID)
	}
	if _, ok := r.Answers()["timeline"]; ok {
		t.Fatal("an answer off the path still counts")
	}
}

func TestResume(t *testing.T) {
	s := salesScript(t, "en")
	n := 12.0
	r := s.Resume(Context{Answers: map[string]Value{"need": {Text: "x"}, "need-size": {Number: &n}, "gone": {Text: "y"}}},
		[]string{"greet", "need", "need-size"})
	if r.Current().ID != "need-size" || len(r.Answers()) != 2 {
		t.Fatalf("resumed at %q with %v", r.Current().ID, r.Answers())
	}
	r = s.Resume(Context{Answers: map[string]Value{"need": {Text: "x"}}}, []string{"greet", "removed-step"})
	if r.Current().ID != "greet" || r.Ctx.Answers["need"].Text != "x" {
		t.Fatalf("a stale path resumed at %q", r.Current().ID)
	}
}

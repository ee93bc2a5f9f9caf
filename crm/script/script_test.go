package script_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/crm/script"
)

func shipped(t *testing.T) *script.Set {
	t.Helper()
	set, err := script.LoadDir(filepath.Join("..", "..", "configs", "scripts"))
	if err != nil {
		t.Fatalf("the shipped scripts do not load: %v", err)
	}
	return set
}

func TestShippedScriptsInBothLanguages(t *testing.T) {
	set := shipped(t)
	for _, id := range []string{"inbound-sales", "support-triage", "after-sale"} {
		en, ok1 := set.Get(id, "en")
		fa, ok2 := set.Get(id, "fa")
		if !ok1 || !ok2 || en.Lang != "en" || fa.Lang != "fa" {
			t.Fatalf("%s: en %v fa %v", id, ok1, ok2)
		}
		// The translations walk the same steps.
		var a, b []string
		for _, st := range en.Steps {
			a = append(a, st.ID+":"+st.Kind())
		}
		for _, st := range fa.Steps {
			b = append(b, st.ID+":"+st.Kind())
		}
		if !slices.Equal(a, b) {
			t.Errorf("%s: en steps %v, fa steps %v", id, a, b)
		}
	}
	if s, ok := set.Choose("Sales line", true, "fa"); !ok || s.ID != "inbound-sales" || s.Lang != "fa" {
		t.Fatalf("new caller on the sales line: %+v", s)
	}
	if s, ok := set.Choose("Sales line", false, "en"); !ok || s.ID != "after-sale" {
		t.Fatalf("existing customer: %+v", s)
	}
	if s, ok := set.Choose("Support line", false, "en"); !ok || s.ID != "support-triage" {
		t.Fatalf("support line: %+v", s)
	}
}

// walk answers questions in order and returns the steps visited.
func walk(t *testing.T, s *script.Script, ctx script.Context, answers map[string][]string) []string {
	t.Helper()
	if ctx.Answers == nil {
		ctx.Answers = map[string]script.Value{}
	}
	var path []string
	step := s.Start
	for step != "" && len(path) < 50 {
		path = append(path, step)
		st, _ := s.Step(step)
		if st.Question != nil {
			v, err := s.Check(step, answers[step])
			if err != nil {
				t.Fatalf("%s: %v", step, err)
			}
			ctx.Answers[step] = v
		}
		next, err := s.Next(step, ctx)
		if err != nil {
			t.Fatal(err)
		}
		step = next
	}
	return path
}

func TestBANTBranchesOnAnswersAndScore(t *testing.T) {
	s, _ := shipped(t).Get("inbound-sales", "en")
	hot := map[string][]string{"need": {"a CRM for 20 agents"}, "need-size": {"20"}, "authority": {"caller"},
		"budget": {"yes"}, "timeline": {"this-month"}}
	path := walk(t, s, script.Context{}, hot)
	if path[len(path)-1] != "qualified" || !slices.Contains(path, "close") {
		t.Fatalf("a hot lead ends at %v", path)
	}
	ctx := script.Context{Answers: map[string]script.Value{}}
	for id, a := range hot {
		ctx.Answers[id], _ = s.Check(id, a)
	}
	if got := s.Score(ctx.Answers); got != 75 {
		t.Fatalf("score = %d, want 75", got)
	}
	cold := map[string][]string{"need": {"just looking"}, "need-size": {"3"}, "authority": {"someone-else"},
		"budget": {"no"}, "timeline": {"later"}}
	if path := walk(t, s, script.Context{}, cold); path[len(path)-1] != "nurture" {
		t.Fatalf("no budget ends at %v", path)
	}
	warm := map[string][]string{"need": {"x"}, "need-size": {"3"}, "authority": {"shared"},
		"budget": {"yes"}, "timeline": {"not-sure"}, "next-step": {"2026-12-01"}}
	if path := walk(t, s, script.Context{}, warm); path[len(path)-1] != "callback" {
		t.Fatalf("a lukewarm lead ends at %v", path)
	}
	cues := s.DueCues(4*time.Minute, "budget", map[string]script.Value{})
	if len(cues) != 2 || !strings.Contains(cues[1], "price") {
		t.Fatalf("cues at budget without the need, 4 min in = %v", cues)
	}
	if cues := s.DueCues(time.Minute, "budget", map[string]script.Value{"need": {Text: "x"}}); len(cues) != 0 {
		t.Fatalf("cues once the need is known, 1 min in = %v", cues)
	}
}

func TestBranchesOnCRMFields(t *testing.T) {
	set := shipped(t)
	tri, _ := set.Get("support-triage", "en")
	ans := map[string][]string{"product": {"web"}, "severity": {"question"}, "describe": {"how do I export?"}, "solved-now": {"yes"}}
	gold := script.Context{Fields: map[string]string{"customer.segment": "gold"}}
	if path := walk(t, tri, gold, ans); path[len(path)-1] != "escalate" {
		t.Fatalf("a gold customer's question ends at %v", path)
	}
	if path := walk(t, tri, script.Context{}, ans); path[len(path)-1] != "solved" {
		t.Fatalf("an ordinary question ends at %v", path)
	}
	after, _ := set.Get("after-sale", "fa")
	unhappy := map[string][]string{"satisfaction": {"2"}, "complaint": {"late delivery"}}
	if path := walk(t, after, script.Context{Tags: []string{"vip"}}, unhappy); path[len(path)-1] != "recover" {
		t.Fatalf("an unhappy customer ends at %v", path)
	}
}

func TestRenderFillsKnownFieldsAsText(t *testing.T) {
	s, _ := shipped(t).Get("support-triage", "en")
	st, _ := s.Step("greet")
	got := script.Render(st.Say, script.Context{Fields: map[string]string{"agent.name": "Sara", "customer.first_name": "<b>Reza</b>"}})
	if got != "Support, this is Sara. Am I speaking with <b>Reza</b>?" {
		t.Fatalf("rendered %q", got)
	}
}

func TestAnswersAreChecked(t *testing.T) {
	s, _ := shipped(t).Get("inbound-sales", "en")
	for _, tc := range []struct {
		step string
		raw  []string
	}{
		{"need-size", []string{"twenty"}},
		{"need-size", []string{"0"}},
		{"need-size", []string{"NaN"}},
		{"authority", []string{"the cat"}},
		{"authority", []string{"caller", "shared"}},
		{"budget", []string{"maybe"}},
		{"next-step", []string{"next tuesday"}},
		{"need", nil},            // required
		{"greet", []string{"x"}}, // says, asks nothing
		{"route", []string{"x"}},
		{"nowhere", []string{"x"}},
	} {
		if _, err := s.Check(tc.step, tc.raw); !errors.Is(err, script.ErrAnswer) {
			t.Errorf("%s %q: %v, want ErrAnswer", tc.step, tc.raw, err)
		}
	}
	if v, err := s.Check("need-size", []string{" 12 "}); err != nil || *v.Number != 12 {
		t.Fatalf("a good number: %+v %v", v, err)
	}
}

const good = `id: t
version: 1
title: T
lang: en
steps:
  - id: a
    say: hello
    next: b
  - id: b
    outcome: {disposition: done}
`

func TestBadScriptsNameFileAndLine(t *testing.T) {
	if _, err := script.Parse("ok.yaml", []byte(good)); err != nil {
		t.Fatalf("a good script: %v", err)
	}
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"loop", strings.Replace(good, "outcome: {disposition: done}", "say: again\n    next: a", 1), "loop.yaml:9: steps loop: a → b → a"},
		{"missing", strings.Replace(good, "next: b", "next: c", 1), `missing.yaml:6: step "a": next "c" names no step`},
		{"placeholder", strings.Replace(good, "say: hello", "say: hello {{customer.password}}", 1), `placeholder.yaml:6: step "a": unknown placeholder {{customer.password}}`},
		{"huge", strings.Replace(good, "say: hello", "say: "+strings.Repeat("x", script.MaxTextBytes+1), 1), "huge.yaml:6: step \"a\": text longer than"},
		{"unknown-key", strings.Replace(good, "say: hello", "sya: hello", 1), "unknown-key.yaml: line 7: field sya not found"},
		{"two-kinds", strings.Replace(good, "say: hello", "say: hello\n    outcome: {disposition: x}", 1), `two-kinds.yaml:6: step "a" must have exactly one of`},
		{"unreached", good + "  - id: c\n    say: lonely\n    next: b\n", `unreached.yaml:11: step "c" is never reached`},
		{"bad-field", strings.Replace(good, "    say: hello\n    next: b", "    branch:\n      - if: {field: customer.salary, gte: 1}\n        goto: b\n    else: b", 1), `unknown field "customer.salary"`},
		{"bad-type", strings.Replace(good, "    say: hello", "    question: {text: q, type: colour}", 1), `type "colour" is not`},
		// A step that leads to itself is named at the line that says so,
		// reached from the start or not, whatever else is wrong.
		{"self-next", good + "  - id: c\n    say: again\n    next: c\n", `self-next.yaml:13: step "c" leads to itself: next "c"`},
		{"self-goto", strings.Replace(good, "    say: hello\n    next: b", "    branch:\n      - if: {score: true, gte: 1}\n        goto: b\n"+
			"      - if: {score: true, lte: 0}\n        goto: a\n    else: b", 1), `self-goto.yaml:11: step "a" leads to itself: goto "a"`},
		{"self-else", strings.Replace(good, "    say: hello\n    next: b", "    branch:\n      - if: {score: true, gte: 1}\n        goto: b\n    else: a", 1),
			`self-else.yaml:10: step "a" leads to itself: else "a"`},
		{"self-and-more", strings.Replace(good+"  - id: c\n    say: again\n    next: c\n", "say: hello", "say: hello {{customer.password}}", 1),
			`self-and-more.yaml:13: step "c" leads to itself`},
		// An option listed twice, at the line of the second.
		{"dup-option", strings.Replace(good, "    say: hello", "    question:\n      text: q\n      type: single\n      options:\n        - x\n        - y\n        - x", 1),
			`dup-option.yaml:13: step "a": option "x" is listed twice`},
		{"dup-option-flow", strings.Replace(good, "    say: hello", "    question: {text: q, type: multi, options: [x, y, y]}", 1),
			`dup-option-flow.yaml:7: step "a": option "y" is listed twice`},
	} {
		_, err := script.Parse(tc.name+".yaml", []byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := script.Parse("big.yaml", make([]byte, script.MaxFileBytes+1)); err == nil {
		t.Error("an oversized file loaded")
	}
}

// FuzzParse: no input makes loading panic, and what loads walks without
// error from its start.
func FuzzParse(f *testing.F) {
	names, _ := filepath.Glob(filepath.Join("..", "..", "configs", "scripts", "*.yaml"))
	for _, n := range names {
		if data, err := os.ReadFile(n); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(good))
	f.Add([]byte("id: x\nsteps: [{id: a, say: '{{', next: a}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := script.Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		if _, ok := s.Step(s.Start); !ok {
			t.Fatalf("a loaded script has no start step %q", s.Start)
		}
		if _, err := s.Next(s.Start, script.Context{}); err != nil {
			t.Fatalf("next from the start: %v", err)
		}
	})
}

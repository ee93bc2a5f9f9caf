package script

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Set is the loaded scripts, by id and language.
type Set struct {
	list []*Script
}

func (set *Set) add(s *Script) error {
	for _, o := range set.list {
		if o.ID == s.ID && o.Lang == s.Lang {
			return &Error{File: s.file, Msg: fmt.Sprintf("script %q (%s) is also defined in %s", s.ID, s.Lang, o.file)}
		}
	}
	set.list = append(set.list, s)
	return nil
}

// Scripts returns every loaded script.
func (set *Set) Scripts() []*Script { return slices.Clone(set.list) }

// Get returns a script by id in a language, falling back to English.
func (set *Set) Get(id, lang string) (*Script, bool) {
	var fallback *Script
	for _, s := range set.list {
		if s.ID != id {
			continue
		}
		if s.Lang == lang {
			return s, true
		}
		if s.Lang == "en" {
			fallback = s
		}
	}
	return fallback, fallback != nil
}

// Choose picks the script for a call on a line from a new or an existing
// caller, in the agent's language when it exists: a script made for the
// line wins over one for any line; among equals, the first file.
func (set *Set) Choose(line string, newCaller bool, lang string) (*Script, bool) {
	for _, forLine := range []bool{true, false} {
		for _, s := range set.list {
			if s.Lang != "en" || (len(s.For.Lines) > 0) != forLine || !s.For.matches(line, newCaller) {
				continue
			}
			return set.Get(s.ID, lang)
		}
	}
	return nil, false
}

func (a Audience) matches(line string, newCaller bool) bool {
	if len(a.Lines) > 0 && !slices.Contains(a.Lines, line) {
		return false
	}
	switch a.Callers {
	case "new":
		return newCaller
	case "existing":
		return !newCaller
	}
	return true
}

// Context is what a script knows of the call: the CRM fields of the
// caller (see Fields) and the answers given so far.
type Context struct {
	Fields  map[string]string
	Tags    []string
	Answers map[string]Value
}

// Value is a checked answer.
type Value struct {
	Text    string    `json:"text,omitempty"`
	Choices []string  `json:"choices,omitempty"`
	Number  *float64  `json:"number,omitempty"`
	Date    time.Time `json:"date,omitzero"`
}

// Render fills a talk track's placeholders. The result is plain text: the
// console shows it as text, so a customer's name cannot become markup.
func Render(text string, ctx Context) string {
	return placeholderRE.ReplaceAllStringFunc(text, func(m string) string {
		key := strings.TrimSpace(m[2 : len(m)-2])
		return ctx.Fields[key]
	})
}

// ErrAnswer is wrapped by every rejected answer.
var ErrAnswer = errors.New("script: bad answer")

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrAnswer, fmt.Sprintf(format, args...))
}

// Check validates a raw answer for a question step and returns its value.
// An answer to a step that is not a question is refused.
func (s *Script) Check(stepID string, raw []string) (Value, error) {
	st, ok := s.index[stepID]
	if !ok {
		return Value{}, bad("no step %q", stepID)
	}
	q := st.Question
	if q == nil {
		return Value{}, bad("step %q asks nothing", stepID)
	}
	if len(raw) == 0 || (len(raw) == 1 && strings.TrimSpace(raw[0]) == "") {
		if q.Required {
			return Value{}, bad("step %q needs an answer", stepID)
		}
		return Value{}, nil
	}
	for _, r := range raw {
		if !utf8.ValidString(r) || strings.ContainsRune(r, 0) {
			return Value{}, bad("step %q: an answer must be text", stepID)
		}
	}
	one := strings.TrimSpace(raw[0])
	if q.Type != Multi && len(raw) > 1 {
		return Value{}, bad("step %q takes one answer", stepID)
	}
	switch q.Type {
	case Single, YesNo:
		if !slices.Contains(q.choices(), one) {
			return Value{}, bad("%q is not one of %s", one, strings.Join(q.choices(), ", "))
		}
		return Value{Choices: []string{one}}, nil
	case Multi:
		seen := map[string]bool{}
		var out []string
		for _, r := range raw {
			r = strings.TrimSpace(r)
			if !slices.Contains(q.Options, r) {
				return Value{}, bad("%q is not one of %s", r, strings.Join(q.Options, ", "))
			}
			if !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
		return Value{Choices: out}, nil
	case Number:
		n, err := strconv.ParseFloat(one, 64)
		if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
			return Value{}, bad("%q is not a number", one)
		}
		if (q.Min != nil && n < *q.Min) || (q.Max != nil && n > *q.Max) {
			return Value{}, bad("%v is out of range", n)
		}
		return Value{Number: &n}, nil
	case Date:
		d, err := time.Parse("2006-01-02", one)
		if err != nil {
			return Value{}, bad("%q is not a date (YYYY-MM-DD)", one)
		}
		return Value{Date: d}, nil
	default: // Text
		limit := q.MaxLen
		if limit <= 0 {
			limit = 2000
		}
		if utf8.RuneCountInString(one) > limit {
			return Value{}, bad("longer than %d characters", limit)
		}
		return Value{Text: one}, nil
	}
}

// Next returns the step after stepID: a branch is resolved against the
// context until a step the agent must act on. It returns "" after an
// outcome.
func (s *Script) Next(stepID string, ctx Context) (string, error) {
	st, ok := s.index[stepID]
	if !ok {
		return "", fmt.Errorf("script %s: no step %q", s.ID, stepID)
	}
	if st.Outcome != nil {
		return "", nil
	}
	return s.resolve(st.Next, ctx), nil
}

// resolve follows branch steps from id to the first step the agent acts on.
func (s *Script) resolve(next string, ctx Context) string {
	// The load-time check refuses loops, so this ends.
	for {
		n, ok := s.index[next]
		if !ok || n.Branch == nil {
			return next
		}
		next = n.Else
		for _, r := range n.Branch {
			if s.holds(r.If, ctx) {
				next = r.Goto
				break
			}
		}
	}
}

func (s *Script) holds(c Condition, ctx Context) bool {
	var vals []string
	var num *float64
	switch {
	case c.Score:
		f := float64(s.Score(ctx.Answers))
		num = &f
	case c.Answer != "":
		v := ctx.Answers[c.Answer]
		vals, num = v.Choices, v.Number
		if v.Text != "" {
			vals = []string{v.Text}
		}
	case c.Field == "customer.tags":
		vals = ctx.Tags
	default:
		if v, ok := ctx.Fields[c.Field]; ok && v != "" {
			vals = []string{v}
		}
	}
	switch {
	case c.Is != nil:
		return len(vals) == 1 && vals[0] == *c.Is
	case c.Not != nil:
		return !(len(vals) == 1 && vals[0] == *c.Not)
	case c.In != nil:
		return len(vals) == 1 && slices.Contains(c.In, vals[0])
	case c.Has != nil:
		return slices.Contains(vals, *c.Has)
	case c.Gte != nil:
		return num != nil && *num >= *c.Gte
	case c.Lte != nil:
		return num != nil && *num <= *c.Lte
	}
	return false
}

// Score adds the points of the answers given.
func (s *Script) Score(answers map[string]Value) int {
	total := 0
	for id, v := range answers {
		st, ok := s.index[id]
		if !ok || st.Question == nil {
			continue
		}
		for _, ch := range v.Choices {
			total += st.Question.Score[ch]
		}
	}
	return total
}

// DueCues returns the reminders due at this point of the call.
func (s *Script) DueCues(elapsed time.Duration, stepID string, answers map[string]Value) []string {
	var out []string
	for _, c := range s.Cues {
		if c.Unless != "" {
			if _, done := answers[c.Unless]; done {
				continue
			}
		}
		if (c.After > 0 && elapsed >= c.After) || (c.AtStep != "" && c.AtStep == stepID) {
			out = append(out, c.Text)
		}
	}
	return out
}

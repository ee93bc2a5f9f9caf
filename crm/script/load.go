package script

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Limits on what a script file may hold.
const (
	MaxFileBytes = 256 << 10
	MaxTextBytes = 8 << 10
	MaxSteps     = 200
)

// Error is a problem in a script file, with its line.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Fields are the CRM and call values a talk track may name as
// {{placeholder}} and a condition may test.
var Fields = []string{
	"customer.first_name", "customer.last_name", "customer.name", "customer.organization",
	"customer.status", "customer.segment", "customer.tags", "customer.last_disposition",
	"agent.name", "line",
}

var placeholderRE = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)

// LoadDir loads every *.yaml file in dir. It reports every problem of
// every file, each with its file and line, and loads nothing if any.
func LoadDir(dir string) (*Set, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	set := &Set{}
	var errs []error
	for _, name := range names {
		s, err := LoadFile(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := set.add(s); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return set, nil
}

// LoadFile reads and checks one script file.
func LoadFile(name string) (*Script, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	return Parse(name, data)
}

// Parse checks one script. Unknown keys, a step that leads nowhere, a loop,
// a placeholder for an unknown field or an oversized text are errors.
func Parse(name string, data []byte) (*Script, error) {
	if len(data) > MaxFileBytes {
		return nil, &Error{File: name, Msg: fmt.Sprintf("larger than %d bytes", MaxFileBytes)}
	}
	if !utf8.Valid(data) {
		return nil, &Error{File: name, Msg: "not UTF-8"}
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&root); err != nil {
		return nil, &Error{File: name, Msg: err.Error()}
	}
	s := &Script{file: name}
	dec = yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(s); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) && len(te.Errors) > 0 {
			return nil, &Error{File: name, Msg: strings.TrimPrefix(te.Errors[0], "yaml: ")}
		}
		return nil, &Error{File: name, Msg: err.Error()}
	}
	c := &checker{file: name, s: s, nodes: stepNodes(&root, s)}
	c.check()
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	return s, nil
}

// stepNodes records each step's line, for errors, and returns the steps'
// YAML nodes, where the lines of their parts are found.
func stepNodes(root *yaml.Node, s *Script) map[*Step]*yaml.Node {
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil
	}
	steps := child(root.Content[0], "steps")
	if steps == nil || steps.Kind != yaml.SequenceNode {
		return nil
	}
	nodes := make(map[*Step]*yaml.Node, len(s.Steps))
	for j, n := range steps.Content[:min(len(steps.Content), len(s.Steps))] {
		s.Steps[j].line = n.Line
		nodes[&s.Steps[j]] = n
	}
	return nodes
}

// child returns the value of key in mapping n, or nil.
func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// item returns the i-th element of sequence n, or nil.
func item(n *yaml.Node, i int) *yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode || i >= len(n.Content) {
		return nil
	}
	return n.Content[i]
}

type checker struct {
	file  string
	s     *Script
	nodes map[*Step]*yaml.Node
	errs  []error
}

// line is the line of the node at path under step st (keys, or sequence
// indexes as ints), or the step's own line when the path is not there.
func (c *checker) line(st *Step, path ...any) int {
	n := c.nodes[st]
	for _, p := range path {
		switch p := p.(type) {
		case string:
			n = child(n, p)
		case int:
			n = item(n, p)
		}
	}
	if n == nil {
		return st.line
	}
	return n.Line
}

func (c *checker) bad(line int, format string, args ...any) {
	c.errs = append(c.errs, &Error{File: c.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (c *checker) check() {
	s := c.s
	if s.ID == "" || s.Title == "" || s.Version < 1 {
		c.bad(0, "id, title and a version of 1 or more are required")
	}
	if s.Lang != "en" && s.Lang != "fa" {
		c.bad(0, "lang %q is not en or fa", s.Lang)
	}
	switch s.For.Callers {
	case "", "any", "new", "existing":
	default:
		c.bad(0, "for.callers %q is not new, existing or any", s.For.Callers)
	}
	if len(s.Steps) == 0 || len(s.Steps) > MaxSteps {
		c.bad(0, "a script needs 1 to %d steps", MaxSteps)
		return
	}
	s.index = make(map[string]*Step, len(s.Steps))
	for i := range s.Steps {
		st := &s.Steps[i]
		if st.ID == "" {
			c.bad(st.line, "a step needs an id")
			continue
		}
		if _, dup := s.index[st.ID]; dup {
			c.bad(st.line, "step %q is defined twice", st.ID)
		}
		s.index[st.ID] = st
	}
	if s.Start == "" {
		s.Start = s.Steps[0].ID
	}
	if _, ok := s.index[s.Start]; !ok {
		c.bad(0, "start %q names no step", s.Start)
	}
	for i := range s.Steps {
		c.step(&s.Steps[i])
	}
	for _, cue := range s.Cues {
		c.text(0, "cue", cue.Text)
		if cue.After <= 0 && cue.AtStep == "" {
			c.bad(0, "cue %q needs after or at_step", cue.Text)
		}
		c.ref(0, "cue", cue.AtStep, true)
		if cue.Unless != "" {
			if st, ok := s.index[cue.Unless]; !ok || st.Question == nil {
				c.bad(0, "cue %q: unless_answered %q names no question", cue.Text, cue.Unless)
			}
		}
	}
	if len(c.errs) == 0 {
		c.graph()
	}
}

func (c *checker) step(st *Step) {
	kinds := 0
	for _, set := range []bool{st.Say != "", st.Question != nil, st.Branch != nil, st.Outcome != nil} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		c.bad(st.line, "step %q must have exactly one of say, question, branch, outcome", st.ID)
		return
	}
	c.text(st.line, "step "+quote(st.ID), st.Say)
	c.selfLoops(st)
	switch {
	case st.Question != nil:
		c.question(st)
		c.ref(st.line, "step "+quote(st.ID)+": next", st.Next, false)
	case st.Branch != nil:
		if st.Next != "" {
			c.bad(st.line, "step %q: a branch goes on through its rules and else, not next", st.ID)
		}
		for _, r := range st.Branch {
			c.condition(st, r.If)
			c.ref(st.line, "step "+quote(st.ID)+": goto", r.Goto, false)
		}
		c.ref(st.line, "step "+quote(st.ID)+": else", st.Else, false)
	case st.Outcome != nil:
		if st.Next != "" {
			c.bad(st.line, "step %q: an outcome ends the script and has no next", st.ID)
		}
		switch st.Outcome.Status {
		case "", "lead", "qualified", "customer", "inactive":
		default:
			c.bad(st.line, "step %q: status %q is not lead, qualified, customer or inactive", st.ID, st.Outcome.Status)
		}
		if st.Outcome.Disposition == "" {
			c.bad(st.line, "step %q: an outcome needs a disposition", st.ID)
		}
		for _, t := range st.Outcome.Tasks {
			c.text(st.line, "task", t.Title)
			if t.Title == "" || t.Due <= 0 {
				c.bad(st.line, "step %q: a task needs a title and a due delay such as 24h", st.ID)
			}
		}
	default:
		c.ref(st.line, "step "+quote(st.ID)+": next", st.Next, false)
	}
}

// selfLoops reports a step that leads to itself, at the line that says so.
// The loop check over the whole script finds it too, but only once
// everything else is right and only from the start: this names it always.
func (c *checker) selfLoops(st *Step) {
	for i, r := range st.Branch {
		if r.Goto == st.ID {
			c.bad(c.line(st, "branch", i, "goto"), "step %q leads to itself: goto %q", st.ID, r.Goto)
		}
	}
	if st.Else == st.ID {
		c.bad(c.line(st, "else"), "step %q leads to itself: else %q", st.ID, st.Else)
	}
	if st.Next == st.ID {
		c.bad(c.line(st, "next"), "step %q leads to itself: next %q", st.ID, st.Next)
	}
}

func (c *checker) question(st *Step) {
	q := st.Question
	c.text(st.line, "step "+quote(st.ID), q.Text)
	if q.Text == "" {
		c.bad(st.line, "step %q: a question needs its text", st.ID)
	}
	switch q.Type {
	case Single, Multi:
		if len(q.Options) < 2 {
			c.bad(st.line, "step %q: a %s question needs at least two options", st.ID, q.Type)
		}
		// An option twice is one the agent cannot tell apart, and whose
		// label and score are one.
		for i, opt := range q.Options {
			if slices.Index(q.Options, opt) < i {
				c.bad(c.line(st, "question", "options", i), "step %q: option %q is listed twice", st.ID, opt)
			}
		}
	case YesNo, Text, Date:
	case Number:
		if q.Min != nil && q.Max != nil && *q.Min > *q.Max {
			c.bad(st.line, "step %q: min is above max", st.ID)
		}
	default:
		c.bad(st.line, "step %q: type %q is not single, multi, yesno, number, text or date", st.ID, q.Type)
	}
	for opt := range q.Labels {
		if !slices.Contains(q.choices(), opt) {
			c.bad(st.line, "step %q: label for %q, which is not an option", st.ID, opt)
		}
	}
	for opt := range q.Score {
		if !slices.Contains(q.choices(), opt) {
			c.bad(st.line, "step %q: score for %q, which is not an option", st.ID, opt)
		}
	}
}

func (q *Question) choices() []string {
	if q.Type == YesNo {
		return []string{"yes", "no"}
	}
	return q.Options
}

func (c *checker) condition(st *Step, cond Condition) {
	subjects := 0
	for _, set := range []bool{cond.Answer != "", cond.Field != "", cond.Score} {
		if set {
			subjects++
		}
	}
	ops := 0
	for _, set := range []bool{cond.Is != nil, cond.Not != nil, cond.In != nil, cond.Has != nil, cond.Gte != nil, cond.Lte != nil} {
		if set {
			ops++
		}
	}
	if subjects != 1 || ops != 1 {
		c.bad(st.line, "step %q: a rule tests one of answer, field or score with one of is, not, in, has, gte, lte", st.ID)
		return
	}
	if cond.Answer != "" {
		if q, ok := c.s.index[cond.Answer]; !ok || q.Question == nil {
			c.bad(st.line, "step %q: answer %q names no question", st.ID, cond.Answer)
		}
	}
	if cond.Field != "" && !slices.Contains(Fields, cond.Field) {
		c.bad(st.line, "step %q: unknown field %q", st.ID, cond.Field)
	}
}

func (c *checker) ref(line int, what, id string, optional bool) {
	if id == "" {
		if !optional {
			c.bad(line, "%s is missing", what)
		}
		return
	}
	if _, ok := c.s.index[id]; !ok {
		c.bad(line, "%s %q names no step", what, id)
	}
}

func (c *checker) text(line int, what, t string) {
	if len(t) > MaxTextBytes {
		c.bad(line, "%s: text longer than %d bytes", what, MaxTextBytes)
		return
	}
	for _, m := range placeholderRE.FindAllStringSubmatch(t, -1) {
		if !slices.Contains(Fields, m[1]) {
			c.bad(line, "%s: unknown placeholder {{%s}}", what, m[1])
		}
	}
}

// graph refuses loops (a call must always move towards an outcome) and
// steps no path reaches.
func (c *checker) graph() {
	s := c.s
	const (
		unseen = iota
		open
		done
	)
	state := map[string]int{}
	var visit func(id string, path []string) bool
	visit = func(id string, path []string) bool {
		switch state[id] {
		case open:
			// Reported where the loop closes: the step that leads back.
			i := slices.Index(path, id)
			c.bad(s.index[path[len(path)-1]].line, "steps loop: %s", strings.Join(append(path[i:], id), " → "))
			return false
		case done:
			return true
		}
		state[id] = open
		for _, next := range s.index[id].targets() {
			if !visit(next, append(path, id)) {
				return false
			}
		}
		state[id] = done
		return true
	}
	if !visit(s.Start, nil) {
		return
	}
	for i := range s.Steps {
		if state[s.Steps[i].ID] != done {
			c.bad(s.Steps[i].line, "step %q is never reached from %q", s.Steps[i].ID, s.Start)
		}
	}
}

func (st *Step) targets() []string {
	var out []string
	for _, r := range st.Branch {
		out = append(out, r.Goto)
	}
	for _, t := range []string{st.Else, st.Next} {
		if t != "" {
			out = append(out, t)
		}
	}
	return out
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

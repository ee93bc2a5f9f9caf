// Package script is the guided call script an agent walks through: talk
// tracks, questions with typed answers, branches on answers and on what the
// CRM knows of the caller, scores, timing cues, and the outcome that sets
// the disposition and follow-ups. Scripts are YAML files, checked when they
// load so that a broken script is a clear error at start-up, never a dead
// end in the middle of a call.
package script

import (
	"time"
)

// Script is one versioned call script in one language.
type Script struct {
	ID      string `yaml:"id"`
	Version int    `yaml:"version"`
	Title   string `yaml:"title"`
	Lang    string `yaml:"lang"`
	// For says which calls the script is for.
	For   Audience `yaml:"for"`
	Start string   `yaml:"start"`
	Steps []Step   `yaml:"steps"`
	Cues  []Cue    `yaml:"cues"`

	file  string
	index map[string]*Step
}

// Audience picks calls: by line label (none: any line) and by caller.
type Audience struct {
	Lines []string `yaml:"lines"`
	// Callers is "new" (unknown callers and leads), "existing" or "any".
	Callers string `yaml:"callers"`
}

// Step is one thing the agent does: say, ask, branch or conclude. Exactly
// one of Say, Question, Branch and Outcome is set.
type Step struct {
	ID       string    `yaml:"id"`
	Say      string    `yaml:"say"`
	Question *Question `yaml:"question"`
	Branch   []Rule    `yaml:"branch"`
	Else     string    `yaml:"else"`
	Outcome  *Outcome  `yaml:"outcome"`
	Next     string    `yaml:"next"`

	line int
}

// Kind names what a step does.
func (s *Step) Kind() string {
	switch {
	case s.Question != nil:
		return "question"
	case s.Branch != nil:
		return "branch"
	case s.Outcome != nil:
		return "outcome"
	}
	return "say"
}

// Answer types a question may take.
const (
	Single = "single"
	Multi  = "multi"
	YesNo  = "yesno"
	Number = "number"
	Text   = "text"
	Date   = "date"
)

// Question asks the caller something; the answer is checked against Type.
type Question struct {
	Text     string   `yaml:"text"`
	Type     string   `yaml:"type"`
	Options  []string `yaml:"options"`
	Min      *float64 `yaml:"min"`
	Max      *float64 `yaml:"max"`
	MaxLen   int      `yaml:"max_len"`
	Required bool     `yaml:"required"`
	// Labels are what the agent sees for each option (the options
	// themselves are codes kept with the answer).
	Labels map[string]string `yaml:"labels"`
	// Score gives points per option (single, multi, yesno: "yes"/"no").
	Score map[string]int `yaml:"score"`
}

// Rule sends the call to Goto when its condition holds.
type Rule struct {
	If   Condition `yaml:"if"`
	Goto string    `yaml:"goto"`
}

// Condition tests an answer, a CRM field of the caller, or the score. Set
// exactly one of Answer, Field and Score, and one operator.
type Condition struct {
	Answer string `yaml:"answer"`
	Field  string `yaml:"field"`
	Score  bool   `yaml:"score"`

	Is  *string  `yaml:"is"`
	Not *string  `yaml:"not"`
	In  []string `yaml:"in"`
	Has *string  `yaml:"has"`
	Gte *float64 `yaml:"gte"`
	Lte *float64 `yaml:"lte"`
}

// Outcome ends the script: the call's disposition, the contact's new
// status, and follow-up tasks.
type Outcome struct {
	Disposition string         `yaml:"disposition"`
	Status      string         `yaml:"status"`
	Tasks       []TaskTemplate `yaml:"tasks"`
}

// TaskTemplate is a follow-up created at the outcome, due after Due.
type TaskTemplate struct {
	Title string        `yaml:"title"`
	Due   time.Duration `yaml:"due"`
}

// Cue is a reminder from the craft of telephone selling, shown when the
// call's clock passes After, or when the agent reaches AtStep; Unless
// suppresses it once that question has an answer.
type Cue struct {
	Text   string        `yaml:"text"`
	After  time.Duration `yaml:"after"`
	AtStep string        `yaml:"at_step"`
	Unless string        `yaml:"unless_answered"`
}

// File is where the script was loaded from.
func (s *Script) File() string { return s.file }

// Step returns a step by id.
func (s *Script) Step(id string) (*Step, bool) {
	st, ok := s.index[id]
	return st, ok
}

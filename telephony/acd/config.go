package acd

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Strategy is how a queue chooses among the agents free to take its head
// caller.
type Strategy string

const (
	// RingAll offers the caller to every free member at once; the first to
	// answer takes the call.
	RingAll Strategy = "ring_all"
	// LongestIdle offers the call to the agent whose last call ended the
	// longest ago (or who logged in the longest ago, having had none).
	LongestIdle Strategy = "longest_idle"
	// RoundRobin offers calls to the members in turn, in username order,
	// carrying on after the agent the queue last offered a call to.
	RoundRobin Strategy = "round_robin"
	// FewestCalls offers the call to the agent who answered the fewest
	// calls since logging in.
	FewestCalls Strategy = "fewest_calls"
	// Random offers the call to a free member chosen uniformly.
	Random Strategy = "random"
	// BestSkill offers the call to the agent with the highest level in the
	// queue's skill; the level accepted widens as the caller waits.
	BestSkill Strategy = "skills"
)

// Strategies lists every strategy a queue may name.
var Strategies = []Strategy{RingAll, LongestIdle, RoundRobin, FewestCalls, Random, BestSkill}

// OverflowKind is where a caller goes once a queue's maximum wait is over.
type OverflowKind string

const (
	OverflowQueue     OverflowKind = "queue"
	OverflowExtension OverflowKind = "extension"
	OverflowVoicemail OverflowKind = "voicemail"
)

// Config is the ACD section of a node's configuration.
type Config struct {
	Queues []Queue `yaml:"queues"`
}

// Queue is one call queue's settings.
type Queue struct {
	Name string `yaml:"name"`
	// Lines are the lines or DIDs whose calls enter this queue.
	Lines    []string `yaml:"lines"`
	Strategy Strategy `yaml:"strategy"`
	// Members are the agents (usernames) who serve the queue. With a skill
	// as well, a member must also have it; with no members, every agent
	// with the skill serves.
	Members []string  `yaml:"members"`
	Skill   SkillNeed `yaml:"skill"`
	// Music is the music-on-hold class callers hear while they wait.
	Music string `yaml:"music"`
	// AnnounceEvery is how often a waiting caller hears their position;
	// zero never.
	AnnounceEvery time.Duration `yaml:"announce_every"`
	// RingTimeout is how long an offered agent's phone rings before it
	// counts as not answered.
	RingTimeout time.Duration `yaml:"ring_timeout"`
	// MaxWait is how long a caller waits before leaving for Overflow; zero
	// waits for ever.
	MaxWait  time.Duration `yaml:"max_wait"`
	Overflow Overflow      `yaml:"overflow"`
	// WrapUp is the time an agent gets after a call before the next offer;
	// zero makes them available as soon as the call ends.
	WrapUp   time.Duration  `yaml:"wrapup"`
	Priority []PriorityRule `yaml:"priority"`
	// MaxMisses is how many offers in a row an agent may let ring out or
	// reject before being put on break (BreakMissed); zero never.
	MaxMisses int `yaml:"max_misses"`
}

// SkillNeed is the skill a queue's callers need, at a level that widens as
// they wait.
type SkillNeed struct {
	Name     string `yaml:"name"`
	MinLevel int    `yaml:"min_level"`
	// Widen lowers the level accepted once a caller has waited long
	// enough: steps in increasing After, decreasing MinLevel.
	Widen []Widen `yaml:"widen"`
}

// Widen is one step of a skill's widening.
type Widen struct {
	After    time.Duration `yaml:"after"`
	MinLevel int           `yaml:"min_level"`
}

// Overflow is where a caller goes after the queue's MaxWait.
type Overflow struct {
	Kind OverflowKind `yaml:"kind"`
	// Target is a queue name, an extension, or a voicemail box.
	Target string `yaml:"target"`
}

// PriorityRule moves callers with a CRM fact ahead in the queue: they are
// placed as if they had called Ahead earlier. Exactly one of Tag, Segment
// and Status is set; it matches case-insensitively.
type PriorityRule struct {
	Tag     string        `yaml:"tag"`
	Segment string        `yaml:"segment"`
	Status  string        `yaml:"status"`
	Ahead   time.Duration `yaml:"ahead"`
}

// Facts are what the CRM knows of a caller that priority rules look at.
type Facts struct {
	Tags    []string
	Segment string
	Status  string
}

// Ahead is how far the queue's rules move a caller with facts f: the
// largest Ahead among the rules that match. The largest rather than the sum
// keeps the bound on how long anyone can be overtaken equal to the largest
// configured rule.
func (q *Queue) Ahead(f Facts) time.Duration {
	var best time.Duration
	for _, r := range q.Priority {
		var hit bool
		switch {
		case r.Tag != "":
			hit = slices.ContainsFunc(f.Tags, func(t string) bool { return strings.EqualFold(t, r.Tag) })
		case r.Segment != "":
			hit = strings.EqualFold(f.Segment, r.Segment)
		case r.Status != "":
			hit = strings.EqualFold(f.Status, r.Status)
		}
		if hit && r.Ahead > best {
			best = r.Ahead
		}
	}
	return best
}

// MinLevel is the skill level the queue accepts for a caller who has, in
// effect, waited w (their wait plus their priority's Ahead).
func (q *Queue) MinLevel(w time.Duration) int {
	level := q.Skill.MinLevel
	for _, s := range q.Skill.Widen {
		if w >= s.After {
			level = s.MinLevel
		}
	}
	return level
}

// Serves reports whether agent a may take this queue's calls at skill
// level min (min is ignored by a queue without a skill).
func (q *Queue) Serves(a *Agent, min int) bool {
	if len(q.Members) > 0 && !slices.Contains(q.Members, a.Username) {
		return false
	}
	return q.skilled(a, min)
}

// skilled reports whether a has the queue's skill at level min or above,
// or the queue needs none.
func (q *Queue) skilled(a *Agent, min int) bool {
	if q.Skill.Name == "" {
		return true
	}
	lvl, ok := a.Skills[q.Skill.Name]
	return ok && lvl >= min
}

// FieldError names the setting that is wrong, by its YAML path.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return fmt.Sprintf("acd: %s: %s", e.Field, e.Reason) }

func bad(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// MaxLevel is the highest skill level.
const MaxLevel = 100

// Validate checks every queue and what they refer to in each other, and
// names the first bad setting ("queues[2].overflow.target").
func (c *Config) Validate() error {
	names := map[string]int{}
	lines := map[string]string{}
	for i := range c.Queues {
		q := &c.Queues[i]
		p := fmt.Sprintf("queues[%d].", i)
		if err := q.validate(p); err != nil {
			return err
		}
		if _, dup := names[q.Name]; dup {
			return bad(p+"name", "%q is used by another queue", q.Name)
		}
		names[q.Name] = i
		for j, l := range q.Lines {
			if other, dup := lines[l]; dup {
				return bad(fmt.Sprintf("%slines[%d]", p, j), "line %q is already served by queue %q", l, other)
			}
			lines[l] = q.Name
		}
	}
	for i := range c.Queues {
		q := &c.Queues[i]
		if q.Overflow.Kind != OverflowQueue {
			continue
		}
		field := fmt.Sprintf("queues[%d].overflow.target", i)
		if _, ok := names[q.Overflow.Target]; !ok {
			return bad(field, "no queue is named %q", q.Overflow.Target)
		}
		// A caller overflowing round a loop would never leave the queues.
		seen := map[string]bool{q.Name: true}
		for n := q.Overflow.Target; ; {
			if seen[n] {
				return bad(field, "overflowing from %q comes back to %q", q.Name, n)
			}
			seen[n] = true
			next := &c.Queues[names[n]]
			if next.Overflow.Kind != OverflowQueue {
				break
			}
			n = next.Overflow.Target
		}
	}
	return nil
}

// Validate checks one queue's settings on their own.
func (q *Queue) Validate() error { return q.validate("") }

func (q *Queue) validate(p string) error {
	if err := CheckName(q.Name); err != nil {
		return bad(p+"name", "%v", err)
	}
	for i, l := range q.Lines {
		if strings.TrimSpace(l) == "" {
			return bad(fmt.Sprintf("%slines[%d]", p, i), "must not be empty")
		}
	}
	if !slices.Contains(Strategies, q.Strategy) {
		return bad(p+"strategy", "%q is not one of %v", q.Strategy, Strategies)
	}
	seen := map[string]bool{}
	for i, m := range q.Members {
		f := fmt.Sprintf("%smembers[%d]", p, i)
		if err := CheckName(m); err != nil {
			return bad(f, "%v", err)
		}
		if seen[m] {
			return bad(f, "%q is listed twice", m)
		}
		seen[m] = true
	}
	if err := q.Skill.validate(p + "skill."); err != nil {
		return err
	}
	if len(q.Members) == 0 && q.Skill.Name == "" {
		return bad(p+"members", "a queue needs members, a skill, or both")
	}
	if q.Strategy == BestSkill && q.Skill.Name == "" {
		return bad(p+"skill.name", "strategy %q needs a skill", BestSkill)
	}
	if q.AnnounceEvery < 0 {
		return bad(p+"announce_every", "must not be negative")
	}
	if q.AnnounceEvery > 0 && q.AnnounceEvery < time.Second {
		return bad(p+"announce_every", "%v is under a second", q.AnnounceEvery)
	}
	if q.RingTimeout <= 0 {
		return bad(p+"ring_timeout", "must be a positive duration such as 15s")
	}
	if q.MaxWait < 0 {
		return bad(p+"max_wait", "must not be negative")
	}
	switch {
	case q.MaxWait == 0 && q.Overflow != (Overflow{}):
		return bad(p+"overflow", "is never used without max_wait")
	case q.MaxWait > 0:
		switch q.Overflow.Kind {
		case OverflowQueue, OverflowExtension, OverflowVoicemail:
		default:
			return bad(p+"overflow.kind", "%q is not one of queue, extension, voicemail", q.Overflow.Kind)
		}
		if strings.TrimSpace(q.Overflow.Target) == "" {
			return bad(p+"overflow.target", "must not be empty")
		}
		if q.Overflow.Kind == OverflowQueue && q.Overflow.Target == q.Name {
			return bad(p+"overflow.target", "a queue cannot overflow into itself")
		}
	}
	if q.WrapUp < 0 {
		return bad(p+"wrapup", "must not be negative")
	}
	for i, r := range q.Priority {
		f := fmt.Sprintf("%spriority[%d]", p, i)
		n := 0
		for _, s := range []string{r.Tag, r.Segment, r.Status} {
			if s != "" {
				n++
			}
		}
		if n != 1 {
			return bad(f, "needs exactly one of tag, segment, status")
		}
		if r.Ahead <= 0 {
			return bad(f+".ahead", "must be a positive duration such as 2m")
		}
	}
	if q.MaxMisses < 0 {
		return bad(p+"max_misses", "must not be negative")
	}
	return nil
}

func (s *SkillNeed) validate(p string) error {
	if s.Name == "" {
		if s.MinLevel != 0 || len(s.Widen) > 0 {
			return bad(p+"name", "must be set with min_level or widen")
		}
		return nil
	}
	if err := CheckName(s.Name); err != nil {
		return bad(p+"name", "%v", err)
	}
	if s.MinLevel < 1 || s.MinLevel > MaxLevel {
		return bad(p+"min_level", "must be between 1 and %d", MaxLevel)
	}
	after, level := time.Duration(0), s.MinLevel
	for i, w := range s.Widen {
		f := fmt.Sprintf("%swiden[%d]", p, i)
		if w.After <= after {
			return bad(f+".after", "must be longer than the step before (%v)", after)
		}
		if w.MinLevel < 1 || w.MinLevel >= level {
			return bad(f+".min_level", "must be between 1 and %d, below the step before", level-1)
		}
		after, level = w.After, w.MinLevel
	}
	return nil
}

// CheckName checks a queue, agent or skill name: 1 to 64 letters, digits
// and . _ - @ +. Names are joined into lists and keys, so nothing else is
// allowed.
func CheckName(s string) error {
	if s == "" {
		return fmt.Errorf("must not be empty")
	}
	if len(s) > 64 {
		return fmt.Errorf("%q is longer than 64 bytes", s)
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case r == '.', r == '_', r == '-', r == '@', r == '+':
		default:
			return fmt.Errorf("%q holds %q; only letters, digits and . _ - @ + are allowed", s, r)
		}
	}
	return nil
}

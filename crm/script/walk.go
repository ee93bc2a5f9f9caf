package script

import (
	"maps"
	"slices"
	"time"
)

// Run is one agent's way through a script on one call: the steps reached,
// the current one last, and the answers given. Every move is checked here,
// so a console cannot skip a required question, answer a step it never
// reached, or leave a branch the CRM decides.
type Run struct {
	Script *Script
	Ctx    Context
	Path   []string
}

// Begin starts a run at the script's first step.
func (s *Script) Begin(ctx Context) *Run {
	if ctx.Answers == nil {
		ctx.Answers = map[string]Value{}
	}
	return &Run{Script: s, Ctx: ctx, Path: []string{s.resolve(s.Start, ctx)}}
}

// Resume continues a saved run. A path naming a step the script no longer
// has (the script changed since) starts again from the first step, keeping
// the answers to steps that still exist.
func (s *Script) Resume(ctx Context, path []string) *Run {
	r := s.Begin(ctx)
	for id := range r.Ctx.Answers {
		if st, ok := s.index[id]; !ok || st.Question == nil {
			delete(r.Ctx.Answers, id)
		}
	}
	if len(path) == 0 {
		return r
	}
	for _, id := range path {
		if _, ok := s.index[id]; !ok {
			return r
		}
	}
	r.Path = slices.Clone(path)
	return r
}

// Current is the step the agent is on.
func (r *Run) Current() *Step { return r.Script.index[r.Path[len(r.Path)-1]] }

// Reached reports whether the agent has been on step id in this run.
func (r *Run) Reached(id string) bool { return slices.Contains(r.Path, id) }

// Answer records the answer to a reached question without moving on: the
// console saves every answer as it is given. An empty answer to an
// optional question clears it.
func (r *Run) Answer(stepID string, raw []string) error {
	if _, ok := r.Script.index[stepID]; ok && !r.Reached(stepID) {
		return bad("step %q has not been reached", stepID)
	}
	v, err := r.Script.Check(stepID, raw)
	if err != nil {
		return err
	}
	if v.empty() {
		delete(r.Ctx.Answers, stepID)
		return nil
	}
	r.Ctx.Answers[stepID] = v
	return nil
}

func (v Value) empty() bool {
	return v.Text == "" && len(v.Choices) == 0 && v.Number == nil && v.Date.IsZero()
}

// Forward moves to the next step. A required question must have its
// answer first; the script's branches pick the way.
func (r *Run) Forward() error {
	cur := r.Current()
	if cur.Outcome != nil {
		return bad("the script has ended at %q", cur.ID)
	}
	if q := cur.Question; q != nil && q.Required {
		if _, ok := r.Ctx.Answers[cur.ID]; !ok {
			return bad("step %q needs an answer", cur.ID)
		}
	}
	// Branches see only the answers on the way taken, as the score does.
	ctx := r.Ctx
	ctx.Answers = r.Answers()
	next, err := r.Script.Next(cur.ID, ctx)
	if err != nil {
		return err
	}
	if len(r.Path) >= 200 {
		return bad("the run is too long")
	}
	r.Path = append(r.Path, next)
	return nil
}

// Back returns to the previous step; the answers stay, to be changed.
func (r *Run) Back() error {
	if len(r.Path) < 2 {
		return bad("already at the first step")
	}
	r.Path = r.Path[:len(r.Path)-1]
	return nil
}

// Ended reports whether the run reached an outcome.
func (r *Run) Ended() bool { return r.Current().Outcome != nil }

// Answers returns the answers on the path taken: an answer given on a way
// the agent then went back from does not count.
func (r *Run) Answers() map[string]Value {
	out := make(map[string]Value, len(r.Ctx.Answers))
	for id, v := range r.Ctx.Answers {
		if r.Reached(id) {
			out[id] = v
		}
	}
	return out
}

// Score adds the points of the answers on the path.
func (r *Run) Score() int { return r.Script.Score(r.Answers()) }

// Outcome returns the outcome reached, or nil.
func (r *Run) Outcome() *Outcome { return r.Current().Outcome }

// View is what the console shows of a run: every step taken with its text
// filled in, the current step whole, the answers, score and cues. Texts
// are plain: the console shows them as text, never as markup.
type View struct {
	Script  string           `json:"script"`
	Version int              `json:"version"`
	Title   string           `json:"title"`
	Lang    string           `json:"lang"`
	Steps   []StepView       `json:"steps"`
	Answers map[string]Value `json:"answers"`
	Score   int              `json:"score"`
	Ended   bool             `json:"ended"`
	Cues    []string         `json:"cues"`
}

// StepView is one step of a View.
type StepView struct {
	ID       string            `json:"id"`
	Kind     string            `json:"kind"`
	Text     string            `json:"text,omitempty"`
	Type     string            `json:"type,omitempty"`
	Options  []string          `json:"options,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	Min      *float64          `json:"min,omitempty"`
	Max      *float64          `json:"max,omitempty"`
	Required bool              `json:"required,omitempty"`
	Outcome  *OutcomeView      `json:"outcome,omitempty"`
}

// OutcomeView is an outcome as the console shows it.
type OutcomeView struct {
	Disposition string     `json:"disposition"`
	Status      string     `json:"status,omitempty"`
	Tasks       []TaskView `json:"tasks,omitempty"`
}

// TaskView is a follow-up an outcome proposes, due after DueSeconds.
type TaskView struct {
	Title      string `json:"title"`
	DueSeconds int64  `json:"due_seconds"`
}

// View renders the run for the console, elapsed into the call.
func (r *Run) View(elapsed time.Duration) View {
	v := View{Script: r.Script.ID, Version: r.Script.Version, Title: r.Script.Title, Lang: r.Script.Lang,
		Answers: r.Answers(), Score: r.Score(), Ended: r.Ended()}
	for _, id := range r.Path {
		st := r.Script.index[id]
		sv := StepView{ID: id, Kind: st.Kind(), Text: Render(st.Say, r.Ctx)}
		if q := st.Question; q != nil {
			sv.Text, sv.Type, sv.Options, sv.Required = Render(q.Text, r.Ctx), q.Type, q.choices(), q.Required
			sv.Labels, sv.Min, sv.Max = maps.Clone(q.Labels), q.Min, q.Max
		}
		if o := st.Outcome; o != nil {
			ov := &OutcomeView{Disposition: o.Disposition, Status: o.Status}
			for _, t := range o.Tasks {
				ov.Tasks = append(ov.Tasks, TaskView{Title: Render(t.Title, r.Ctx), DueSeconds: int64(t.Due / time.Second)})
			}
			sv.Outcome = ov
		}
		v.Steps = append(v.Steps, sv)
	}
	v.Cues = r.Script.DueCues(elapsed, r.Current().ID, v.Answers)
	if v.Cues == nil {
		v.Cues = []string{}
	}
	return v
}

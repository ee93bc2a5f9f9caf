package web

import (
	"cmp"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/contactcsv"
)

// activityQuery reads ?contact=&kind=&agent=&queue=&outcome=&disposition=&from=&to=&after=&limit=
// (from and to in RFC 3339).
func activityQuery(r *http.Request) (crm.ActivityQuery, error) {
	v := r.URL.Query()
	q := crm.ActivityQuery{Kind: crm.ActivityKind(v.Get("kind")), Agent: v.Get("agent"), Queue: v.Get("queue"), Outcome: v.Get("outcome"),
		Disposition: v.Get("disposition")}
	if q.Kind != "" && !q.Kind.Valid() {
		return q, &apiError{Status: http.StatusBadRequest, Code: "invalid", Field: "kind", Message: "kind must be call or note"}
	}
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"contact", &q.ContactID}, {"after", &q.AfterID}} {
		if s := v.Get(p.name); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 0 {
				return q, &apiError{Status: http.StatusBadRequest, Code: "invalid", Field: p.name, Message: p.name + " must be a non-negative integer"}
			}
			*p.dst = n
		}
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if s := v.Get(p.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return q, &apiError{Status: http.StatusBadRequest, Code: "invalid", Field: p.name, Message: p.name + " must be an RFC 3339 time"}
			}
			*p.dst = t
		}
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > crm.MaxListLimit {
			return q, &apiError{Status: http.StatusBadRequest, Code: "invalid", Field: "limit", Message: "limit must be 1 to " + strconv.Itoa(crm.MaxListLimit)}
		}
		q.Limit = n
	}
	return q, nil
}

// listActivities serves GET /api/v1/activities: a page, and where the next
// one starts.
func (s *Server) listActivities(w http.ResponseWriter, r *http.Request) error {
	as, err := s.activityStore()
	if err != nil {
		return err
	}
	q, err := activityQuery(r)
	if err != nil {
		return err
	}
	list, err := as.ListActivities(r.Context(), q)
	if err != nil {
		return err
	}
	out := map[string]any{"activities": list}
	limit := q.Limit
	if limit == 0 {
		limit = crm.MaxListLimit
	}
	if len(list) == limit {
		out["next"] = list[len(list)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// exportActivities streams every matching activity as CSV, page by page,
// so memory stays flat however many there are.
func (s *Server) exportActivities(w http.ResponseWriter, r *http.Request) error {
	as, err := s.activityStore()
	if err != nil {
		return err
	}
	q, err := activityQuery(r)
	if err != nil {
		return err
	}
	q.Limit = crm.MaxListLimit
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="activities.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"id", "at", "kind", "call_id", "direction", "number", "contact_id", "agent", "queue", "line",
		"outcome", "duration_s", "disposition", "subject", "body", "script", "score", "answers", "wrapup_s",
		// Last, so the columns before keep their places for existing readers.
		"number_e164"})
	for {
		page, err := as.ListActivities(r.Context(), q)
		if err != nil {
			// Headers are gone: end the body early; the client sees a
			// short file rather than a JSON error in the middle of CSV.
			s.log.ErrorContext(r.Context(), "activity export failed", "err", err)
			return nil
		}
		for _, a := range page {
			safe := contactcsv.SafeCell
			var scriptID, score, answers, wrapS string
			if w := a.WrapUp; w != nil && w.Script != "" {
				scriptID = w.Script + "@" + strconv.Itoa(w.Version)
				score, answers = strconv.Itoa(w.Score), string(w.Answers)
			}
			if d, ok := wrapUpTime(&a); ok {
				wrapS = strconv.FormatFloat(d.Seconds(), 'f', 0, 64)
			}
			cw.Write([]string{strconv.FormatInt(a.ID, 10), a.At.UTC().Format(time.RFC3339), string(a.Kind), safe(a.CallID),
				a.Direction, safe(a.Number), strconv.FormatInt(a.ContactID, 10), safe(a.Agent), safe(a.Queue), safe(a.Line),
				a.Outcome, strconv.FormatFloat(a.Duration.Seconds(), 'f', 0, 64), safe(a.Disposition), safe(a.Subject), safe(a.Body),
				safe(scriptID), score, safe(answers), wrapS, a.NumberE164})
		}
		cw.Flush()
		if err := cw.Error(); err != nil || len(page) < q.Limit {
			return nil
		}
		q.AfterID = page[len(page)-1].ID
	}
}

// listTasks serves GET /api/v1/tasks?contact=&assignee=&open=1&due_before=&after=&limit=:
// follow-ups in due order.
func (s *Server) listTasks(w http.ResponseWriter, r *http.Request) error {
	as, err := s.activityStore()
	if err != nil {
		return err
	}
	tl, ok := as.(crm.TaskLister)
	if !ok {
		return errorf(http.StatusServiceUnavailable, "unavailable", "this store lists no tasks")
	}
	v := r.URL.Query()
	q := crm.TaskQuery{Assignee: v.Get("assignee"), Open: v.Get("open") == "1" || v.Get("open") == "true"}
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"contact", &q.ContactID}, {"after", &q.AfterID}} {
		if s := v.Get(p.name); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 0 {
				return &apiError{Status: http.StatusBadRequest, Code: "invalid", Field: p.name, Message: p.name + " must be a non-negative integer"}
			}
			*p.dst = n
		}
	}
	if s := v.Get("due_before"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return &apiError{Status: http.StatusBadRequest, Code: "invalid", Field: "due_before", Message: "due_before must be an RFC 3339 time"}
		}
		q.DueBefore = t
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > crm.MaxListLimit {
			return &apiError{Status: http.StatusBadRequest, Code: "invalid", Field: "limit", Message: "limit must be 1 to " + strconv.Itoa(crm.MaxListLimit)}
		}
		q.Limit = n
	}
	list, err := tl.ListTasks(r.Context(), q)
	if err != nil {
		return err
	}
	out := map[string]any{"tasks": list}
	if limit := cmp.Or(q.Limit, crm.MaxListLimit); len(list) == limit {
		out["next"] = list[len(list)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// wrapUpTime is how long the agent took after the call to finish its
// wrap-up: from the call's end (in its record) to the finish.
func wrapUpTime(a *crm.Activity) (time.Duration, bool) {
	if a.WrapUp == nil || !a.WrapUp.Done() || len(a.Details) == 0 {
		return 0, false
	}
	var rec struct {
		EndedAt time.Time `json:"ended_at"`
	}
	if json.Unmarshal(a.Details, &rec) != nil || rec.EndedAt.IsZero() {
		return 0, false
	}
	return max(0, a.WrapUp.DoneAt.Sub(rec.EndedAt)), true
}

package web

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/tamas-cc/tamas/account"
	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/screenpop"
	"github.com/tamas-cc/tamas/web/console"
	"github.com/tamas-cc/tamas/web/push"
)

// ConsoleHub serves a console's websocket once web has authenticated it
// and checked its Origin; a [push.Hub] is one.
type ConsoleHub interface {
	ServeConsole(w http.ResponseWriter, r *http.Request, c push.Client)
}

var _ ConsoleHub = (*push.Hub)(nil)

// Dialer places a click-to-call: it rings the agent's phone, presenting
// the customer's number, and connects them.
type Dialer interface {
	Originate(ctx context.Context, endpoint, callerID string) (string, error)
}

// contentSecurityPolicy allows only the console's own files: no inline
// script or style, so even a caller name that slipped through as markup
// could not run.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; media-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

func (s *Server) consoleRoutes() {
	s.mux.HandleFunc("POST /api/v1/session", func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		if err := s.login(sw, r); err != nil {
			s.writeError(sw, r, err)
		}
		s.m.requests.WithLabelValues("/api/v1/session", statusClass(sw.status)).Observe(time.Since(start).Seconds())
	})
	s.sessionRoute("DELETE /api/v1/session", account.RoleAgent, s.logout)
	s.sessionRoute("GET /api/v1/me", account.RoleAgent, s.me)
	s.sessionRoute("PUT /api/v1/me/lang", account.RoleAgent, s.setLang)
	s.sessionRoute("PUT /api/v1/me/state", account.RoleAgent, s.putState)
	s.sessionRoute("GET /api/v1/agents", account.RoleSupervisor, s.agents)
	s.sessionRoute("GET /api/v1/contacts/{id}/activities", account.RoleAgent, contactRecords(s, "activities",
		func(ctx context.Context, as crm.ActivityStore, id int64) ([]crm.Activity, error) {
			return as.RecentActivities(ctx, id, consolePage)
		}))
	s.sessionRoute("POST /api/v1/contacts/{id}/notes", account.RoleAgent, s.addNote)
	s.sessionRoute("GET /api/v1/contacts/{id}/tasks", account.RoleAgent, contactRecords(s, "tasks",
		func(ctx context.Context, as crm.ActivityStore, id int64) ([]crm.Task, error) {
			return as.OpenTasks(ctx, id, consolePage)
		}))
	s.sessionRoute("POST /api/v1/calls", account.RoleAgent, s.clickToCall)
	s.mux.HandleFunc("GET /api/v1/console/ws", s.consoleSocket)
	s.wrapUpRoutes()
	s.timelineRoutes()

	static, _ := fs.Sub(console.Files, ".")
	index, _ := fs.ReadFile(static, "index.html")
	files := http.FileServerFS(static)
	page := func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-cache")
		if r.URL.Path == "/" {
			h.Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write(index)
			return
		}
		http.StripPrefix("/console", files).ServeHTTP(w, r)
	}
	s.mux.HandleFunc("GET /{$}", page)
	s.mux.HandleFunc("GET /console/", page)
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	su := userFrom(r.Context())
	out := map[string]any{"user": su.user}
	if s.o.Roster != nil {
		out["state"] = s.o.Roster.Get(su.user.Username)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) setLang(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Lang string `json:"lang"`
	}
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	if in.Lang != "en" && in.Lang != "fa" {
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "invalid", Field: "lang", Message: "lang must be en or fa"}
	}
	u := *userFrom(r.Context()).user
	u.Lang = in.Lang
	if err := s.o.Accounts.UpdateUser(r.Context(), &u); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": &u})
	return nil
}

var breakReasons = []string{"lunch", "prayer", "meeting", "training", "other"}

func (s *Server) putState(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		State  string `json:"state"`
		Reason string `json:"reason"`
	}
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	a := screenpop.Availability(in.State)
	if !a.Valid() {
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "invalid", Field: "state", Message: "state must be available, break, wrapup or offline"}
	}
	if a == screenpop.OnBreak {
		ok := false
		for _, br := range breakReasons {
			ok = ok || in.Reason == br
		}
		if !ok {
			return &apiError{Status: http.StatusUnprocessableEntity, Code: "invalid", Field: "reason", Message: "a break needs a reason: " + strings.Join(breakReasons, ", ")}
		}
	} else {
		in.Reason = ""
	}
	st := s.setState(r.Context(), userFrom(r.Context()).user.Username, a, in.Reason)
	writeJSON(w, http.StatusOK, map[string]any{"state": st})
	return nil
}

// setState records an agent's availability and tells supervisors and the
// agent's other consoles.
func (s *Server) setState(ctx context.Context, username string, a screenpop.Availability, reason string) screenpop.AgentState {
	st, err := screenpop.PublishState(ctx, s.o.Roster, s.o.Publisher, username, a, reason)
	if err != nil {
		s.log.ErrorContext(ctx, "publishing agent state failed", "user", username, "err", err)
	}
	return st
}

func (s *Server) agents(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]any{"agents": s.o.Roster.All()})
	return nil
}

func (s *Server) activityStore() (crm.ActivityStore, error) {
	if s.o.Activities == nil {
		return nil, errorf(http.StatusServiceUnavailable, "unavailable", "activities are not enabled")
	}
	return s.o.Activities, nil
}

// consolePage is how many activities or tasks the console reads at once.
const consolePage = 50

// contactRecords serves one contact's records of a kind, read by read.
func contactRecords[T any](s *Server, key string, read func(context.Context, crm.ActivityStore, int64) ([]T, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		as, err := s.activityStore()
		if err != nil {
			return err
		}
		list, err := read(r.Context(), as, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{key: list})
		return nil
	}
}

func (s *Server) addNote(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		Body   string `json:"body"`
		CallID string `json:"call_id"`
	}
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	as, err := s.activityStore()
	if err != nil {
		return err
	}
	a := &crm.Activity{ContactID: id, Kind: crm.ActivityNote, Body: strings.TrimSpace(in.Body),
		Agent: userFrom(r.Context()).user.Username, Subject: in.CallID, At: time.Now().UTC()}
	if err := as.AddActivity(r.Context(), a); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, a)
	return nil
}

func (s *Server) clickToCall(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Number    string `json:"number"`
		ContactID int64  `json:"contact_id"`
	}
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	if s.o.Dialer == nil {
		return errorf(http.StatusServiceUnavailable, "no_pbx", "no PBX is connected for click-to-call")
	}
	u := userFrom(r.Context()).user
	if u.Endpoint == "" {
		return errorf(http.StatusConflict, "no_endpoint", "your account has no phone endpoint")
	}
	num := s.dir.Normalizer().Parse(in.Number)
	if num.E164 == "" {
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "invalid", Field: "number", Message: "not a callable number"}
	}
	id, err := s.o.Dialer.Originate(r.Context(), u.Endpoint, num.E164)
	if err != nil {
		s.log.ErrorContext(r.Context(), "click-to-call failed", "user", u.Username, "err", err)
		return errorf(http.StatusBadGateway, "pbx_error", "the PBX did not place the call")
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"call_id": id, "number": num.E164})
	return nil
}

// consoleSocket authenticates a console and hands it to the hub.
func (s *Server) consoleSocket(w http.ResponseWriter, r *http.Request) {
	if s.o.Console == nil {
		s.writeError(w, r, errorf(http.StatusServiceUnavailable, "unavailable", "console delivery is off"))
		return
	}
	if !s.originAllowed(r) {
		s.log.WarnContext(r.Context(), "console websocket refused: origin not allowed", "origin", r.Header.Get("Origin"), "ip", clientIP(r))
		s.writeError(w, r, errorf(http.StatusForbidden, "origin", "origin not allowed"))
		return
	}
	r2, err := s.sessionRequest(r, account.RoleAgent)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	su := userFrom(r2.Context())
	channels := []string{screenpop.UserChannel(su.user.Username)}
	if su.user.Role.Allows(account.RoleSupervisor) {
		channels = append(channels, screenpop.SupervisorChannel)
	}
	token := su.token
	s.o.Console.ServeConsole(w, r2, push.Client{
		Username: su.user.Username, Role: string(su.user.Role), Channels: channels,
		Check: func(ctx context.Context) error {
			_, _, err := s.o.Accounts.Authenticate(ctx, token)
			if errors.Is(err, account.ErrNotFound) {
				return err
			}
			return nil // a database hiccup does not log anyone out
		},
	})
}

package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/tamas-cc/tamas/crm"

	"github.com/tamas-cc/tamas/account"
	"github.com/tamas-cc/tamas/wrapup"
)

// WrapUps runs agents' wrap-ups of their calls; package wrapup implements
// it.
type WrapUps interface {
	Open(ctx context.Context, a wrapup.Agent, c wrapup.Call) (*wrapup.State, error)
	Step(ctx context.Context, a wrapup.Agent, callID string, m wrapup.Move) (*wrapup.State, error)
	Notes(ctx context.Context, a wrapup.Agent, callID, notes string) error
	Finish(ctx context.Context, a wrapup.Agent, callID string, f wrapup.Finish) (*wrapup.Done, error)
}

func (s *Server) wrapUpRoutes() {
	s.sessionRoute("POST /api/v1/wrapups", account.RoleAgent, s.openWrapUp)
	s.sessionRoute("POST /api/v1/wrapups/{call}/step", account.RoleAgent, s.stepWrapUp)
	s.sessionRoute("PUT /api/v1/wrapups/{call}/notes", account.RoleAgent, s.wrapUpNotes)
	s.sessionRoute("POST /api/v1/wrapups/{call}/finish", account.RoleAgent, s.finishWrapUp)
	s.sessionRoute("GET /api/v1/dispositions", account.RoleAgent, s.dispositions)
	s.sessionRoute("POST /api/v1/tasks/{id}/done", account.RoleAgent, s.completeTask)
}

func (s *Server) completeTask(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	as, err := s.activityStore()
	if err != nil {
		return err
	}
	// An agent closes their own follow-ups and unassigned ones; a
	// supervisor anyone's.
	if su := userFrom(r.Context()); su != nil && !su.user.Role.Allows(account.RoleSupervisor) {
		tl, ok := as.(crm.TaskLister)
		if !ok {
			return errorf(http.StatusServiceUnavailable, "unavailable", "this store lists no tasks")
		}
		list, err := tl.ListTasks(r.Context(), crm.TaskQuery{ID: id, Limit: 1})
		if err != nil {
			return err
		}
		if len(list) == 0 {
			return crm.ErrNotFound
		}
		if a := list[0].Assignee; a != "" && !strings.EqualFold(a, su.user.Username) {
			return errorf(http.StatusForbidden, "forbidden", "this follow-up is another agent's")
		}
	}
	if err := as.CompleteTask(r.Context(), id, time.Now()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) wrapUps() (WrapUps, error) {
	if s.o.WrapUps == nil {
		return nil, errorf(http.StatusServiceUnavailable, "unavailable", "wrap-ups are not enabled")
	}
	return s.o.WrapUps, nil
}

func agentOf(ctx context.Context) wrapup.Agent {
	u := userFrom(ctx).user
	return wrapup.Agent{Username: u.Username, Name: u.DisplayName, Lang: u.Lang,
		Supervisor: u.Role.Allows(account.RoleSupervisor)}
}

func (s *Server) openWrapUp(w http.ResponseWriter, r *http.Request) error {
	var in wrapup.Call
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	wu, err := s.wrapUps()
	if err != nil {
		return err
	}
	st, err := wu.Open(r.Context(), agentOf(r.Context()), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (s *Server) stepWrapUp(w http.ResponseWriter, r *http.Request) error {
	var in wrapup.Move
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	wu, err := s.wrapUps()
	if err != nil {
		return err
	}
	st, err := wu.Step(r.Context(), agentOf(r.Context()), r.PathValue("call"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (s *Server) wrapUpNotes(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Notes string `json:"notes"`
	}
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	wu, err := s.wrapUps()
	if err != nil {
		return err
	}
	if err := wu.Notes(r.Context(), agentOf(r.Context()), r.PathValue("call"), in.Notes); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) finishWrapUp(w http.ResponseWriter, r *http.Request) error {
	var in wrapup.Finish
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	wu, err := s.wrapUps()
	if err != nil {
		return err
	}
	done, err := wu.Finish(r.Context(), agentOf(r.Context()), r.PathValue("call"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, done)
	return nil
}

func (s *Server) dispositions(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]any{"dispositions": s.o.Dispositions})
	return nil
}

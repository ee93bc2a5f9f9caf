package wrapup

import (
	"context"
	"errors"
	"fmt"

	"github.com/tamas-cc/tamas/crm"
)

// draft returns the call's wrap-up: this node's copy, else the store's.
func (s *Service) draft(ctx context.Context, callID string) (*crm.WrapUp, error) {
	s.fieldsMu.Lock()
	w, ok := s.drafts[callID]
	s.fieldsMu.Unlock()
	if ok {
		return &w, nil
	}
	got, err := s.o.Store.WrapUp(ctx, callID)
	if err != nil {
		return nil, err
	}
	s.keep(got)
	return got, nil
}

// keep caches a copy of w, or forgets the call's copy when w is nil.
func (s *Service) keep(w *crm.WrapUp) {
	s.fieldsMu.Lock()
	defer s.fieldsMu.Unlock()
	if len(s.drafts) >= maxCachedFields {
		// Start over, but never drop what only this node holds: answers
		// the database has not taken, or a finish waiting in the outbox.
		for id, d := range s.drafts {
			if !s.dirty[id] && !d.Done() {
				delete(s.drafts, id)
			}
		}
	}
	s.drafts[w.CallID] = *w
}

// cached returns this node's copy of a call's wrap-up.
func (s *Service) cached(callID string) (crm.WrapUp, bool) {
	s.fieldsMu.Lock()
	defer s.fieldsMu.Unlock()
	w, ok := s.drafts[callID]
	return w, ok
}

// forgetClean drops the call's copy unless it holds answers the database
// has not taken.
func (s *Service) forgetClean(callID string) {
	s.fieldsMu.Lock()
	defer s.fieldsMu.Unlock()
	if !s.dirty[callID] {
		delete(s.drafts, callID)
	}
}

func (s *Service) forget(callID string) {
	s.fieldsMu.Lock()
	delete(s.drafts, callID)
	delete(s.dirty, callID)
	s.fieldsMu.Unlock()
}

// unsaved reports whether this node holds answers the database has not.
func (s *Service) unsaved(callID string) bool {
	s.fieldsMu.Lock()
	defer s.fieldsMu.Unlock()
	return s.dirty[callID]
}

// save stores a draft and keeps the copy; a conflict drops the copy so
// the next move reads the store's. With an outbox, an unreachable store
// leaves the draft with this node, marked unsaved, for Run to save later.
func (s *Service) save(ctx context.Context, w *crm.WrapUp) error {
	err := s.o.Store.SaveWrapUp(ctx, w)
	switch {
	case err == nil:
		s.keep(w)
		s.fieldsMu.Lock()
		delete(s.dirty, w.CallID)
		s.fieldsMu.Unlock()
		return nil
	case s.o.Outbox != nil && outage(ctx, s.o.Store, err):
		s.keep(w)
		s.fieldsMu.Lock()
		s.dirty[w.CallID] = true
		s.fieldsMu.Unlock()
		s.log.WarnContext(ctx, "wrap-up answers kept on this node: the database did not take them", "call", w.CallID, "err", err)
		return nil
	case errors.Is(err, crm.ErrConflict):
		s.forget(w.CallID)
	}
	return err
}

// openDraft returns the call's draft for an agent who may change it.
func (s *Service) openDraft(ctx context.Context, a Agent, callID string) (*crm.WrapUp, error) {
	w, err := s.draft(ctx, callID)
	if err != nil {
		return nil, err
	}
	if err := s.owns(a, w); err != nil {
		return nil, err
	}
	if w.Done() {
		return nil, fmt.Errorf("call %s: the wrap-up is finished: %w", callID, crm.ErrConflict)
	}
	return w, nil
}

package wrapup

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tamas-cc/tamas/crm"
)

// outage reports whether err is the store being unreachable, as opposed to
// a refusal (invalid, conflicting, missing, or anything else a reachable
// database says no to).
func outage(ctx context.Context, store any, err error) bool {
	var fe *crm.FieldError
	if err == nil || ctx.Err() != nil || errors.As(err, &fe) || errors.Is(err, crm.ErrConflict) || errors.Is(err, crm.ErrNotFound) {
		return false
	}
	if p, ok := store.(interface{ Ping(context.Context) error }); ok {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return p.Ping(pctx) != nil
	}
	return true
}

// keepFinish puts a finish the database did not take in the outbox: the
// agent is done and free, Run writes it when the database returns.
func (s *Service) keepFinish(ctx context.Context, w *crm.WrapUp, cause error) (*Done, error) {
	// Cached first: once appended, Retry may write and forget it at once.
	prev, hadPrev := s.cached(w.CallID)
	s.keep(w) // done: later moves are refused
	if err := s.o.Outbox.Append(*w); err != nil {
		if hadPrev {
			s.keep(&prev)
		} else {
			s.forgetClean(w.CallID)
		}
		return nil, fmt.Errorf("finish wrap-up: %w (and the outbox: %v)", cause, err)
	}
	s.fieldsMu.Lock()
	delete(s.dirty, w.CallID)
	s.fieldsMu.Unlock()
	s.log.WarnContext(ctx, "wrap-up kept in the outbox: the database did not take it", "call", w.CallID, "err", cause)
	s.release(ctx, w.Agent)
	return &Done{WrapUp: w, Pending: true}, nil
}

// Run writes, until ctx ends, what an outage left: finishes from the
// outbox first, in order, then the answers this node kept.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.o.RetryEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pass, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := s.Retry(pass)
		cancel()
		if err != nil && ctx.Err() == nil {
			s.log.Debug("wrap-ups still waiting for the database", "err", err)
		}
	}
}

// Retry makes one pass of Run.
func (s *Service) Retry(ctx context.Context) error {
	if s.o.Outbox == nil {
		return nil
	}
	if s.o.Outbox.Len() > 0 {
		n, err := s.o.Outbox.Flush(ctx, s.applyKept)
		if err != nil {
			return err
		}
		if n > 0 {
			s.log.InfoContext(ctx, "wrap-ups written from the outbox", "count", n, "left", s.o.Outbox.Len())
		}
	}
	s.fieldsMu.Lock()
	var dirty []string
	for id := range s.dirty {
		dirty = append(dirty, id)
	}
	s.fieldsMu.Unlock()
	slices.Sort(dirty)
	for _, id := range dirty {
		if err := s.saveKept(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// applyKept writes one finish from the outbox. It returns an error only
// while the database is unreachable, so one finish the database refuses
// can never hold up the others: it goes to the refused file instead.
func (s *Service) applyKept(ctx context.Context, w crm.WrapUp) error {
	err := s.o.Store.FinishWrapUp(ctx, &w)
	if errors.Is(err, crm.ErrConflict) {
		cur, rerr := s.o.Store.WrapUp(ctx, w.CallID)
		if rerr != nil && outage(ctx, s.o.Store, rerr) {
			return rerr
		}
		if rerr == nil && cur.Done() {
			// Finished already: the first attempt did commit (its answer
			// was lost), or another node finished it.
			s.log.InfoContext(ctx, "wrap-up from the outbox was already finished", "call", w.CallID)
			s.forget(w.CallID)
			if cur.DoneAt.Equal(w.DoneAt) {
				s.finished(ctx, cur) // ours: nobody has heard of it yet
			}
			return nil
		}
		if rerr == nil {
			// A draft saved elsewhere after this node's copy: the agent's
			// finish is their last word on the call.
			w.Rev = cur.Rev
			if w.Notes == "" {
				w.Notes = cur.Notes
			}
			err = s.o.Store.FinishWrapUp(ctx, &w)
		}
	}
	if errors.Is(err, crm.ErrNotFound) && w.ContactID > 0 {
		// The contact was deleted meanwhile: the call's result is still
		// recorded; follow-ups need a contact and go with the refused.
		s.log.WarnContext(ctx, "wrap-up from the outbox: its contact is gone; written without it", "call", w.CallID,
			"contact", w.ContactID, "follow_ups_dropped", len(w.Tasks))
		if len(w.Tasks) > 0 {
			s.refuse(ctx, w, err)
		}
		w.ContactID, w.Tasks, w.Status = 0, nil, ""
		err = s.o.Store.FinishWrapUp(ctx, &w)
	}
	switch {
	case err == nil:
		s.log.InfoContext(ctx, "wrap-up written from the outbox", "call", w.CallID)
		s.forget(w.CallID)
		s.finished(ctx, &w)
		return nil
	case outage(ctx, s.o.Store, err):
		return err
	}
	s.refuse(ctx, w, err)
	s.forget(w.CallID)
	return nil
}

// refuse keeps a finish the database will not take, for an administrator.
func (s *Service) refuse(ctx context.Context, w crm.WrapUp, cause error) {
	s.log.ErrorContext(ctx, "wrap-up refused by the database; kept in the refused file", "call", w.CallID, "err", cause)
	if s.o.Refused == nil {
		return
	}
	if err := s.o.Refused.Append(w); err != nil {
		s.log.ErrorContext(ctx, "wrap-up refused and not kept", "call", w.CallID, "err", err)
	}
}

// saveKept saves the answers this node kept for a call through an outage.
func (s *Service) saveKept(ctx context.Context, callID string) error {
	defer s.lock(callID)()
	s.fieldsMu.Lock()
	w, ok := s.drafts[callID]
	still := s.dirty[callID]
	s.fieldsMu.Unlock()
	if !ok || !still || w.Done() {
		return nil
	}
	err := s.o.Store.SaveWrapUp(ctx, &w)
	switch {
	case err == nil:
		s.keep(&w)
		s.fieldsMu.Lock()
		delete(s.dirty, callID)
		s.fieldsMu.Unlock()
		s.log.InfoContext(ctx, "wrap-up answers kept through the outage saved", "call", callID)
	case errors.Is(err, crm.ErrConflict):
		s.log.WarnContext(ctx, "wrap-up answers kept through the outage were overtaken by another save", "call", callID)
		s.forget(callID)
	case outage(ctx, s.o.Store, err):
		return err
	default:
		s.log.ErrorContext(ctx, "wrap-up answers kept through the outage refused", "call", callID, "err", err)
		s.forget(callID)
	}
	return nil
}

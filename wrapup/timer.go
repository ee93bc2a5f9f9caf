package wrapup

import (
	"context"
	"time"
)

func (s *Service) wrapUpTime(queue string) time.Duration {
	if d, ok := s.o.QueueWrapUp[queue]; ok {
		return d
	}
	return s.o.WrapUpTime
}

// CallEnded puts the agent who took a call into wrap-up, and back to
// available after the queue's wrap-up time unless they chose another
// state meanwhile.
func (s *Service) CallEnded(ctx context.Context, username, queue string) {
	if username == "" || s.o.Presence == nil {
		return
	}
	if s.o.Presence.State(username) != "available" {
		return // on break or offline: leave the agent's choice alone
	}
	s.setState(ctx, username, "wrapup")
	d := s.wrapUpTime(queue)
	if d <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.timers[username]; t != nil {
		t.Stop()
	}
	var timer *time.Timer
	timer = time.AfterFunc(d, func() {
		s.mu.Lock()
		current := s.timers[username] == timer
		if current {
			delete(s.timers, username)
		}
		s.mu.Unlock()
		// A timer replaced by a later call's does nothing: that one decides.
		if current && s.o.Presence.State(username) == "wrapup" {
			s.setState(context.WithoutCancel(ctx), username, "available")
		}
	})
	s.timers[username] = timer
}

// release makes an agent in wrap-up available now.
func (s *Service) release(ctx context.Context, username string) {
	s.mu.Lock()
	if t := s.timers[username]; t != nil {
		t.Stop()
		delete(s.timers, username)
	}
	s.mu.Unlock()
	if s.o.Presence != nil && s.o.Presence.State(username) == "wrapup" {
		s.setState(ctx, username, "available")
	}
}

func (s *Service) setState(ctx context.Context, username, state string) {
	if err := s.o.Presence.SetState(ctx, username, state); err != nil {
		s.log.WarnContext(ctx, "wrap-up: agent state not published", "user", username, "err", err)
	}
}

// Close stops pending wrap-up timers.
func (s *Service) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for u, t := range s.timers {
		t.Stop()
		delete(s.timers, u)
	}
}

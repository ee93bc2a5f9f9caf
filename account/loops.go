package account

import (
	"context"
	"log/slog"
	"time"
)

// Endpoints maps each enabled user's phone (PBX endpoint) to their
// username.
func (s *Service) Endpoints(ctx context.Context) (map[string]string, error) {
	users, err := s.store.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(users))
	for _, u := range users {
		if u.Endpoint != "" && !u.Disabled {
			m[u.Endpoint] = u.Username
		}
	}
	return m, nil
}

// SweepSessions removes expired sessions every interval until ctx ends:
// lookups already refuse them, this only keeps the table small.
func (s *Service) SweepSessions(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := s.store.DeleteExpiredSessions(ctx, time.Now()); err == nil && n > 0 {
				log.Info("expired sessions removed", "count", n)
			}
		}
	}
}

package dispatch

import (
	"sync"
	"time"
)

// maxKeys bounds the keys a LogLimiter remembers. Keys are a small fixed
// set in practice; this only keeps a bug from growing it without end.
const maxKeys = 1024

// LogLimiter lets through a burst of log lines per key per interval, so
// that a flood (garbage from the network, a handler that fell behind) is
// counted in full in metrics but logged in sample. The line let through
// after a quiet spell says how many were held back.
type LogLimiter struct {
	interval time.Duration
	burst    int

	mu   sync.Mutex
	keys map[string]*window
}

type window struct {
	start      time.Time
	n          int // lines let through since start
	suppressed int // lines held back since the last one let through
}

// NewLogLimiter lets burst lines per key through in each interval, the
// interval starting at the first line let through after the last one ended.
func NewLogLimiter(interval time.Duration, burst int) *LogLimiter {
	return &LogLimiter{interval: interval, burst: max(burst, 1), keys: map[string]*window{}}
}

// Allow reports whether a line under key may be logged at now, and if so
// how many lines under key were held back before it.
func (l *LogLimiter) Allow(key string, now time.Time) (ok bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.keys[key]
	if w == nil {
		if len(l.keys) >= maxKeys {
			clear(l.keys)
		}
		w = &window{start: now}
		l.keys[key] = w
	} else if now.Sub(w.start) >= l.interval {
		w.start, w.n = now, 0
	}
	if w.n >= l.burst {
		w.suppressed++
		return false, 0
	}
	w.n++
	suppressed, w.suppressed = w.suppressed, 0
	return true, suppressed
}

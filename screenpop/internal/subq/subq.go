// Package subq runs one bus subscription's callback: in order, never two
// at once, on a goroutine that exists only while messages wait, so a
// publisher never runs subscriber code and an idle subscription costs no
// goroutine. Both buses use it.
package subq

import (
	"sync"

	"github.com/tamas-cc/tamas/screenpop"
)

// Sub is one subscription's queue.
type Sub struct {
	fn      func(screenpop.Message)
	mu      sync.Mutex
	q       []screenpop.Message
	running bool
	stopped bool
}

// New returns a queue delivering to fn.
func New(fn func(screenpop.Message)) *Sub { return &Sub{fn: fn} }

// Push queues m and starts delivery if none is running. It never blocks on
// the callback.
func (s *Sub) Push(m screenpop.Message) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.q = append(s.q, m)
	start := !s.running
	s.running = true
	s.mu.Unlock()
	if start {
		go s.run()
	}
}

func (s *Sub) run() {
	for {
		s.mu.Lock()
		if len(s.q) == 0 || s.stopped {
			s.q, s.running = nil, false
			s.mu.Unlock()
			return
		}
		m := s.q[0]
		s.q[0] = screenpop.Message{}
		s.q = s.q[1:]
		s.mu.Unlock()
		s.fn(m)
	}
}

// Stop drops what is queued and delivers nothing more; a callback already
// running finishes.
func (s *Sub) Stop() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
}

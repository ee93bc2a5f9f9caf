package callgen

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// stats gathers the outcome of every call of a run.
type stats struct {
	mu          sync.Mutex
	s           Summary
	ring        []time.Duration
	final       []time.Duration
	first, last time.Time // INVITEs sent
}

const maxErrors = 5

func (st *stats) with(f func(s *Summary)) {
	st.mu.Lock()
	defer st.mu.Unlock()
	f(&st.s)
}

// placed counts an INVITE sent at t.
func (st *stats) placed(t time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.s.Placed++
	if st.first.IsZero() {
		st.first = t
	}
	st.last = t
}

func (st *stats) answered()  { st.with(func(s *Summary) { s.Answered++ }) }
func (st *stats) rejected()  { st.with(func(s *Summary) { s.Rejected++ }) }
func (st *stats) cancelled() { st.with(func(s *Summary) { s.Cancelled++ }) }

func (st *stats) failed(err error) {
	st.with(func(s *Summary) {
		s.Failed++
		addError(s, err)
	})
}

// note keeps an error that did not fail the call (a lost INFO, say).
func (st *stats) note(err error) { st.with(func(s *Summary) { addError(s, err) }) }

func addError(s *Summary, err error) {
	if err != nil && len(s.Errors) < maxErrors {
		s.Errors = append(s.Errors, err.Error())
	}
}

// responses records the timings of one INVITE.
func (st *stats) responses(sent, ring, final time.Time, code int, cancelledByUs bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !ring.IsZero() {
		st.s.Ringing++
		st.ring = append(st.ring, ring.Sub(sent))
	}
	if code > 0 {
		if st.s.Codes == nil {
			st.s.Codes = map[int]int{}
		}
		st.s.Codes[code]++
	}
	if !final.IsZero() && !cancelledByUs {
		st.final = append(st.final, final.Sub(sent))
	}
}

func (st *stats) summary() Summary {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.s
	if s.Placed > 1 {
		s.Rate = float64(s.Placed-1) / st.last.Sub(st.first).Seconds()
	}
	s.Ring = summarize(st.ring)
	s.Final = summarize(st.final)
	return s
}

// summarize computes nearest-rank percentiles.
func summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	d := slices.Clone(ds)
	slices.Sort(d)
	rank := func(q float64) time.Duration {
		i := int(q*float64(len(d))+0.999999) - 1
		return d[max(0, min(i, len(d)-1))]
	}
	return Latency{N: len(d), P50: rank(0.50), P90: rank(0.90), P99: rank(0.99), Max: d[len(d)-1]}
}

func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

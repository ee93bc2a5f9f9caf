package main

import (
	"fmt"
	"strings"
	"time"
)

// progress draws a one-line bar on a terminal and nothing elsewhere, so
// logs and pipes stay clean.
type progress struct {
	e     env
	label string
	total int64
	last  time.Time
	start time.Time
}

func newProgress(e env, label string, total int64) *progress {
	return &progress{e: e, label: label, total: total, start: time.Now()}
}

func (p *progress) set(n int64) {
	if !p.e.isTerminal || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	rate := float64(n) / time.Since(p.start).Seconds()
	if p.total <= 0 {
		fmt.Fprintf(p.e.stderr, "\r%s %d (%.0f/s)   ", p.label, n, rate)
		return
	}
	frac := min(float64(n)/float64(p.total), 1)
	const width = 30
	fill := int(frac * width)
	fmt.Fprintf(p.e.stderr, "\r%s [%s%s] %3.0f%% %d/%d (%.0f/s)   ", p.label,
		strings.Repeat("=", fill), strings.Repeat(" ", width-fill), frac*100, n, p.total, rate)
}

func (p *progress) done() {
	if p.e.isTerminal {
		fmt.Fprint(p.e.stderr, "\r\033[K")
	}
}

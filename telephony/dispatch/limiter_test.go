package dispatch

import (
	"fmt"
	"testing"
	"time"
)

func TestLogLimiterBurstPerInterval(t *testing.T) {
	l := NewLogLimiter(time.Second, 3)
	t0 := time.Unix(1000, 0)
	for i := range 3 {
		if ok, n := l.Allow("k", t0.Add(time.Duration(i)*time.Millisecond)); !ok || n != 0 {
			t.Fatalf("line %d: ok=%v suppressed=%d, want let through", i, ok, n)
		}
	}
	for i := range 5 {
		if ok, _ := l.Allow("k", t0.Add(500*time.Millisecond+time.Duration(i))); ok {
			t.Fatalf("line %d past the burst let through", 3+i)
		}
	}
	// Just before the interval ends: still held back.
	if ok, _ := l.Allow("k", t0.Add(time.Second-time.Nanosecond)); ok {
		t.Fatal("line let through before the interval ended")
	}
	ok, n := l.Allow("k", t0.Add(time.Second))
	if !ok || n != 6 {
		t.Fatalf("after the interval: ok=%v suppressed=%d, want true, 6", ok, n)
	}
	if ok, n := l.Allow("k", t0.Add(time.Second+1)); !ok || n != 0 {
		t.Fatalf("second line of the new interval: ok=%v suppressed=%d", ok, n)
	}
}

func TestLogLimiterIntervalStartsAtFirstLineAfterQuiet(t *testing.T) {
	// With a burst of one, a line is let through only when a full interval
	// has passed since the last one let through.
	l := NewLogLimiter(10*time.Second, 1)
	t0 := time.Unix(1000, 0)
	l.Allow("k", t0)
	if ok, _ := l.Allow("k", t0.Add(9*time.Second)); ok {
		t.Fatal("let through 9 s after the last line")
	}
	if ok, n := l.Allow("k", t0.Add(25*time.Second)); !ok || n != 1 {
		t.Fatalf("25 s later: ok=%v suppressed=%d, want true, 1", ok, n)
	}
	if ok, _ := l.Allow("k", t0.Add(34*time.Second)); ok {
		t.Fatal("let through 9 s after the last line")
	}
	if ok, n := l.Allow("k", t0.Add(35*time.Second)); !ok || n != 1 {
		t.Fatalf("35 s: ok=%v suppressed=%d, want true, 1", ok, n)
	}
}

func TestLogLimiterKeysAreIndependent(t *testing.T) {
	l := NewLogLimiter(time.Minute, 1)
	now := time.Unix(1000, 0)
	if ok, _ := l.Allow("a", now); !ok {
		t.Fatal("first a held back")
	}
	if ok, _ := l.Allow("a", now); ok {
		t.Fatal("second a let through")
	}
	if ok, n := l.Allow("b", now); !ok || n != 0 {
		t.Fatalf("first b: ok=%v suppressed=%d: a's flood must not silence b", ok, n)
	}
}

func TestLogLimiterForgetsBeyondMaxKeys(t *testing.T) {
	l := NewLogLimiter(time.Minute, 1)
	now := time.Unix(1000, 0)
	for i := range 3 * maxKeys {
		l.Allow(fmt.Sprint(i), now)
	}
	l.mu.Lock()
	n := len(l.keys)
	l.mu.Unlock()
	if n > maxKeys {
		t.Errorf("remembers %d keys, want at most %d", n, maxKeys)
	}
}

package account

import (
	"fmt"
	"testing"
	"time"
)

func TestFailuresLockAndAgeOut(t *testing.T) {
	f := newFailures(100, 3, time.Minute)
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	keys := []string{"u:ali", "ip:192.0.2.1"}
	for i := range 3 {
		if f.locked(keys, t0) {
			t.Fatalf("locked after %d failures", i)
		}
		f.add(keys, t0.Add(time.Duration(i)*time.Second))
	}
	if !f.locked(keys, t0.Add(10*time.Second)) || !f.locked(keys[1:], t0.Add(10*time.Second)) {
		t.Fatal("not locked after 3 failures")
	}
	// The first failure ages out a minute later, and with it the lockout.
	if f.locked(keys, t0.Add(time.Minute)) {
		t.Fatal("still locked once the oldest failure left the window")
	}
	// However many failures a key collects, it keeps only the newest few.
	for i := range 1000 {
		f.add(keys[:1], t0.Add(time.Duration(i)*time.Millisecond))
	}
	if n := len(f.m["u:ali"]); n > 3 {
		t.Fatalf("one key keeps %d timestamps", n)
	}
	f.clear("u:ali")
	if f.locked(keys[:1], t0.Add(2*time.Second)) {
		t.Fatal("cleared key still locked")
	}
}

func TestFailuresBounded(t *testing.T) {
	f := newFailures(100, 5, time.Minute)
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	for i := range 10_000 {
		f.add([]string{fmt.Sprint("ip:", i)}, t0)
		if n := f.size(); n > 100 {
			t.Fatalf("%d keys after %d distinct failures, want at most 100", n, i+1)
		}
	}
	// Once the window has passed, every stale key goes at the next sweep
	// and current ones stay.
	f.add([]string{"ip:fresh"}, t0.Add(time.Hour))
	for i := range 50 {
		f.add([]string{fmt.Sprint("ip:new", i)}, t0.Add(time.Hour))
	}
	if _, ok := f.m["ip:fresh"]; !ok || f.size() != 51 {
		t.Fatalf("%d keys (fresh kept: %v), want the 51 current ones", f.size(), ok)
	}
}

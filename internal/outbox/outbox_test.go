package outbox_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/tamas-cc/tamas/internal/outbox"
)

type change struct {
	N    int    `json:"n"`
	Text string `json:"text"`
}

func TestOrderAndStop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "box.jsonl")
	o, err := outbox.Open[change](path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := o.Append(change{N: i, Text: "<b>ü</b>"}); err != nil {
			t.Fatal(err)
		}
	}
	down := errors.New("database down")
	var applied []int
	n, err := o.Flush(context.Background(), func(_ context.Context, c change) error {
		if c.N == 3 {
			return down
		}
		applied = append(applied, c.N)
		return nil
	})
	if n != 3 || !errors.Is(err, down) || !slices.Equal(applied, []int{0, 1, 2}) || o.Len() != 2 {
		t.Fatalf("flush = %d, %v, applied %v, left %d", n, err, applied, o.Len())
	}
	o.Close()
	// What waits survives a restart, in order.
	o, err = outbox.Open[change](path)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	applied = nil
	if n, err := o.Flush(context.Background(), func(_ context.Context, c change) error {
		applied = append(applied, c.N)
		if c.Text != "<b>ü</b>" {
			t.Errorf("text = %q", c.Text)
		}
		return nil
	}); n != 2 || err != nil || !slices.Equal(applied, []int{3, 4}) {
		t.Fatalf("after reopening: %d %v %v", n, err, applied)
	}
	if b, _ := os.ReadFile(path); len(b) != 0 {
		t.Fatalf("the file still holds %q", b)
	}
}

func TestTornLastLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "box.jsonl")
	if err := os.WriteFile(path, []byte("{\"n\":1}\n{\"n\":2}\n{\"n\":3,\"te"), 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := outbox.Open[change](path)
	if err != nil {
		t.Fatal(err)
	}
	if o.Len() != 2 {
		t.Fatalf("%d changes kept, want the 2 whole ones", o.Len())
	}
	if err := o.Append(change{N: 4}); err != nil {
		t.Fatal(err)
	}
	o.Close()
	o, err = outbox.Open[change](path)
	if err != nil || o.Len() != 3 {
		t.Fatalf("after appending past a torn line: %d (%v)", o.Len(), err)
	}
	o.Close()
}

// What waits is customers' data: the file is the owner's alone, including
// one an earlier version left readable and the rewrite after a flush, even
// over a temporary file a crash left behind.
func TestFileIsOwnerOnly(t *testing.T) {
	defer syscall.Umask(syscall.Umask(0o022))
	dir := t.TempDir()
	mode := func(p string) os.FileMode {
		t.Helper()
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	fresh := filepath.Join(dir, "fresh.jsonl")
	o, err := outbox.Open[change](fresh)
	if err != nil {
		t.Fatal(err)
	}
	o.Close()
	if m := mode(fresh); m != 0o600 {
		t.Errorf("new outbox: mode %v", m)
	}

	old := filepath.Join(dir, "old.jsonl")
	if err := os.WriteFile(old, []byte("{\"n\":1}\n{\"n\":2}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(old+".tmp", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	o, err = outbox.Open[change](old)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if m := mode(old); m != 0o600 {
		t.Errorf("outbox left readable by an earlier run: mode %v", m)
	}
	stop := errors.New("stop")
	if n, err := o.Flush(context.Background(), func(_ context.Context, c change) error {
		if c.N == 2 {
			return stop
		}
		return nil
	}); n != 1 || !errors.Is(err, stop) {
		t.Fatalf("flush = %d, %v", n, err)
	}
	if m := mode(old); m != 0o600 {
		t.Errorf("outbox rewritten after a flush: mode %v", m)
	}
}

// Package outbox keeps changes the database could not take: each is
// appended to a file and synced before Append returns, and Flush applies
// them in the order they came, so a database outage loses no change and
// reorders none. A crash mid-append leaves at most a torn last line, which
// the next Open cuts off.
package outbox

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
)

// FileMode is the outbox file's mode: what waits in it are customers' calls
// and agents' notes, for the owner's eyes only.
const FileMode os.FileMode = 0o600

// ownerOnly narrows f to FileMode if an earlier version left it wider.
func ownerOnly(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&^FileMode != 0 {
		return f.Chmod(FileMode)
	}
	return nil
}

// Outbox is a durable queue of T, one JSON line each.
type Outbox[T any] struct {
	path    string
	mu      sync.Mutex
	f       *os.File
	pending []T
}

// Open opens (creating if needed) the outbox file and reads what an
// earlier run left in it.
func Open[T any](path string) (*Outbox[T], error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, FileMode)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	if err := ownerOnly(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("outbox: %w", err)
	}
	o := &Outbox[T]{path: path, f: f}
	torn := false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var v T
		if err := json.Unmarshal(line, &v); err != nil {
			// A torn last line (a crash mid-write) is the only way to get
			// here; what came before it is intact.
			torn = true
			break
		}
		o.pending = append(o.pending, v)
	}
	if err := sc.Err(); err != nil {
		f.Close()
		return nil, fmt.Errorf("outbox %s: %w", path, err)
	}
	if torn {
		// Cut the torn line off, or the next append would be glued to it.
		if err := o.rewrite(); err != nil {
			o.f.Close()
			return nil, err
		}
	}
	return o, nil
}

// Len is how many changes wait.
func (o *Outbox[T]) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.pending)
}

// Append keeps a change durably until Flush applies it.
func (o *Outbox[T]) Append(v T) error {
	line, err := json.Marshal(v)
	if err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	end, err := o.f.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if _, err := o.f.Write(append(line, '\n')); err != nil {
		// Cut off a partial line: the next append must not be glued to it,
		// or a restart would take both for a torn tail.
		_ = o.f.Truncate(end)
		return fmt.Errorf("outbox: %w", err)
	}
	if err := o.f.Sync(); err != nil {
		_ = o.f.Truncate(end)
		return fmt.Errorf("outbox: %w", err)
	}
	o.pending = append(o.pending, v)
	return nil
}

// Flush applies waiting changes in order and stops at the first apply
// fails; the file then holds exactly what still waits. apply returns nil
// for a change that is done with (written, or refused for good and
// reported by apply itself).
func (o *Outbox[T]) Flush(ctx context.Context, apply func(context.Context, T) error) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	done := 0
	var ferr error
	for _, v := range o.pending {
		if err := apply(ctx, v); err != nil {
			ferr = err
			break
		}
		done++
	}
	if done == 0 {
		return 0, ferr
	}
	o.pending = o.pending[done:]
	if err := o.rewrite(); err != nil {
		return done, err
	}
	return done, ferr
}

// rewrite replaces the file with what still waits, atomically.
func (o *Outbox[T]) rewrite() error {
	tmp := o.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, FileMode)
	if err == nil {
		err = ownerOnly(f) // a file left by a crash keeps its mode
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		return fmt.Errorf("outbox: %w", err)
	}
	w := bufio.NewWriter(f)
	for _, v := range o.pending {
		line, _ := json.Marshal(v)
		w.Write(append(line, '\n'))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("outbox: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("outbox: %w", err)
	}
	f.Close()
	if err := os.Rename(tmp, o.path); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	o.f.Close()
	o.f, err = os.OpenFile(o.path, os.O_RDWR|os.O_APPEND, FileMode)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	_, _ = o.f.Seek(0, io.SeekEnd)
	return nil
}

// Close closes the file; what waits stays in it for the next run.
func (o *Outbox[T]) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.f.Close()
}

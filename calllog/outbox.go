package calllog

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/tamas-cc/tamas/crm"
)

// Outbox keeps call activities the database could not take: each is
// appended to a file and synced before Append returns, and Flush writes
// them to the store in the order they came, so a database outage loses no
// call and reorders none.
type Outbox struct {
	path    string
	mu      sync.Mutex
	f       *os.File
	pending []crm.Activity
}

// OpenOutbox opens (creating if needed) the outbox file and reads what an
// earlier run left in it.
func OpenOutbox(path string) (*Outbox, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	o := &Outbox{path: path, f: f}
	torn := false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var a crm.Activity
		if err := json.Unmarshal(line, &a); err != nil {
			// A torn last line (a crash mid-write) is the only way to get
			// here; what came before it is intact.
			torn = true
			break
		}
		o.pending = append(o.pending, a)
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

// Len is how many activities wait.
func (o *Outbox) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.pending)
}

// Append keeps an activity durably until Flush writes it.
func (o *Outbox) Append(a crm.Activity) error {
	line, err := json.Marshal(a)
	if err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, err := o.f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if err := o.f.Sync(); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	o.pending = append(o.pending, a)
	return nil
}

// Flush writes waiting activities in order and stops at the first the
// store cannot take; the file then holds exactly what still waits. An
// activity the store already has (a replay) counts as written.
func (o *Outbox) Flush(ctx context.Context, store crm.ActivityStore) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	done := 0
	var ferr error
	for _, a := range o.pending {
		err := store.AddActivity(ctx, &a)
		if errors.Is(err, crm.ErrNotFound) && a.Kind == crm.ActivityCall {
			// The contact was deleted meanwhile: the call is still logged.
			a.ContactID = 0
			err = store.AddActivity(ctx, &a)
		}
		var fe *crm.FieldError
		if err != nil && !errors.Is(err, crm.ErrConflict) && !errors.As(err, &fe) {
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
func (o *Outbox) rewrite() error {
	tmp := o.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	w := bufio.NewWriter(f)
	for _, a := range o.pending {
		line, _ := json.Marshal(a)
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
	o.f, err = os.OpenFile(o.path, os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	_, _ = o.f.Seek(0, io.SeekEnd)
	return nil
}

// Close closes the file; what waits stays in it for the next run.
func (o *Outbox) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.f.Close()
}

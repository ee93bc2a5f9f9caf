package calllog

import (
	"context"
	"errors"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/outbox"
)

// Outbox keeps call activities the database could not take, on disk and in
// order, until it takes them again.
type Outbox struct {
	*outbox.Outbox[crm.Activity]
}

// OpenOutbox opens (creating if needed) the outbox file and reads what an
// earlier run left in it.
func OpenOutbox(path string) (*Outbox, error) {
	o, err := outbox.Open[crm.Activity](path)
	if err != nil {
		return nil, err
	}
	return &Outbox{o}, nil
}

// Flush writes waiting activities in order and stops at the first the
// store cannot take. An activity the store already has (a replay) counts as
// written; one it refuses as invalid is dropped. written, when set, hears
// of each activity the store took, as stored.
func (o *Outbox) Flush(ctx context.Context, store crm.ActivityStore, written func(crm.Activity)) (int, error) {
	return o.Outbox.Flush(ctx, func(ctx context.Context, a crm.Activity) error {
		err := store.AddActivity(ctx, &a)
		if errors.Is(err, crm.ErrNotFound) && a.Kind == crm.ActivityCall {
			// The contact was deleted meanwhile: the call is still logged.
			a.ContactID = 0
			err = store.AddActivity(ctx, &a)
		}
		var fe *crm.FieldError
		if err != nil && !errors.Is(err, crm.ErrConflict) && !errors.As(err, &fe) {
			return err
		}
		if err == nil && written != nil {
			written(a)
		}
		return nil
	})
}

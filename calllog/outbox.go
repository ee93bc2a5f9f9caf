package calllog

import (
	"context"
	"errors"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/internal/outbox"
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

// FlushHooks are told about a flush's activities; any may be nil.
type FlushHooks struct {
	// Prepare may complete an activity before it is written (its contact,
	// when the lookup failed with the database).
	Prepare func(ctx context.Context, a *crm.Activity)
	// Written hears of each activity the store took, as stored.
	Written func(a crm.Activity)
	// Refused hears of each activity the store refused as invalid; it is
	// dropped.
	Refused func(a crm.Activity, err error)
}

// Flush writes waiting activities in order and stops at the first the
// store cannot take. An activity the store already has (a replay) counts as
// written; one it refuses as invalid is dropped.
func (o *Outbox) Flush(ctx context.Context, store Adder, h FlushHooks) (int, error) {
	return o.Outbox.Flush(ctx, func(ctx context.Context, a crm.Activity) error {
		if h.Prepare != nil {
			h.Prepare(ctx, &a)
		}
		err := addCallActivity(ctx, store, &a)
		var fe *crm.FieldError
		switch {
		case err == nil:
			if h.Written != nil {
				h.Written(a)
			}
		case errors.As(err, &fe):
			if h.Refused != nil {
				h.Refused(a, err)
			}
		case !errors.Is(err, crm.ErrConflict):
			return err
		}
		return nil
	})
}

package screenpop

import (
	"context"
	"errors"
	"time"
)

// Message is one publication on a channel. Seq numbers a channel's
// messages 1, 2, 3… within an Epoch; a new epoch (the history was lost: a
// node restart for the in-process bus, a flushed Redis) starts again, and a
// console that saw another epoch must start afresh.
type Message struct {
	Channel string
	Epoch   string
	Seq     uint64
	// Time is when the bus accepted the message.
	Time time.Time
	Data []byte
}

// Position is where a channel stands: its epoch and the last seq published.
type Position struct {
	Epoch string
	Seq   uint64
}

// ErrHistoryGone is returned by History when messages after the asked-for
// seq are no longer retained (or the epoch changed): the caller cannot
// catch up message by message and must start afresh.
var ErrHistoryGone = errors.New("screenpop: history no longer retained")

// Retention bounds what a bus keeps for catching up: at most Messages per
// channel, none older than Age.
type Retention struct {
	Messages int
	Age      time.Duration
}

// DefaultRetention keeps 15 minutes or 500 messages per channel.
var DefaultRetention = Retention{Messages: 500, Age: 15 * time.Minute}

// Bus carries pops and other console messages to whichever node holds the
// console. Channels are named by the publisher ("user:42", "role:supervisor").
// Implementations: the in-process bus (one node) and screenpop/redisbus
// (several nodes sharing Redis).
type Bus interface {
	// Publish appends data to the channel's history, numbers it, and
	// delivers it to every subscriber on every node.
	Publish(ctx context.Context, channel string, data []byte) (Message, error)
	// Subscribe delivers the channel's new messages to fn, in seq order,
	// from one goroutine per subscription: a slow fn delays its own
	// subscription only, never the bus or other subscribers. Messages the
	// bus could not deliver live (a broken connection to Redis) are not
	// replayed by the bus: the subscriber notices the gap in Seq and reads
	// History. When live delivery may have missed messages with nothing
	// after them to show the gap (the connection came back), the bus calls
	// fn with a Message whose Seq is 0 and Data nil: catch up from History.
	// Cancel stops delivery.
	Subscribe(ctx context.Context, channel string, fn func(Message)) (cancel func(), err error)
	// History returns the retained messages with Seq > after in the given
	// epoch, oldest first, at most limit (0: all retained), and the
	// channel's position. It returns ErrHistoryGone when the epoch differs
	// or messages after `after` were dropped. An empty epoch means a caller
	// that saw nothing yet: it gets the newest limit retained messages and
	// never ErrHistoryGone.
	History(ctx context.Context, channel string, epoch string, after uint64, limit int) ([]Message, Position, error)
	// Position returns the channel's current epoch and last seq.
	Position(ctx context.Context, channel string) (Position, error)
	Close() error
}

package telephony

import (
	"context"
	"errors"
	"time"
)

// ErrCallGone is returned by call control when the call no longer exists:
// the caller hung up between the event and the command. It is routine, not
// a failure.
var ErrCallGone = errors.New("call gone")

// Handler receives call events. It is called from the source's goroutine and
// must return quickly.
type Handler func(ctx context.Context, ev Event)

// Source produces call events until its context is cancelled.
type Source interface {
	// Run connects and delivers events to h until ctx ends or a fatal error
	// occurs; transient PBX outages are retried inside Run.
	Run(ctx context.Context, h Handler) error
}

// SnoopMode is how a supervisor joins a call.
type SnoopMode string

const (
	// Listen: the supervisor hears both sides, nobody hears the supervisor.
	Listen SnoopMode = "listen"
	// Whisper: the agent hears the supervisor, the customer does not.
	Whisper SnoopMode = "whisper"
	// Barge: everyone hears everyone.
	Barge SnoopMode = "barge"
)

// CollectOptions bounds digit collection for IVR menus.
type CollectOptions struct {
	MaxDigits  int
	Terminator string        // e.g. "#"
	Timeout    time.Duration // overall
	InterDigit time.Duration
}

// Control is what the product asks of a PBX. Implementations return
// ErrCallGone (wrapped) when the call has already ended.
type Control interface {
	Answer(ctx context.Context, callID string) error
	Ring(ctx context.Context, callID string) error
	// Play plays a prompt (a sound name such as "sound:hello-world") and
	// returns when it finished or ctx ended.
	Play(ctx context.Context, callID, media string) error
	// Collect gathers DTMF digits.
	Collect(ctx context.Context, callID string, opts CollectOptions) (string, error)
	Hangup(ctx context.Context, callID, cause string) error
	// Originate places a call to an endpoint (e.g. "PJSIP/agent1000")
	// presenting callerID, and returns the new call's ID.
	Originate(ctx context.Context, endpoint, callerID string) (string, error)
	// Bridge connects two calls.
	Bridge(ctx context.Context, callA, callB string) error
	// Snoop lets a supervisor's endpoint listen, whisper or barge into a
	// call, and returns the supervisor leg's ID.
	Snoop(ctx context.Context, callID, supervisorEndpoint string, mode SnoopMode) (string, error)
}

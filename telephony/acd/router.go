package acd

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// Options configure a Router.
type Options struct {
	// Node names this node in the callers it enqueues and the offers it
	// makes.
	Node   string
	Logger *slog.Logger
	// Seed seeds the random strategy; zero seeds it at random.
	Seed uint64
	// Snapshots bounds how many fresh snapshots one Next takes after lost
	// races before giving up with ErrContended (8 when zero).
	Snapshots int
	// Tries bounds the candidates one snapshot is tried with (3 when zero).
	Tries int
}

// Router decides offers for a node: the driver calls Next whenever a
// caller was queued or an agent became free, and reports back what the
// offered agents did. Every state change goes through the Store, so
// routers of several nodes may share one store. A Router is safe for
// concurrent use.
type Router struct {
	store  Store
	o      Options
	log    *slog.Logger
	queues map[string]*route
	lines  map[string]string
	order  []string

	rndMu sync.Mutex
	rnd   *rand.Rand
}

// NewRouter returns a router for cfg's queues on store.
func NewRouter(store Store, cfg Config, o Options) (*Router, error) {
	if store == nil {
		return nil, errors.New("acd: router without a store")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if o.Node == "" {
		return nil, errors.New("acd: router without a node name")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Snapshots <= 0 {
		o.Snapshots = 8
	}
	if o.Tries <= 0 {
		o.Tries = 3
	}
	seed := o.Seed
	if seed == 0 {
		var b [8]byte
		_, _ = crand.Read(b[:])
		seed = binary.LittleEndian.Uint64(b[:])
	}
	r := &Router{store: store, o: o, log: o.Logger, queues: map[string]*route{}, lines: map[string]string{},
		rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	for i := range cfg.Queues {
		q := cfg.Queues[i]
		r.queues[q.Name] = newRoute(&q)
		r.order = append(r.order, q.Name)
		for _, l := range q.Lines {
			r.lines[l] = q.Name
		}
	}
	return r, nil
}

// shuffle is the random strategy's, safe for concurrent routes.
func (r *Router) shuffle(n int, swap func(i, j int)) {
	r.rndMu.Lock()
	defer r.rndMu.Unlock()
	r.rnd.Shuffle(n, swap)
}

// Store is the store the router works on.
func (r *Router) Store() Store { return r.store }

// Queue returns a queue's settings.
func (r *Router) Queue(name string) (Queue, bool) {
	q, ok := r.queues[name]
	if !ok {
		return Queue{}, false
	}
	return *q.Queue, true
}

// QueueForLine returns the queue serving a line or DID.
func (r *Router) QueueForLine(line string) (Queue, bool) {
	return r.Queue(r.lines[line])
}

// QueuesOf lists, in configuration order, the queues agent a may serve at
// some level: those to call Next on when a becomes free.
func (r *Router) QueuesOf(a Agent) []string {
	var out []string
	for _, n := range r.order {
		q := r.queues[n]
		if q.Serves(&a, q.MinLevel(time.Duration(1<<62))) {
			out = append(out, n)
		}
	}
	return out
}

func (r *Router) queue(name string) (*route, error) {
	q, ok := r.queues[name]
	if !ok {
		return nil, fmt.Errorf("acd: no queue %q: %w", name, ErrNotFound)
	}
	return q, nil
}

// Enqueue puts a caller in a queue, placed by the queue's priority rules
// from what the CRM knows of them.
func (r *Router) Enqueue(ctx context.Context, queue, callID string, f Facts) (Caller, error) {
	q, err := r.queue(queue)
	if err != nil {
		return Caller{}, err
	}
	return r.store.Enqueue(ctx, Entry{ID: callID, Queue: q.Name, Node: r.o.Node, Ahead: q.Ahead(f)})
}

// Next offers the queue's first waiting caller to the agent(s) its
// strategy picks. ok is false when nobody waits or nobody eligible is
// free. A lost race is retried with the next candidate, then with a fresh
// snapshot; ErrContended after o.Snapshots of them.
func (r *Router) Next(ctx context.Context, queue string) (o Offer, ok bool, err error) {
	q, err := r.queue(queue)
	if err != nil {
		return Offer{}, false, err
	}
	for range r.o.Snapshots {
		s, err := r.store.Snapshot(ctx, q.Name)
		if err != nil {
			return Offer{}, false, err
		}
		groups := q.candidates(&s, r.shuffle)
		if len(groups) == 0 {
			return Offer{}, false, nil
		}
	tries:
		for i, g := range groups {
			if i == r.o.Tries {
				break
			}
			o, err := r.store.Claim(ctx, Claim{Queue: q.Name, Caller: s.Head.ID, Agents: g, Node: r.o.Node})
			switch {
			case err == nil:
				o.RingTimeout = q.RingTimeout
				return o, true, nil
			case errors.Is(err, ErrAgentsBusy):
				continue
			case errors.Is(err, ErrNotHead), errors.Is(err, ErrNotFound):
				break tries
			default:
				return Offer{}, false, err
			}
		}
	}
	return Offer{}, false, fmt.Errorf("acd: next in %s: %w", q.Name, ErrContended)
}

// Answer gives an offered call to the agent who answered it.
func (r *Router) Answer(ctx context.Context, ref OfferRef, agent string) (Answered, error) {
	return r.store.Answer(ctx, ref, agent)
}

// Decline reports an offered agent who did not take the call, counting
// misses against the queue's max_misses.
func (r *Router) Decline(ctx context.Context, ref OfferRef, agent string, why Outcome) (Declined, error) {
	q, err := r.queue(ref.Queue)
	if err != nil {
		return Declined{}, err
	}
	return r.store.Decline(ctx, ref, agent, why, q.MaxMisses)
}

// Finish ends an answered call, starting the queue's wrap-up.
func (r *Router) Finish(ctx context.Context, ref OfferRef, agent string) (Agent, error) {
	q, err := r.queue(ref.Queue)
	if err != nil {
		return Agent{}, err
	}
	return r.store.Finish(ctx, ref, agent, q.WrapUp)
}

// Abandon takes out a caller who hung up.
func (r *Router) Abandon(ctx context.Context, callID string) (Removed, error) {
	return r.store.Remove(ctx, callID, Abandoned)
}

// Overflow takes out a caller whose maximum wait is over and says where
// they go. Overflow to another queue is the driver's Enqueue there, with
// the caller's facts: the new queue ranks them by its own rules.
func (r *Router) Overflow(ctx context.Context, callID string) (Removed, Overflow, error) {
	c, err := r.store.Caller(ctx, callID)
	if err != nil {
		return Removed{}, Overflow{}, err
	}
	q, err := r.queue(c.Queue)
	if err != nil {
		return Removed{}, Overflow{}, err
	}
	rm, err := r.store.Remove(ctx, callID, Overflowed)
	if err != nil {
		return Removed{}, Overflow{}, err
	}
	return rm, q.Overflow, nil
}

// Package acd distributes queued calls to agents: queues, agent states,
// routing strategies, and the queue and agent state several nodes share.
// It knows no PBX: a driver (Asterisk over ARI, later) holds the calls and
// reports what happens to them.
//
// # Who owns what
//
// The [Store] owns all queue and agent state; memacd keeps it in one
// process, redisacd in Redis for several nodes. The [Router] owns nothing
// but the queues' settings: it reads a [Snapshot], picks the queue's head
// caller and the agent(s) its strategy ranks first, and claims them
// through the store, so any node may route any queue. The driver owns the
// calls — channels, music on hold, announcements, origination, bridging —
// and every timer: ring timeout, maximum wait, announcements, the end of a
// wrap-up. Each caller records the node holding it (Caller.Node,
// Offer.Holder): only that node can bridge the call, whichever node made
// the offer.
//
// # What is atomic
//
// Every Store method. Claim checks that the caller is the queue's first
// waiting caller and that each agent is offerable, and moves them to
// offered and ringing in one step (one Lua script in Redis): no agent is
// offered two calls, no caller is offered twice at once, no waiting caller
// is skipped, whatever the nodes do at the same time. Answer gives the call
// to one ringing agent and releases the others in the same step; Remove
// releases the agents ringing for a caller who hung up. Every change gets
// the next revision of one counter (Rev, Caller.Seq), which orders them.
//
// # Order of callers
//
// Callers are served by key — enqueue time less Ahead, the largest Ahead
// among the queue's priority rules their CRM facts match — then by
// arrival. Only the first waiting caller is offered; a caller who was not
// answered goes back to the place they had. Nobody starves: a caller is
// overtaken only by callers who arrived less than the largest Ahead after
// them. Skill widening counts Ahead as time waited, so the head always
// accepts at least the levels anyone behind them would.
//
// # What a driver calls, and when
//
//  1. A call arrives on a line: Router.QueueForLine, answer it, start the
//     queue's music, Router.Enqueue with what the CRM knows of the caller,
//     then Next. Start the caller's timers: MaxWait calls Router.Overflow
//     (and Enqueue in the overflow queue, or dial the extension or
//     voicemail); AnnounceEvery reads Store.Caller for the position.
//  2. Router.Next(ctx, queue) whenever a caller was queued or an agent
//     became free, and again after every offer until it reports nothing
//     (ok false); on ErrContended a little later. An agent becomes free on
//     login, on SetState to available, on SetReachable(true), at the end
//     of a wrap-up (Agent.Until: a wrap-up ends by itself, so the driver
//     sets a timer), and after Decline, Abandon or Finish; Router.QueuesOf
//     lists the queues to call Next on.
//  3. For an Offer, the holder originates to every Agents[i].Endpoint,
//     ringing for Offer.RingTimeout.
//  4. An agent answers: Router.Answer. On success bridge them and hang up
//     the legs of Answered.Released; on ErrStale (the caller hung up, or
//     another agent answered first) hang up this agent's leg.
//  5. The ring times out, the agent rejects, or the origination fails:
//     Router.Decline with NoAnswer, Rejected or Failed. Misses in a row
//     reach the queue's max_misses: the agent goes on break (BreakMissed).
//     Failed marks the endpoint unreachable until SetReachable(true). When
//     Declined.Requeued, call Next.
//  6. The caller hangs up, waiting or ringing: Router.Abandon; hang up the
//     legs of Removed.Released. After an answer it is the bridged call
//     ending, and Abandon reports ErrNotFound.
//  7. The bridged call ends: Router.Finish, which starts the wrap-up.
//
// # Delivery
//
// An offer (caller, attempt) is made at most once. Answer, Decline,
// Finish and Remove take effect at most once: repeated, they report
// ErrStale or ErrNotFound and change nothing, so a driver may retry them
// after an error without fear. A repeated Enqueue reports ErrQueued. A
// Claim whose reply is lost leaves the offer in the store with nobody
// ringing: the caller and agents stay offered until the offer is resolved,
// which is what a node's take-over sweep (not built yet) must do, by
// Caller.OfferedAt and OfferedBy.
//
// # Clocks
//
// The Redis store reads Redis's clock, so the nodes agree on waits and
// wrap-ups; the memory store reads the process's clock. Both keep
// milliseconds.
package acd

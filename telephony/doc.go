// Package telephony is the call model the rest of Tamas sees: calls, the
// events they go through, and the small set of call-control verbs the product
// needs. It knows nothing of any PBX: telephony/ari (Asterisk) and
// telephony/sip (any PBX that forks calls to us) are engines below it that
// turn their protocol into these types.
//
// Concurrency contract, the same for every [Source]: the handler is called
// from one goroutine at a time, so it sees the events of one call in the
// order the PBX produced them (events of different calls may interleave).
// Handlers must not block for long: a source queues a bounded number of
// events, and one that does not fit is dropped, counted in a metric and
// logged at a bounded rate rather than stalling the PBX connection. When
// Run's context ends, the events already queued are still delivered, within
// the source's shutdown timeout, with a handler context that outlives Run's
// so that they can be recorded. The engines share one implementation of
// this, telephony/dispatch.
package telephony

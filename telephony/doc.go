// Package telephony is the call model the rest of Tamas sees: calls, the
// events they go through, and the small set of call-control verbs the product
// needs. It knows nothing of any PBX: telephony/ari (Asterisk) and
// telephony/sip (any PBX that forks calls to us) are engines below it that
// turn their protocol into these types.
//
// Concurrency contract: a [Source] delivers the events of one call in the
// order the PBX produced them, from a single goroutine per source; events of
// different calls may interleave. Handlers must not block for long: a source
// buffers a bounded number of events and counts (metric and log) any it has
// to drop rather than stall the PBX connection.
package telephony

// Package dispatch is the concurrency core the telephony engines share
// (telephony/ari, telephony/sip): a bounded [Queue] between the goroutines
// that read the PBX and the one goroutine that calls the handler, and a
// [LogLimiter] that keeps floods of bad input or dropped events countable
// without flooding the log.
//
// The contract it gives a [telephony.Source]: the handler is called from one
// goroutine at a time, in the order events were put, so the events of a
// call arrive in order as long as the engine puts them in order. Putting
// never blocks: an event that does not fit is dropped, counted and logged at
// a bounded rate, so a slow handler costs events rather than stalling the
// PBX connection. On shutdown the events already queued are still
// delivered, within the engine's shutdown timeout.
package dispatch

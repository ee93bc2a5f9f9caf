// Package dispatch is the concurrency core the telephony engines
// (telephony/ari, telephony/sip) share: it implements, once, the contract
// stated in package telephony. A [Queue] stands between the goroutines that
// read the PBX and the one goroutine that calls the handler: putting never
// blocks, an event that does not fit is dropped and counted, and Stop
// delivers what is queued before it returns. A [LogLimiter] keeps a flood —
// dropped events, garbage from the network — counted in full in metrics but
// logged in sample.
//
// It knows no PBX and no metric names: each engine passes in its own
// dropped-events counter, logger and limiter.
package dispatch

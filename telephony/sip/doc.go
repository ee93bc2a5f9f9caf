// Package sip is a SIP endpoint that any PBX can fork calls to: added to a
// ring group (or dialled in parallel with the agents), it rings without ever
// answering, and turns each INVITE into telephony events — CallStarted when
// the INVITE arrives, Ended when the PBX cancels it (the call was answered
// elsewhere or abandoned), sends BYE on the early dialog, or when a
// configured final response (such as 486 Busy Here) is sent.
//
// The caller is read from P-Asserted-Identity (only when the request comes
// from a trusted address), then Remote-Party-ID, then From; the dialled
// number from the Request-URI, else To. [CallerIdentity] and [DialledNumber]
// do that reading as pure functions of a request; the [Endpoint] adds the
// transport, the transactions and the events.
//
// Events reach the handler under the contract of package telephony, through
// telephony/dispatch: sipgo serves every request on its own goroutine, each
// queues its events (Config.EventBuffer), and one dispatcher goroutine
// delivers them, CallStarted before Ended; those dropped rather than
// delaying SIP responses to the PBX are counted in
// tamas_sip_events_dropped_total.
//
// Bad input — unparseable datagrams, missing headers, broken URIs, oversized
// numbers, invalid UTF-8, markup in display names — is logged, counted
// (tamas_sip_malformed_requests_total, tamas_sip_identity_problems_total) and
// answered with 400 where it can be answered; it never stops the endpoint.
package sip

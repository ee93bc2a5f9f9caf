// Package ari connects Tamas to Asterisk over the Asterisk REST Interface: it
// follows a Stasis application's event websocket, turns what Asterisk says
// about channels into telephony events, and carries out call control over
// ARI's REST API. One Adapter serves one Asterisk server; see Adapter for
// several.
//
// Events reach the handler under the contract of package telephony, through
// telephony/dispatch: the websocket reader queues them (Config.EventBuffer),
// one dispatcher goroutine delivers them, and those dropped are counted in
// tamas_ari_events_dropped_total.
//
// The websocket reader and the REST client are this package's own (on
// gorilla/websocket and net/http) rather than github.com/CyCoreSystems/ari,
// whose reader panics on event types it does not know, reconnects without
// notice, drops events past 100 per subscription, and whose REST client has
// no context or timeout. Its tests run against aritest, an ARI server that
// replays recordings of a real Asterisk.
package ari

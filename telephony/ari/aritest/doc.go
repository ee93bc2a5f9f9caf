// Package aritest is a stand-in Asterisk for tests: an ARI server
// (REST and event websocket) that replays event transcripts recorded from a
// real Asterisk 22, embedded in this package, and answers REST requests the
// way that Asterisk did, so that ARI clients can be tested end to end without
// a PBX.
package aritest

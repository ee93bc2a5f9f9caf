// Package screenpop builds the card an agent sees when the phone rings:
// who is calling, their history and open follow-ups, the script to run. A
// [Service] turns call events into [Pop]s, picks the consoles they are for,
// and publishes them on a [Bus]; package push delivers bus channels to
// consoles over websockets.
package screenpop

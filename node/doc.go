// Package node is one Tamas node, wired: the CRM store, the call sources
// (Asterisk over ARI, the SIP endpoint), the path of every call (match →
// pop → activity), the consoles' bus and hub, wrap-ups, follow-ups and the
// HTTP face. [New] builds a node from its configuration and [Node.Run] runs
// it until its context ends; `tamas serve`, `tamas demo` and the whole-node
// tests all start nodes this way.
//
// The package only wires: every rule and every background loop lives in the
// package that owns its data, and is started from here.
package node

// Package web is Tamas's HTTP face: the REST API under /api/v1, the agent
// console (its page, sign-in sessions and websocket admission), health and
// readiness probes, and Prometheus metrics. Handlers translate between JSON
// and the domain packages; they hold no business rules of their own.
//
// Every error leaves as {"error":{"code","message","field"}} with a status
// that matches the code, so clients branch on code, never on message text.
package web

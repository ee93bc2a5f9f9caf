// Package crm holds the customer records a call center works with — people,
// organizations, their numbers — and answers the question every ringing
// phone asks: who is calling?
//
// The types here know nothing of SQL or HTTP. Storage sits behind [Store],
// implemented by crm/sqlite (the embedded default) and crm/postgres; both
// pass the same conformance suite in crm/crmtest. Phone numbers are
// normalised by crm/phone before they reach a store, so every store compares
// numbers the same way. The rules the stores share — validation, page
// limits, how a wrap-up is saved and finished — live here too, so a store
// holds only its SQL and transaction plumbing.
package crm

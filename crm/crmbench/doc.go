// Package crmbench measures a CRM store: caller-ID lookups and the
// database work of a call, as the product does them. Each store's own
// benchmarks (crm/sqlite, crm/postgres) open the store and run these
// against it, so both are measured the same way; whether a store behaves
// correctly is crm/crmtest's question, not this package's.
//
// The stores are seeded with crm/seed's generator once and reused between
// runs. TAMAS_BENCH_CONTACTS sets how many contacts, TAMAS_BENCH_RATE paces
// FullCall (calls per second; unset, calls run back to back).
package crmbench

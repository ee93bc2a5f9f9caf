// Package screenpop builds the card an agent sees when the phone rings:
// who is calling, their history and open follow-ups, the script to run. A
// [Service] turns call events into [Pop]s, picks the consoles they are for,
// and publishes them on a [Bus]; package web/push delivers bus channels to
// consoles over websockets.
//
// # Delivery
//
// Each recipient has its own channel: [UserChannel] carries an agent's
// pops, states and due follow-ups, [SupervisorChannel] every pop, every
// agent state and unassigned follow-ups. A bus numbers a channel's messages 1, 2, 3… within an epoch and
// keeps them for the replay window, the [Retention] from configuration: at
// most console.retain_messages per channel (500), none older than
// console.retain_age (15 min). screenpop/membus has one epoch per process;
// screenpop/redisbus one per channel, new whenever Redis lost the channel's
// keys (flushed, restarted empty, or the channel idle for a day, or for
// twice the age if that is longer).
//
// A console's first frame names, per channel, the epoch and the last seq it
// applied. Before anything live it gets exactly the messages after that
// seq when all of them are still retained in that epoch; otherwise a reset
// frame and the newest 100 retained messages (push.Options.FreshLimit),
// which is also what a console naming no position gets. A seq beyond the
// channel's last in the same epoch closes the console with 4409, and it
// starts afresh. This catch-up is sent at once, whatever its size, and
// never counts as slowness.
//
// Within a connection each message is sent once, in seq order per channel
// and without gaps: a gap in live delivery (Redis pub/sub lost messages, or
// its connection came back) is filled from history before anything after
// it is sent. Across reconnects a console resumes from what it applied, so
// a frame lost with the connection is sent again: at least once on the
// wire and once as applied, as long as the replay window covers the
// absence. Beyond the window or across epochs it is at most once, and the
// reset says so. Nothing is ordered across channels: a supervisor gets its
// two channels interleaved, and a pop meant for it on both; pops carry a
// version, and the console keeps the highest.
//
// A console is slow when 64 live frames wait for it (push.Options.SendQueue)
// or one frame takes 10 s to write (WriteTimeout). It is closed with 4408,
// nobody waits for it, and it reconnects and catches up like any other.
//
// Publish returns once the message is kept, or an error: a message whose
// publish failed never existed and nobody retries it (a pop's next version
// carries the whole card). While Redis is unreachable publishing fails,
// connected consoles stay open but get nothing new, and a console that
// connects is closed with 4503 (try again) when the hub cannot subscribe or
// read history. When go-redis reconnects, every subscription catches up
// from history; a Redis that came back empty has new epochs, so consoles
// get a reset.
package screenpop

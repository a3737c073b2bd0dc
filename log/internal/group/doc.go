// Package group is the Kafka group coordinator of a Log, for the classic rebalance protocol
// (JoinGroup, SyncGroup, Heartbeat, LeaveGroup, and the membership checks of OffsetCommit),
// in two parts and the encoding consumers share:
//
//   - The core, [Group] (group.go): one group's state as a pure value, with no locks,
//     goroutines, clock or I/O. Each request, and each expiry of a timer it asked for, is a
//     call given the time now; it returns the answer, or says that the request waits, and a
//     list of [Effect]s: arm or stop a timer, answer a JoinGroup or SyncGroup that was
//     waiting. The core owns every decision: who leads, which generation, which protocol, who
//     is dropped and when.
//   - The shell, [Coordinator] (coordinator.go): the groups of one Log, each with its lock, its
//     timers and its parked requests. It turns effects into timers and answers, and answers
//     parked requests through the functions they were sent with.
//   - consumerproto.go: the "consumer" protocol type's subscription and assignment, which
//     consumers put in their metadata and the leader's SyncGroup. The coordinator never reads
//     them; consumers and DescribeGroups do.
//
// # Concurrency
//
// A Group is not safe for concurrent use: the shell calls it under the group's lock. It keeps
// the byte slices requests give it (metadata, assignments) and never modifies them, so a caller
// may read them after the lock is released, and must not modify them either. The effects a
// call returns may sit in a buffer the group reuses at its next call (a heartbeat's one
// effect does): the shell applies them before it calls the group again.
//
//	state                                   owner
//	--------------------------------------------------------------------------
//	the map of groups, closed               Coordinator.mu (read-held for lookups)
//	a group's core, timers, parked          shell.mu; a timer's expiry takes it,
//	  requests, change channel                nothing else
//
// Lock order: Coordinator.mu, then a shell's mu (Close and Delete only; requests take one at a
// time). Nothing but the observer is called out under either: the answers to parked requests
// run after the locks are released, on the goroutine of the request, timer or Close that
// completed them, and may send further requests. The observer given to [NewCoordinator] is
// called under the group's lock with each [Note] the core returned (note.go), once the call
// that made it is applied, so that a Describe that follows sees the change; it must not call
// the coordinator. Without an observer the core makes no notes.
//
// # Time
//
// The core reads no clock. A timer is a [Timer] key and a deadline; the shell keeps one real
// timer per key and calls [Group.Expire] when it fires. A deadline moved later only moves the
// shell's record, and a timer that fires early is set again, so a heartbeat costs no timer
// operation. A stale firing (a timer stopped or re-armed meanwhile) is recognised by its
// deadline and ignored, so the shell need not win any race against its own timers.
// [Coordinator.Close] stops every timer; none acts after it.
package group

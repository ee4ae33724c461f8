// Package order tracks orders through their lifecycle: the state machine of
// docs/ORDER_STATES.md as an explicit transition table, the order record a host
// persists through a small [Store], and the [Tracker] that submits, cancels and
// replaces orders through a [broker.Broker], applies fills and status reports
// from any source, and reconciles with the broker.
//
// The tracker's promises:
//
//   - An order is persisted (pending new) before it leaves the process, and the
//     broker's answer is persisted after.
//   - A placement whose answer was lost (errors.ErrOutcomeUnknown) is never sent
//     again and never forgotten: [Tracker.Reconcile] settles it by lookup.
//   - Fills are deduplicated by execution id; cumulative broker snapshots are
//     turned into deltas. Applying the same event twice changes nothing the
//     second time. A fill that arrives after a cancel, an expiry or a replace is
//     applied. An overfill is refused (errors.ErrOverfill) and the order flagged
//     for attention; it is never clamped.
//   - An illegal transition is refused with errors.ErrInvalidTransition and
//     leaves the order unchanged.
//   - Subscribers see every fill and status change, in order per order.
//   - Every method is safe for concurrent use.
package order

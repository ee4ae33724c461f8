// Package stoploss is the stop-loss supervisor: once a position is open it is
// protected, and a breached stop closes it, even when the broker misbehaves,
// the process restarts or two replicas run.
//
// A [Supervisor] watches one account. It learns of fills from the order
// tracker ([Orders].Subscribe) and keeps, per symbol, a [Protection] record in
// a host-supplied [Store]: the position's quantity, its stop, take-profit and
// trailing high-water mark, and the protective order resting at the broker.
//
// Protection modes are chosen from the broker's [broker.Capabilities]:
//
//   - native: a GTC stop order (or a stop-limit where stop-market is missing)
//     rests at the broker for the position's exact quantity and is resized,
//     ratcheted (trailing stops) and re-placed by the supervisor;
//   - synthetic: nothing rests at the broker; [Supervisor.Sweep] compares
//     each quote with the stop and closes with a market order.
//
// Take-profit is always synthetic: a resting take-profit limit beside a
// resting stop could both fill (no OCO on every broker) and flip the position.
//
// Where the position's quantity comes from: the broker's Positions are the
// truth. A fill (or a lost protective order) reported by the tracker marks its
// symbol dirty; the supervisor then reads Positions once for the whole batch
// of updates and sizes the stop to the quantity the broker reports. Summing
// fill deltas would be exact only for a single process that never restarts:
// two replicas (each with its own tracker) or a tracker that replays fills
// after a restart would count the same fill twice, and a stop larger than the
// position flips it when it triggers. Before any close the supervisor reads
// Positions again and sends exactly the open quantity, never more.
//
// [Supervisor.Sweep] is the periodic monitor: quotes in batches of the
// broker's QuoteBatchSize, breach and take-profit checks, trailing ratchets,
// re-placement of missing stops, and, every Config.VerifyInterval, a
// verification against the broker (one OpenOrders and one Positions call) that
// finds stops cancelled behind the supervisor's back and positions it did not
// know. Between verifications a quiet sweep calls nothing but Quotes: the
// liveness of each protective order is followed through the tracker's updates.
//
// Every order the supervisor sends is protective (it skips the risk engine's
// pre-trade checks, so a halted engine still defends positions) and carries a
// deterministic client order id derived from the account, the symbol, the
// position's epoch and a sequence number, so a repeated sweep, a retry or a
// second replica never places a second stop nor closes a position twice.
//
// Replicas share the protection [Store], the [Lock] and the order tracker's
// store, so that each can find the orders the other sent by client order id.
//
// A bot exits a protected position through [Supervisor.Exit]: brokers
// reserve the shares of a position for its resting stop and refuse the
// bot's own sell, and Exit closes through the same never-twice path.
//
// The supervisor fails closed: missing or stale quotes, or a stop that keeps
// failing to be placed, escalate after Config.EscalateAfter sweeps: the risk
// engine is put in reduce-only or halted ([TradingSwitch]) and the host is
// told through Config.Alert with a *errors.StopLossError.
package stoploss

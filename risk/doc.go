// Package risk is arbion's pre-trade risk engine: composable rules, a kill
// switch and fail-closed data gathering.
//
// An [Engine] holds a set of [Rule] values (each one limit: [MaxOrderQuantity],
// [MaxOrderNotional], [MaxPositionQuantity], [MaxPositionNotional],
// [MaxGrossExposure], [MaxConcentration], [MaxDailyLoss], [MaxOrdersPerDay],
// [MaxOrderRate], [PriceBand], [SymbolAllowList], [SymbolDenyList],
// [AssetClassAllowList], or the host's own) and the small data sources they
// need ([PositionSource], [OpenOrderSource], [AccountSource], [MarketData],
// [PnLSource]; a broker.Broker satisfies all but the last).
//
// [Engine.PreTrade] is what the order tracker calls: it gathers an [Intent],
// checks it against every rule and, when all pass, reserves the order's effect
// until the returned settle function is called, so that orders checked at the
// same time cannot together exceed a limit that each alone respects.
// [Engine.Gather] and [Engine.Check] are the two halves, for a host that wants
// to look at an intent or judge one it built itself.
//
// Every refusal is a *errors.RiskError naming the rule, the limit and the
// value the order would have reached; when several rules refuse, all of them
// are reported (joined with errors.Join), so errors.As finds each one. When
// the engine cannot decide (a quote is missing or stale, a source fails) the
// order is refused with errors.ErrRiskDataUnavailable: it fails closed.
//
// The engine has a trading [State]: [Active], [ReduceOnly] (only orders that
// shrink a position without flipping it) and [Halted] (kill switch). The host
// sets it with [Engine.SetState]; a [MaxDailyLoss] breach halts trading until
// the host resets it. Changes are delivered to subscribers in order
// ([Engine.Subscribe]). The engine starts no goroutine.
package risk

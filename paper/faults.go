package paper

import (
	"context"
	"slices"

	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/errors"
)

// call runs fn under the broker's lock, with the configured latency before
// it and the fault injector's decision around it.
func (b *Broker) call(ctx context.Context, op Op, fn func() error) error {
	if err := ctx.Err(); err != nil {
		return b.ctxError(op, err)
	}
	if d := b.cfg.Faults.Latency; d > 0 {
		if err := clock.Sleep(ctx, b.cfg.Clock, d); err != nil {
			return b.ctxError(op, err)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	fault := b.decide(op)
	switch fault {
	case FaultUnavailable:
		return b.injected(&errors.BrokerError{Broker: Name, Op: string(op), HTTPStatus: 503,
			Kind: errors.ErrBrokerUnavailable, Message: "injected fault: service unavailable"})
	case FaultNetwork:
		return b.injected(&errors.BrokerError{Broker: Name, Op: string(op),
			Kind: errors.ErrNetwork, Message: "injected fault: connection reset before the request was sent"})
	}
	err := fn()
	if fault == FaultLoseAnswer {
		kind := errors.ErrTimeout
		if op.changesState() {
			kind = errors.ErrOutcomeUnknown
		}
		return b.injected(&errors.BrokerError{Broker: Name, Op: string(op), Kind: kind,
			Message: "injected fault: the answer was lost after the request took effect"})
	}
	return err
}

// decide returns the fault for one call of op. The caller holds b.mu (the
// random generator is not safe for concurrent use).
func (b *Broker) decide(op Op) Fault {
	f := b.cfg.Faults
	if f.Inject != nil {
		return f.Inject(op)
	}
	if f.ErrorRate == 0 && f.LostAnswerRate == 0 || len(f.Ops) > 0 && !slices.Contains(f.Ops, op) {
		return NoFault
	}
	if b.rng.Float64() < f.ErrorRate {
		if b.rng.IntN(2) == 0 {
			return FaultUnavailable
		}
		return FaultNetwork
	}
	if b.rng.Float64() < f.LostAnswerRate {
		return FaultLoseAnswer
	}
	return NoFault
}

// injected records err for Health and returns it. The caller holds b.mu.
func (b *Broker) injected(err *errors.BrokerError) error {
	b.lastError = err
	b.lastErrorAt = b.cfg.Clock.Now()
	return err
}

// ctxError reports a call abandoned before it took effect because ctx was
// done.
func (b *Broker) ctxError(op Op, cause error) error {
	return &errors.BrokerError{Broker: Name, Op: string(op), Kind: errors.ErrTimeout,
		Message: "context done before the request was handled", Err: cause}
}

package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/stoploss"
)

// Lease is the [stoploss.Lock] on a SQL database: a row per account naming
// its holder and an expiry. The holder renews it while it works and ends
// it on release (the row stays, expired, so that its fencing token only
// grows); a holder that dies stops renewing, and another replica takes
// over once the expiry has passed.
//
// A lease row rather than a PostgreSQL advisory lock: an advisory lock
// belongs to one connection of the pool, so it is silently lost when that
// connection breaks and silently kept for as long as a hung process keeps the
// connection open; a lease has an expiry and a fencing token, and works the
// same on SQLite. Expiry is computed from the replicas' clocks (LeaseConfig.Clock),
// so TTL must be far longer than their skew (seconds against milliseconds
// under NTP).
type Lease struct {
	db    *DB
	ttl   time.Duration
	every time.Duration
	clock clock.Clock
}

// LeaseConfig tunes a [Lease].
type LeaseConfig struct {
	// TTL is how long a lease lasts without renewal. Default 15 s.
	TTL time.Duration
	// RenewEvery is how often a held lease is renewed. Default TTL/3.
	RenewEvery time.Duration
	// Clock computes expiries and times the renewals; nil means
	// clock.Real. Tests inject a clocktest.Fake.
	Clock clock.Clock
}

// Lease returns the database's lease for supervisors.
func (db *DB) Lease(cfg LeaseConfig) (*Lease, error) {
	if cfg.TTL == 0 {
		cfg.TTL = 15 * time.Second
	}
	if cfg.RenewEvery == 0 {
		cfg.RenewEvery = cfg.TTL / 3
	}
	if cfg.TTL < 0 || cfg.RenewEvery <= 0 || cfg.RenewEvery >= cfg.TTL {
		return nil, configError(fmt.Sprintf("lease TTL %v and renewal %v: renewal must be positive and shorter than the TTL",
			cfg.TTL, cfg.RenewEvery))
	}
	return &Lease{db: db, ttl: cfg.TTL, every: cfg.RenewEvery, clock: clock.Or(cfg.Clock)}, nil
}

var _ stoploss.Lock = (*Lease)(nil)

// TryAcquire implements [stoploss.Lock]. While held, the lease is renewed
// until release is called or ctx ends; when ctx ends without a release the
// lease lapses at its expiry, as if the holder had died.
func (l *Lease) TryAcquire(ctx context.Context, account string) (func(), bool, error) {
	_, release, ok, err := l.Acquire(ctx, account)
	return release, ok, err
}

// Acquire is TryAcquire that also returns a context which is cancelled when
// the lease is lost (a renewal found another holder or failed past the
// expiry), so that the holder stops acting at once.
func (l *Lease) Acquire(ctx context.Context, account string) (held context.Context, release func(), ok bool, err error) {
	holder := rand.Text()
	token, ok, err := l.acquire(ctx, account, holder)
	if err != nil || !ok {
		return nil, nil, false, err
	}
	held, lost := context.WithCancel(ctx)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer lost()
		l.renewLoop(held, stop, account, holder, token)
	}()
	var once sync.Once
	release = func() {
		once.Do(func() {
			close(stop)
			<-done
			// A fresh context: the holder's may already be cancelled, and the
			// row should go now rather than at its expiry.
			_ = l.expire(context.WithoutCancel(ctx), account, holder, token)
		})
	}
	return held, release, true, nil
}

func (l *Lease) acquire(ctx context.Context, name, holder string) (int64, bool, error) {
	now := l.clock.Now()
	var token int64
	err := l.db.sql.QueryRowContext(ctx, l.db.rebind(
		"INSERT INTO arbion_leases (name, holder, token, expires_at) VALUES (?, ?, 1, ?) "+
			"ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, token = arbion_leases.token + 1, "+
			"expires_at = excluded.expires_at WHERE arbion_leases.expires_at <= ? RETURNING token"),
		name, holder, l.expiry(now), l.stamp(now)).Scan(&token)
	if err == sql.ErrNoRows {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, &errors.StopLossError{Account: name, Kind: errors.ErrStorage, Reason: "lease acquire", Err: err}
	}
	return token, true, nil
}

// expire ends a held lease at once, so that another replica can take it
// without waiting for the expiry. The row is kept (with an expiry in the
// past) rather than deleted: its token then only grows, and the next
// holder's is larger than every earlier one's, which is what fencing
// relies on.
func (l *Lease) expire(ctx context.Context, name, holder string, token int64) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := l.db.sql.ExecContext(ctx, l.db.rebind(
		"UPDATE arbion_leases SET expires_at = ? WHERE name = ? AND holder = ? AND token = ?"),
		l.stamp(time.Unix(0, 0)), name, holder, token)
	if err != nil {
		return &errors.StopLossError{Account: name, Kind: errors.ErrStorage, Reason: "lease release", Err: err}
	}
	return nil
}

// renewLoop extends the lease every RenewEvery until stop or ctx ends. It
// returns when the lease is lost (another holder has it, or renewals kept
// failing until the expiry passed), saying why; on stop it returns "".
// wait waits one renewal period; stopped reports that the loop must end
// instead, and why ("" on stop).
func (l *Lease) wait(ctx context.Context, stop <-chan struct{}) (reason string, stopped bool) {
	t := l.clock.NewTimer(l.every)
	defer t.Stop()
	select {
	case <-stop:
		return "", true
	case <-ctx.Done():
		return "the leader's context ended", true
	case <-t.C():
		return "", false
	}
}

func (l *Lease) renewLoop(ctx context.Context, stop <-chan struct{}, name, holder string, token int64) string {
	expires := l.clock.Now().Add(l.ttl)
	for {
		if reason, stopped := l.wait(ctx, stop); stopped {
			return reason
		}
		now := l.clock.Now()
		held, err := l.renew(ctx, name, holder, token)
		switch {
		case err == nil && held:
			expires = now.Add(l.ttl)
		case err == nil:
			return "a renewal found the lease expired or held by another replica"
		case !now.Before(expires):
			// A failed renewal is retried at the next tick; the expiry, not
			// one error, decides when the lease is lost.
			return "renewals failed until the lease expired: " + err.Error()
		}
	}
}

func (l *Lease) renew(ctx context.Context, name, holder string, token int64) (bool, error) {
	now := l.clock.Now()
	if ctx.Err() != nil {
		return true, ctx.Err()
	}
	res, err := l.db.sql.ExecContext(ctx, l.db.rebind(
		"UPDATE arbion_leases SET expires_at = ? WHERE name = ? AND holder = ? AND token = ? AND expires_at > ?"),
		l.expiry(now), name, holder, token, l.stamp(now))
	if err != nil {
		return true, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// expiry and stamp give lease times in the column's type: TIMESTAMPTZ on
// PostgreSQL, Unix nanoseconds on SQLite.
func (l *Lease) expiry(now time.Time) any { return l.stamp(now.Add(l.ttl)) }

func (l *Lease) stamp(t time.Time) any {
	if l.db.dialect == Postgres {
		return t.UTC()
	}
	return t.UnixNano()
}

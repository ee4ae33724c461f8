package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"sync"

	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
)

// Leadership is one replica's hold of an account's lease for as long as it
// trades the account: [Lease.Lead] takes it, a goroutine renews it, and
// [Leadership.Release] hands it over. It satisfies [order.Leader]: give it
// to the tracker (order.Config.Leader) and build the stores with
// [DB.FencedOrders] and [DB.FencedProtections], so that a replica which
// lost the lease (a long pause, a partition) neither sends nor writes.
//
// Every holder of an account's lease gets a larger fencing token than the
// one before it; a fenced write checks, in its own transaction, that the
// lease row still carries this token and has not expired.
type Leadership struct {
	lease   *Lease
	account string
	holder  string
	token   int64
	ctx     context.Context // Lead's, without its cancellation: for Release

	stop    chan struct{} // closed by Release
	stopped chan struct{} // closed when the renewal goroutine returns
	done    chan struct{} // closed when the leadership is lost or released
	once    sync.Once     // Release
	mu      sync.Mutex
	err     error // nil while held
}

var _ order.Leader = (*Leadership)(nil)

// Lead takes the account's lease if no other replica holds it (it does not
// wait) and keeps renewing it until Release is called or ctx ends. When
// another replica holds an unexpired lease, Lead returns an
// *errors.StopLossError matching errors.ErrNotLeader: the caller is a
// standby and may try again later. A failure of the database matches
// errors.ErrStorage.
//
// When ctx ends the leadership is lost at once (Err is not nil) and the
// lease lapses at its expiry, as if the process had died; Release hands it
// over at once.
func (l *Lease) Lead(ctx context.Context, account string) (*Leadership, error) {
	holder := rand.Text()
	token, ok, err := l.acquire(ctx, account, holder)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &errors.StopLossError{Account: account, Kind: errors.ErrNotLeader,
			Reason: "the account's lease is held by another replica"}
	}
	ld := &Leadership{
		lease: l, account: account, holder: holder, token: token, ctx: context.WithoutCancel(ctx),
		stop: make(chan struct{}), stopped: make(chan struct{}), done: make(chan struct{}),
	}
	go func() {
		defer close(ld.stopped)
		if why := l.renewLoop(ctx, ld.stop, account, holder, token); why != "" {
			ld.lose(why)
		}
	}()
	return ld, nil
}

// Account returns the account led.
func (ld *Leadership) Account() string { return ld.account }

// Token returns the fencing token: larger for every new holder of the
// account's lease.
func (ld *Leadership) Token() int64 { return ld.token }

// Err returns nil while the leadership is held, and an *errors.StopLossError
// matching errors.ErrNotLeader once it was lost (a renewal found another
// holder or an expired lease, renewals failed past the expiry, Lead's
// context ended, or a fenced write found the lease gone) or released. It
// does no I/O.
func (ld *Leadership) Err() error {
	ld.mu.Lock()
	defer ld.mu.Unlock()
	return ld.err
}

// Done returns a channel closed when Err becomes non-nil.
func (ld *Leadership) Done() <-chan struct{} { return ld.done }

// Release ends the leadership: Err becomes non-nil at once, the renewal
// goroutine is stopped (Release returns after it has), and the lease row is
// expired so that another replica can lead at once. Calling it again does
// nothing and returns nil. An error (errors.ErrStorage) means the row could
// not be expired: it then lapses at its expiry.
func (ld *Leadership) Release() error {
	var err error
	ld.once.Do(func() {
		ld.lose("released")
		close(ld.stop)
		<-ld.stopped
		err = ld.lease.expire(ld.ctx, ld.account, ld.holder, ld.token)
	})
	return err
}

// lose records the first reason the leadership ended.
func (ld *Leadership) lose(why string) {
	ld.mu.Lock()
	defer ld.mu.Unlock()
	if ld.err != nil {
		return
	}
	ld.err = &errors.StopLossError{Account: ld.account, Kind: errors.ErrNotLeader,
		Reason: fmt.Sprintf("leadership with token %d ended: %s", ld.token, why)}
	close(ld.done)
}

// check is the fence: it returns nil when, inside tx, the account's lease
// row still carries this leadership's holder and token and has not expired
// by the lease's clock; an error matching errors.ErrNotLeader otherwise
// (and the leadership is then lost). On PostgreSQL the row is locked FOR
// SHARE, so that a takeover waits for tx to end: a write that passed the
// check commits before any new holder can act. On SQLite the immediate
// write transaction already excludes every other writer.
func (ld *Leadership) check(ctx context.Context, tx *sql.Tx, account string) error {
	if account != ld.account {
		return &errors.StopLossError{Account: account, Kind: errors.ErrNotLeader,
			Reason: fmt.Sprintf("the leadership is of account %q", ld.account)}
	}
	if err := ld.Err(); err != nil {
		return err
	}
	q := "SELECT token FROM arbion_leases WHERE name = ? AND holder = ? AND token = ? AND expires_at > ?"
	if ld.lease.db.dialect == Postgres {
		q += " FOR SHARE"
	}
	var token int64
	err := tx.QueryRowContext(ctx, ld.lease.db.rebind(q),
		ld.account, ld.holder, ld.token, ld.lease.stamp(ld.lease.clock.Now())).Scan(&token)
	if err == sql.ErrNoRows {
		ld.lose("a fenced write found the lease expired or held by another replica")
		return ld.Err()
	}
	return err
}

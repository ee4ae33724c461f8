// Package ordertest checks that an order.Store keeps the contract the
// tracker relies on, in the style of testing/fstest: any implementation (the
// in-memory one, store/sqlstore on SQLite or PostgreSQL) runs the same
// suite.
package ordertest

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/shopspring/decimal"
)

// StoreContract runs the store contract against stores made by newStore;
// each subtest gets a fresh, empty store. Times are compared to the
// microsecond and decimals by value, so a store may round-trip them through
// SQL types.
func StoreContract(t *testing.T, newStore func(t *testing.T) order.Store) {
	t.Helper()
	tests := []struct {
		name string
		run  func(*testing.T, order.Store)
	}{
		{"CreateStoresVersionOneAndRoundTripsEveryField", testCreateRoundTrip},
		{"CreateRefusesDuplicateLocalID", testCreateDuplicateLocalID},
		{"CreateRefusesDuplicateClientOrderID", testCreateDuplicateClientID},
		{"CreateRefusesNonZeroVersion", testCreateNonZeroVersion},
		{"UpdateIncrementsVersion", testUpdateIncrementsVersion},
		{"UpdateWithStaleVersionIsRefusedAndStoresNothing", testUpdateStale},
		{"UpdateOfUnknownOrderIsNotFound", testUpdateUnknown},
		{"LookupsOfUnknownIDsAreNotFound", testLookupsNotFound},
		{"ByBrokerOrderIDFindsOrderOnceAcknowledged", testByBrokerOrderID},
		{"BySymbolListsOldestFirst", testBySymbol},
		{"OpenListsOnlyNonTerminalOldestFirst", testOpen},
		{"ReturnedRecordsAreCopies", testCopies},
		{"ConcurrentUpdatesOfOneVersionLetExactlyOneWin", testConcurrentUpdates},
		{"AccountsMayShareClientAndBrokerOrderIDs", testAccountsShareIDs},
		{"LookupsAndListingsReturnOnlyTheAccountsRecords", testAccountScopedLookups},
		{"CreateRefusesBrokerOrderIDHeldInTheAccount", testCreateDuplicateBrokerID},
		{"UpdateRefusesBrokerOrderIDHeldInTheAccount", testUpdateDuplicateBrokerID},
		{"UpdateRefusesChangingImmutableFields", testUpdateImmutable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newStore(t)) })
	}
}

// account is the account of every sample record.
const account = "acct-1"

var at = time.Date(2026, 3, 2, 14, 30, 15, 123456000, time.UTC)

// sample returns a fully populated pending-new record.
func sample(n int) order.Order {
	return order.Order{
		LocalID:       fmt.Sprintf("local%03d", n),
		ClientOrderID: fmt.Sprintf("client%03d", n),
		Account:       account,
		Instrument:    broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity},
		Side:          broker.Buy,
		Type:          broker.StopLimit,
		Quantity:      decimal.RequireFromString("10.5"),
		LimitPrice:    decimal.RequireFromString("187.25"),
		StopPrice:     decimal.RequireFromString("186.5"),
		TimeInForce:   broker.GTC,
		ExtendedHours: true,
		Status:        broker.StatusPendingNew,
		StopLossPrice: decimal.RequireFromString("180"),
		CreatedAt:     at,
		UpdatedAt:     at,
	}
}

// filled returns a record with every field set, as after a life at a broker.
func filled(n int) order.Order {
	o := sample(n)
	o.BrokerOrderID = fmt.Sprintf("B%03d", n)
	o.Status = broker.StatusFilled
	o.RawStatus = "FILLED"
	o.PendingFrom = broker.StatusNew
	o.TrailAmount = decimal.RequireFromString("0.5")
	o.TrailPercent = decimal.RequireFromString("1.25")
	o.FilledQuantity = decimal.RequireFromString("10.5")
	o.Notional = decimal.RequireFromString("1966.125")
	o.AvgFillPrice = decimal.RequireFromString("187.25")
	o.Fees = decimal.RequireFromString("0.35")
	o.Fills = []broker.Fill{
		{ExecID: "e1", Quantity: decimal.RequireFromString("10"), Price: decimal.RequireFromString("187.25"),
			Fee: decimal.RequireFromString("0.3"), Time: at.Add(time.Second)},
		{ExecID: "e2", Quantity: decimal.RequireFromString("0.5"), Price: decimal.RequireFromString("187.25"),
			Fee: decimal.RequireFromString("0.05"), Time: at.Add(2 * time.Second)},
	}
	o.TakeProfitPrice = decimal.RequireFromString("200")
	o.Protective = true
	o.Replaces = "localX"
	o.ReplacedBy = "localY"
	o.RejectReason = "none really"
	o.OutcomeUnknown = true
	o.UnknownLookups = 2
	o.FirstUnknownAt = at.Add(time.Minute)
	o.NeedsAttention = true
	o.AttentionReason = "overfill: test"
	return o
}

var orderCmp = cmp.Options{
	cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) }),
	cmp.Comparer(func(a, b time.Time) bool { return a.Truncate(time.Microsecond).Equal(b.Truncate(time.Microsecond)) }),
	cmpopts.EquateEmpty(),
}

func ctx(t *testing.T) context.Context { return t.Context() }

func mustCreate(t *testing.T, s order.Store, o order.Order) order.Order {
	t.Helper()
	got, err := s.Create(ctx(t), o)
	if err != nil {
		t.Fatalf("Create(%s): %v", o.LocalID, err)
	}
	return got
}

func wantKind(t *testing.T, err error, kind errors.Kind) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("error = %v, want one matching %q", err, kind)
	}
}

func testCreateRoundTrip(t *testing.T, s order.Store) {
	// Every field of the full sample is set, so a field a store forgets to
	// persist fails the round trip (and a new field must be added here).
	v := reflect.ValueOf(filled(2))
	for i := range v.NumField() {
		if name := v.Type().Field(i).Name; name != "Version" && v.Field(i).IsZero() {
			t.Fatalf("ordertest: the full sample leaves Order.%s zero", name)
		}
	}
	for _, o := range []order.Order{sample(1), filled(2)} {
		got := mustCreate(t, s, o)
		want := o
		want.Version = 1
		if diff := cmp.Diff(want, got, orderCmp); diff != "" {
			t.Errorf("Create returned (-want +got):\n%s", diff)
		}
		read, err := s.Get(ctx(t), o.LocalID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, read, orderCmp); diff != "" {
			t.Errorf("Get after Create (-want +got):\n%s", diff)
		}
	}
}

func testCreateDuplicateLocalID(t *testing.T, s order.Store) {
	mustCreate(t, s, sample(1))
	dup := sample(2)
	dup.LocalID = sample(1).LocalID
	_, err := s.Create(ctx(t), dup)
	wantKind(t, err, errors.ErrDuplicateOrder)
	if _, err := s.ByClientOrderID(ctx(t), account, dup.ClientOrderID); !errors.Is(err, errors.ErrOrderNotFound) {
		t.Errorf("the refused record was stored: lookup error %v", err)
	}
}

func testCreateDuplicateClientID(t *testing.T, s order.Store) {
	mustCreate(t, s, sample(1))
	dup := sample(2)
	dup.ClientOrderID = sample(1).ClientOrderID
	_, err := s.Create(ctx(t), dup)
	wantKind(t, err, errors.ErrDuplicateOrder)
	var oe *errors.OrderError
	if !errors.As(err, &oe) {
		t.Errorf("error %v is not an *errors.OrderError", err)
	}
	if _, err := s.Get(ctx(t), dup.LocalID); !errors.Is(err, errors.ErrOrderNotFound) {
		t.Errorf("the refused record was stored: Get error %v", err)
	}
}

func testCreateNonZeroVersion(t *testing.T, s order.Store) {
	o := sample(1)
	o.Version = 3
	if _, err := s.Create(ctx(t), o); err == nil {
		t.Fatal("Create with version 3 succeeded")
	}
}

func testUpdateIncrementsVersion(t *testing.T, s order.Store) {
	o := mustCreate(t, s, sample(1))
	o.Status = broker.StatusNew
	o.BrokerOrderID = "B1"
	o.UpdatedAt = at.Add(time.Hour)
	got, err := s.Update(ctx(t), o)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 {
		t.Errorf("version after one update = %d, want 2", got.Version)
	}
	want := o
	want.Version = 2
	read, err := s.Get(ctx(t), o.LocalID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, read, orderCmp); diff != "" {
		t.Errorf("Get after Update (-want +got):\n%s", diff)
	}
}

func testUpdateStale(t *testing.T, s order.Store) {
	o := mustCreate(t, s, sample(1))
	first := o
	first.Status = broker.StatusNew
	if _, err := s.Update(ctx(t), first); err != nil {
		t.Fatal(err)
	}
	stale := o // still version 1
	stale.Status = broker.StatusRejected
	_, err := s.Update(ctx(t), stale)
	wantKind(t, err, errors.ErrStaleVersion)
	var oe *errors.OrderError
	if !errors.As(err, &oe) || oe.LocalID != o.LocalID {
		t.Errorf("error %v is not an *errors.OrderError naming %s", err, o.LocalID)
	}
	read, _ := s.Get(ctx(t), o.LocalID)
	if read.Status != broker.StatusNew || read.Version != 2 {
		t.Errorf("after a stale update: status %s version %d, want new version 2", read.Status, read.Version)
	}
}

func testUpdateUnknown(t *testing.T, s order.Store) {
	o := sample(1)
	o.Version = 1
	_, err := s.Update(ctx(t), o)
	wantKind(t, err, errors.ErrOrderNotFound)
}

func testLookupsNotFound(t *testing.T, s order.Store) {
	mustCreate(t, s, sample(1))
	_, err := s.Get(ctx(t), "nope")
	wantKind(t, err, errors.ErrOrderNotFound)
	_, err = s.ByClientOrderID(ctx(t), account, "nope")
	wantKind(t, err, errors.ErrOrderNotFound)
	_, err = s.ByBrokerOrderID(ctx(t), account, "nope")
	wantKind(t, err, errors.ErrOrderNotFound)
	list, err := s.BySymbol(ctx(t), account, "MSFT")
	if err != nil || len(list) != 0 {
		t.Errorf("BySymbol(unknown) = %d orders, %v; want none, nil", len(list), err)
	}
}

func testByBrokerOrderID(t *testing.T, s order.Store) {
	o := mustCreate(t, s, sample(1))
	if _, err := s.ByBrokerOrderID(ctx(t), account, "B1"); !errors.Is(err, errors.ErrOrderNotFound) {
		t.Fatalf("found by broker id before it had one: %v", err)
	}
	o.BrokerOrderID = "B1"
	o.Status = broker.StatusNew
	if _, err := s.Update(ctx(t), o); err != nil {
		t.Fatal(err)
	}
	got, err := s.ByBrokerOrderID(ctx(t), account, "B1")
	if err != nil || got.LocalID != o.LocalID {
		t.Fatalf("ByBrokerOrderID = %s, %v; want %s", got.LocalID, err, o.LocalID)
	}
	byClient, err := s.ByClientOrderID(ctx(t), account, o.ClientOrderID)
	if err != nil || byClient.LocalID != o.LocalID {
		t.Fatalf("ByClientOrderID = %s, %v; want %s", byClient.LocalID, err, o.LocalID)
	}
}

func localIDs(os []order.Order) []string {
	out := make([]string, len(os))
	for i, o := range os {
		out[i] = o.LocalID
	}
	return out
}

func testBySymbol(t *testing.T, s order.Store) {
	for i := 1; i <= 4; i++ {
		o := sample(i)
		if i%2 == 0 {
			o.Instrument = broker.Instrument{Symbol: "BTC-USD", AssetClass: broker.Crypto}
		}
		o.CreatedAt = at.Add(time.Duration(i) * time.Second)
		mustCreate(t, s, o)
	}
	got, err := s.BySymbol(ctx(t), account, "BTC-USD")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"local002", "local004"}, localIDs(got)); diff != "" {
		t.Errorf("BySymbol (-want +got):\n%s", diff)
	}
}

func testOpen(t *testing.T, s order.Store) {
	statuses := []broker.Status{broker.StatusPendingNew, broker.StatusFilled, broker.StatusNew,
		broker.StatusCanceled, broker.StatusPartiallyFilled, broker.StatusRejected,
		broker.StatusPendingCancel, broker.StatusExpired, broker.StatusPendingReplace, broker.StatusReplaced}
	var want []string
	for i, st := range statuses {
		o := sample(i)
		o.Status = st
		o.CreatedAt = at.Add(time.Duration(i) * time.Second)
		mustCreate(t, s, o)
		if !st.Terminal() {
			want = append(want, o.LocalID)
		}
	}
	got, err := s.Open(ctx(t), account)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, localIDs(got)); diff != "" {
		t.Errorf("Open (-want +got):\n%s", diff)
	}
	// An order leaves Open when it becomes terminal.
	first := got[0]
	first.Status = broker.StatusCanceled
	if _, err := s.Update(ctx(t), first); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Open(ctx(t), account)
	if diff := cmp.Diff(want[1:], localIDs(got)); diff != "" {
		t.Errorf("Open after a cancel (-want +got):\n%s", diff)
	}
}

func testCopies(t *testing.T, s order.Store) {
	o := filled(1)
	created := mustCreate(t, s, o)
	created.Fills[0].ExecID = "changed"
	o.Fills[1].ExecID = "changed too"
	read, err := s.Get(ctx(t), o.LocalID)
	if err != nil {
		t.Fatal(err)
	}
	read.Fills[0].Quantity = decimal.NewFromInt(99)
	again, _ := s.Get(ctx(t), o.LocalID)
	if again.Fills[0].ExecID != "e1" || again.Fills[1].ExecID != "e2" || !again.Fills[0].Quantity.Equal(decimal.NewFromInt(10)) {
		t.Errorf("a caller's change reached the store: fills %+v", again.Fills)
	}
}

func testConcurrentUpdates(t *testing.T, s order.Store) {
	o := mustCreate(t, s, sample(1))
	const writers = 8
	var wg sync.WaitGroup
	results := make([]error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := o
			mine.RawStatus = fmt.Sprintf("writer %d", i)
			_, results[i] = s.Update(context.Background(), mine)
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range results {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, errors.ErrStaleVersion):
			t.Errorf("unexpected error %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d concurrent updates of version 1 succeeded, want exactly 1", wins)
	}
	read, _ := s.Get(ctx(t), o.LocalID)
	if read.Version != 2 {
		t.Errorf("version = %d, want 2", read.Version)
	}
}

// otherAccount is a second account sharing the store with account.
const otherAccount = "acct-2"

// inAccount returns sample(n) in the given account; the local id stays
// unique across accounts, the client order id is sample(n)'s.
func inAccount(n int, acct string) order.Order {
	o := sample(n)
	o.Account = acct
	o.LocalID = fmt.Sprintf("%s-local%03d", acct, n)
	return o
}

func testAccountsShareIDs(t *testing.T, s order.Store) {
	a := inAccount(1, account)
	a.BrokerOrderID = "B1"
	b := inAccount(1, otherAccount)
	b.BrokerOrderID = "B1"
	if a.ClientOrderID != b.ClientOrderID {
		t.Fatal("ordertest: the two samples must share a client order id")
	}
	mustCreate(t, s, a)
	mustCreate(t, s, b)
	// A broker order id set by Update may repeat across accounts too.
	c := mustCreate(t, s, inAccount(2, account))
	d := mustCreate(t, s, inAccount(2, otherAccount))
	for _, o := range []order.Order{c, d} {
		o.BrokerOrderID = "B2"
		o.Status = broker.StatusNew
		if _, err := s.Update(ctx(t), o); err != nil {
			t.Fatalf("Update(%s) with a broker id another account holds: %v", o.LocalID, err)
		}
	}
	for _, tc := range []struct {
		acct, client, brokerID, want string
	}{
		{account, a.ClientOrderID, "B1", a.LocalID},
		{otherAccount, b.ClientOrderID, "B1", b.LocalID},
		{account, c.ClientOrderID, "B2", c.LocalID},
		{otherAccount, d.ClientOrderID, "B2", d.LocalID},
	} {
		got, err := s.ByClientOrderID(ctx(t), tc.acct, tc.client)
		if err != nil || got.LocalID != tc.want {
			t.Errorf("ByClientOrderID(%s, %s) = %s, %v; want %s", tc.acct, tc.client, got.LocalID, err, tc.want)
		}
		got, err = s.ByBrokerOrderID(ctx(t), tc.acct, tc.brokerID)
		if err != nil || got.LocalID != tc.want {
			t.Errorf("ByBrokerOrderID(%s, %s) = %s, %v; want %s", tc.acct, tc.brokerID, got.LocalID, err, tc.want)
		}
	}
}

func testAccountScopedLookups(t *testing.T, s order.Store) {
	// Interleaved creations in two accounts, one symbol, all open but one
	// per account.
	var mine, theirs []string
	for i := 1; i <= 3; i++ {
		for _, acct := range []string{account, otherAccount} {
			o := inAccount(i, acct)
			o.BrokerOrderID = fmt.Sprintf("B%d", i)
			if i == 2 {
				o.Status = broker.StatusFilled
			}
			mustCreate(t, s, o)
			if acct == account {
				mine = append(mine, o.LocalID)
			} else {
				theirs = append(theirs, o.LocalID)
			}
		}
	}
	open := func(ids []string) []string { return []string{ids[0], ids[2]} }
	for _, tc := range []struct {
		acct       string
		wantSymbol []string
		wantOpen   []string
	}{
		{account, mine, open(mine)},
		{otherAccount, theirs, open(theirs)},
		{"acct-none", nil, nil},
	} {
		got, err := s.BySymbol(ctx(t), tc.acct, "AAPL")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.wantSymbol, localIDs(got), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("BySymbol(%s) (-want +got):\n%s", tc.acct, diff)
		}
		got, err = s.Open(ctx(t), tc.acct)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.wantOpen, localIDs(got), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("Open(%s) (-want +got):\n%s", tc.acct, diff)
		}
	}
	// A lookup in an account that holds neither id finds nothing.
	_, err := s.ByClientOrderID(ctx(t), "acct-none", sample(1).ClientOrderID)
	wantKind(t, err, errors.ErrOrderNotFound)
	_, err = s.ByBrokerOrderID(ctx(t), "acct-none", "B1")
	wantKind(t, err, errors.ErrOrderNotFound)
	// The empty string is an account like any other.
	_, err = s.ByClientOrderID(ctx(t), "", sample(1).ClientOrderID)
	wantKind(t, err, errors.ErrOrderNotFound)
}

func testCreateDuplicateBrokerID(t *testing.T, s order.Store) {
	first := sample(1)
	first.BrokerOrderID = "B1"
	mustCreate(t, s, first)
	dup := sample(2)
	dup.BrokerOrderID = "B1"
	_, err := s.Create(ctx(t), dup)
	wantKind(t, err, errors.ErrDuplicateOrder)
	var oe *errors.OrderError
	if !errors.As(err, &oe) {
		t.Errorf("error %v is not an *errors.OrderError", err)
	}
	if _, err := s.Get(ctx(t), dup.LocalID); !errors.Is(err, errors.ErrOrderNotFound) {
		t.Errorf("the refused record was stored: Get error %v", err)
	}
	got, err := s.ByBrokerOrderID(ctx(t), account, "B1")
	if err != nil || got.LocalID != first.LocalID {
		t.Errorf("ByBrokerOrderID(B1) = %s, %v; want %s", got.LocalID, err, first.LocalID)
	}
}

func testUpdateDuplicateBrokerID(t *testing.T, s order.Store) {
	first := sample(1)
	first.BrokerOrderID = "B1"
	mustCreate(t, s, first)
	second := mustCreate(t, s, sample(2))
	taking := second
	taking.BrokerOrderID = "B1"
	taking.Status = broker.StatusNew
	_, err := s.Update(ctx(t), taking)
	wantKind(t, err, errors.ErrDuplicateOrder)
	var oe *errors.OrderError
	if !errors.As(err, &oe) || oe.LocalID != second.LocalID {
		t.Errorf("error %v is not an *errors.OrderError naming %s", err, second.LocalID)
	}
	read, err := s.Get(ctx(t), second.LocalID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(second, read, orderCmp); diff != "" {
		t.Errorf("the refused update stored something (-want +got):\n%s", diff)
	}
	// The refused record can still take a free id at the same version.
	taking.BrokerOrderID = "B2"
	if _, err := s.Update(ctx(t), taking); err != nil {
		t.Errorf("Update with a free broker id after a refusal: %v", err)
	}
}

func testUpdateImmutable(t *testing.T, s order.Store) {
	tests := []struct {
		name   string
		acked  bool // created with a broker order id
		change func(*order.Order)
	}{
		{"Account", false, func(o *order.Order) { o.Account = otherAccount }},
		{"AccountToEmpty", false, func(o *order.Order) { o.Account = "" }},
		{"Symbol", false, func(o *order.Order) { o.Instrument.Symbol = "MSFT" }},
		{"ClientOrderID", false, func(o *order.Order) { o.ClientOrderID = "client-other" }},
		{"BrokerOrderIDOnceSet", true, func(o *order.Order) { o.BrokerOrderID = "B-other" }},
		{"BrokerOrderIDClearedOnceSet", true, func(o *order.Order) { o.BrokerOrderID = "" }},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// One store for every case: each uses its own ids.
			o := sample(10 + i)
			if tc.acked {
				o.BrokerOrderID = fmt.Sprintf("B%03d", 10+i)
			}
			created := mustCreate(t, s, o)
			changed := created
			tc.change(&changed)
			changed.RawStatus = "changed"
			_, err := s.Update(ctx(t), changed)
			wantKind(t, err, errors.ErrInvalidOrder)
			var oe *errors.OrderError
			if !errors.As(err, &oe) {
				t.Errorf("error %v is not an *errors.OrderError", err)
			}
			read, err := s.Get(ctx(t), created.LocalID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(created, read, orderCmp); diff != "" {
				t.Errorf("the refused update stored something (-want +got):\n%s", diff)
			}
		})
	}
}

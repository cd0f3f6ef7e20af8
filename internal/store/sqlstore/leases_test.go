package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
)

// openPostgres opens a fresh PostgreSQL database and returns it with its
// DSN (skipped without one, see sqltest).
func openPostgres(t *testing.T, opts ...sqlstore.Option) (*sqlstore.DB, string) {
	t.Helper()
	dsn := sqltest.DSN(t, sqlstore.DialectPostgres)
	db, err := sqlstore.Open(context.Background(), dsn, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db, dsn
}

func take(t *testing.T, db *sqlstore.DB, owner, ws string, force bool) (int64, bool) {
	t.Helper()
	got, err := db.TakeLeases(context.Background(), owner, owner+":8080", []string{ws}, time.Minute, force)
	if err != nil {
		t.Fatalf("take %s as %s: %v", ws, owner, err)
	}
	epoch, ok := got[ws]
	return epoch, ok
}

// TestDB_Leases: a lease is taken when free, extended by its holder at the
// same epoch, refused to others while live, and taken at a higher epoch by
// force, after it ran out, after it was released, or by a successor at
// the holder's address.
func TestDB_Leases(t *testing.T) {
	db, dsn := openPostgres(t)
	ctx := context.Background()
	const ws = "ws-lease"
	steps := []struct {
		what  string
		do    func()
		owner string
		// address is where owner serves; owner:8080 when empty.
		address string
		force   bool
		epoch   int64
		taken   bool
	}{
		{what: "free", owner: "a", epoch: 1, taken: true},
		{what: "held by a, asked by a", owner: "a", epoch: 1, taken: true},
		{what: "held by a, asked by b", owner: "b", taken: false},
		{what: "held by a, forced by b", owner: "b", force: true, epoch: 2, taken: true},
		{what: "run out, asked by a", do: func() { sqltest.ExpireLeases(t, dsn, ws) }, owner: "a", epoch: 3, taken: true},
		{what: "released, asked by b", do: func() {
			if err := db.ReleaseLeases(ctx, "a", []string{ws}); err != nil {
				t.Fatal(err)
			}
		}, owner: "b", epoch: 4, taken: true},
		{what: "run out, asked by its holder", do: func() { sqltest.ExpireLeases(t, dsn, ws) }, owner: "b", epoch: 5, taken: true},
		{what: "held by b, asked by a successor at b's address", owner: "b2", address: "b:8080", epoch: 6, taken: true},
		{what: "held by b2, asked by a", owner: "a", taken: false},
	}
	for _, s := range steps {
		if s.do != nil {
			s.do()
		}
		addr := s.address
		if addr == "" {
			addr = s.owner + ":8080"
		}
		got, err := db.TakeLeases(ctx, s.owner, addr, []string{ws}, time.Minute, s.force)
		if err != nil {
			t.Fatal(err)
		}
		epoch, taken := got[ws]
		if taken != s.taken || (taken && epoch != s.epoch) {
			t.Errorf("%s: taken %v at epoch %d, want taken %v at %d", s.what, taken, epoch, s.taken, s.epoch)
		}
	}
	h, err := db.LeaseOf(ctx, ws)
	if err != nil || h.Owner != "b2" || h.Address != "b:8080" || h.Epoch != 6 || !h.Live {
		t.Errorf("LeaseOf: %+v %v", h, err)
	}
	if _, err := db.LeaseOf(ctx, "ws-never"); model.ErrorCode(err) != model.ENOTFOUND {
		t.Errorf("LeaseOf a workspace never leased: %v, want ENOTFOUND", err)
	}

	renewed, err := db.RenewLeases(ctx, "b2", []string{ws}, time.Minute)
	if err != nil || renewed[ws] != 6 {
		t.Errorf("renewal by the holder: %v %v", renewed, err)
	}
	if renewed, _ := db.RenewLeases(ctx, "a", []string{ws}, time.Minute); len(renewed) != 0 {
		t.Errorf("renewal by a process that lost the lease: %v, want none", renewed)
	}
	sqltest.ExpireLeases(t, dsn, ws)
	if lapsed, err := db.LapsedLeases(ctx); err != nil || len(lapsed) != 1 || lapsed[0] != ws {
		t.Errorf("LapsedLeases: %v %v", lapsed, err)
	}
	if renewed, _ := db.RenewLeases(ctx, "b2", []string{ws}, time.Minute); len(renewed) != 0 {
		t.Errorf("renewal of a lease that ran out: %v, want none (it is lost)", renewed)
	}
	if err := db.ReleaseLeases(ctx, "b2", []string{ws}); err != nil {
		t.Fatal(err)
	}
	if lapsed, _ := db.LapsedLeases(ctx); len(lapsed) != 0 {
		t.Errorf("a released lease counts as lapsed: %v", lapsed)
	}
}

// TestDB_PersistFenced: a batch commits only under the workspace's current
// lease; one under a lease taken away or run out writes nothing and fails
// with store.ErrFenced.
func TestDB_PersistFenced(t *testing.T) {
	db, dsn := openPostgres(t)
	ctx := context.Background()
	const ws = "ws-fence"
	st := newStore(t, ws, nil)
	write := func(id string, l store.Lease) error {
		res := newResource(ws)
		res.ID = id
		return db.Persist(ctx, store.Batch{WorkspaceID: ws, Lease: &l,
			Changes: []store.Change{{Table: store.Resources, Key: id, After: res}}})
	}
	epoch, _ := take(t, db, "a", ws, false)
	if err := write("r-a1", store.Lease{Owner: "a", Epoch: epoch}); err != nil {
		t.Fatalf("write under the current lease: %v", err)
	}
	take(t, db, "b", ws, true)
	err := write("r-a2", store.Lease{Owner: "a", Epoch: epoch})
	if !errors.Is(err, store.ErrFenced) || model.ErrorCode(err) != model.EUNAVAILABLE {
		t.Fatalf("write under a lease taken away: %v, want ErrFenced", err)
	}
	if sqlstore.OutcomeUnknown(err) {
		t.Error("a fenced write counts as of unknown outcome; it was rolled back before COMMIT")
	}
	epoch, _ = take(t, db, "b", ws, false)
	sqltest.ExpireLeases(t, dsn, ws)
	if err := write("r-b1", store.Lease{Owner: "b", Epoch: epoch}); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("write under a lease that ran out: %v, want ErrFenced", err)
	}
	if _, err := db.LoadWorkspace(ctx, ws, st); err != nil {
		t.Fatal(err)
	}
	if got := store.Resources.Items(st.Snapshot()); len(got) != 1 || got[0].ID != "r-a1" {
		t.Errorf("stored resources %v, want only r-a1", got)
	}
}

// TestDB_TakeoverWaitsForTheCommitInHand: a process taking a workspace over
// while its old owner is in the middle of a commit waits for that commit to
// end, so that what it loads afterwards holds it; the old owner's next
// commit is fenced.
func TestDB_TakeoverWaitsForTheCommitInHand(t *testing.T) {
	entered := make(chan struct{})
	proceed := make(chan struct{})
	hold := make(chan bool, 1)
	db, dsn := openPostgres(t, sqlstore.WithStatementHook(func(int) error {
		select {
		case <-hold:
			close(entered)
			<-proceed
		default:
		}
		return nil
	}))
	ctx := context.Background()
	const ws = "ws-takeover"
	epoch, _ := take(t, db, "old", ws, false)
	res := newResource(ws)
	hold <- true
	committed := make(chan error, 1)
	go func() {
		committed <- db.Persist(ctx, store.Batch{WorkspaceID: ws, Lease: &store.Lease{Owner: "old", Epoch: epoch},
			Changes: []store.Change{{Table: store.Resources, Key: res.ID, After: res}}})
	}()
	<-entered // the fence has run: the lease row is locked
	taken := make(chan int64, 1)
	go func() {
		got, err := db.TakeLeases(ctx, "new", "new:8080", []string{ws}, time.Minute, true)
		if err != nil {
			t.Error(err)
		}
		taken <- got[ws]
	}()
	waitUntil(t, "the takeover waits on the lease row", func() bool { return sqltest.WaitingOn(t, dsn, "workspace_lease") })
	select {
	case <-taken:
		t.Fatal("the takeover went through while the old owner's commit was in hand")
	default:
	}
	close(proceed)
	if err := <-committed; err != nil {
		t.Fatalf("the commit in hand: %v", err)
	}
	if got := <-taken; got != epoch+1 {
		t.Errorf("takeover at epoch %d, want %d", got, epoch+1)
	}
	st := newStore(t, ws, nil)
	if _, err := db.LoadWorkspace(ctx, ws, st); err != nil {
		t.Fatal(err)
	}
	if !store.Resources.Has(st.Snapshot(), res.ID) {
		t.Error("the new owner's load lacks the commit that was in hand during the takeover")
	}
	again := db.Persist(ctx, store.Batch{WorkspaceID: ws, Lease: &store.Lease{Owner: "old", Epoch: epoch},
		Changes: []store.Change{{Table: store.Resources, Key: res.ID, After: nil}}})
	if !errors.Is(again, store.ErrFenced) {
		t.Errorf("the old owner's next commit: %v, want ErrFenced", again)
	}
}

// waitUntil polls cond until it holds, failing after a generous deadline.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDB_Partitions: a partition's floor only rises, its owner is the last
// claimant, and dead letters of records naming no workspace are kept once.
func TestDB_Partitions(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		db := sqltest.Open(t, dialect)
		ctx := context.Background()
		if err := db.ClaimPartitions(ctx, "events", []int32{0, 1}, "a", "a:1"); err != nil {
			t.Fatal(err)
		}
		orphan := &model.DeadLetter{LogPosition: model.LogPosition{Topic: "events", Partition: 1, Offset: 7},
			Value: "x", ValueEncoding: model.ValueText, Error: "no key", Code: model.EINVALID, RecordedAt: fixtureTime}
		for _, next := range []int64{10, 4} {
			if err := db.AdvancePartition(ctx, "events", 1, next, []*model.DeadLetter{orphan}); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.ClaimPartitions(ctx, "events", []int32{1}, "b", "b:1"); err != nil {
			t.Fatal(err)
		}
		parts, err := db.Partitions(ctx, "events")
		if err != nil {
			t.Fatal(err)
		}
		if p := parts[1]; p.Next != 10 || p.Owner != "b" || p.Address != "b:1" {
			t.Errorf("partition 1: %+v, want next 10 owned by b", p)
		}
		if p := parts[0]; p.Next != 0 || p.Owner != "a" {
			t.Errorf("partition 0: %+v", p)
		}
		dls, err := db.OrphanDeadLetters(ctx)
		if err != nil || len(dls) != 1 || dls[0].Offset != 7 {
			t.Errorf("orphan dead letters: %v %v", dls, err)
		}
	})
}

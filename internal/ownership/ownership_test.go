package ownership_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/ownership"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-dev/gatehouse/internal/telemetry/telemetrytest"
)

// TestLockFile: while one holder has the database file, another is refused
// at once with a message naming the holder; once released it can be taken.
func TestLockFile(t *testing.T) {
	db := filepath.Join(t.TempDir(), "gatehouse.db")
	since := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	first, err := ownership.LockFile(db, ownership.Holder{PID: 4242, Address: "127.0.0.1:0", Since: since})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Record(ownership.Holder{PID: 4242, Address: "127.0.0.1:8080", Since: since}); err != nil {
		t.Fatal(err)
	}
	_, err = ownership.LockFile(db, ownership.Holder{PID: 7, Address: "127.0.0.1:9090"})
	var held *ownership.HeldError
	if !errors.As(err, &held) {
		t.Fatalf("second lock: %v, want a HeldError", err)
	}
	for _, want := range []string{"gatehouse.db.lock", "pid 4242", "127.0.0.1:8080", "2030-01-02T03:04:05Z"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not say %q", err, want)
		}
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second, err := ownership.LockFile(db, ownership.Holder{PID: 7, Address: "127.0.0.1:9090"})
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	defer second.Close()
	raw, _ := os.ReadFile(ownership.LockPath(db))
	if !strings.Contains(string(raw), `"pid":7`) || strings.Contains(string(raw), "4242") {
		t.Errorf("lock file after the second holder took it: %s", raw)
	}
}

// clock is a local clock the test moves.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// failing is a lease store whose renewals fail while down is set.
type failing struct {
	ownership.LeaseStore
	mu   sync.Mutex
	down bool
}

func (f *failing) RenewLeases(ctx context.Context, owner string, ids []string, ttl time.Duration) (map[string]int64, error) {
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	if down {
		return nil, model.Errorf(model.EUNAVAILABLE, "database unreachable")
	}
	return f.LeaseStore.RenewLeases(ctx, owner, ids, ttl)
}

type losses struct {
	mu  sync.Mutex
	ids []string
}

func (l *losses) lost(ws, _ string) { l.mu.Lock(); l.ids = append(l.ids, ws); l.mu.Unlock() }
func (l *losses) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.ids...)
}

func newLeases(db ownership.LeaseStore, owner string, c *clock, lost *losses, adopt func(string)) *ownership.Leases {
	return ownership.NewLeases(ownership.LeaseConfig{Store: db, Owner: owner, Address: owner + ":8080", Now: c.Now,
		OnLost: lost.lost, Adopt: adopt, AdoptLapsed: adopt != nil, Logger: slog.New(slog.DiscardHandler)})
}

// TestLeases_LostToAnotherProcess: a lease another process took by force
// is lost on the next renewal, and stops fencing at once; the loss is
// counted and the lease no longer counts as held.
func TestLeases_LostToAnotherProcess(t *testing.T) {
	db := sqltest.Open(t, sqlstore.DialectPostgres)
	ctx := context.Background()
	c := &clock{now: time.Now()}
	var lostA losses
	reg := prometheus.NewRegistry()
	a := ownership.NewLeases(ownership.LeaseConfig{Store: db, Owner: "a", Address: "a:8080", Now: c.Now,
		OnLost: lostA.lost, Logger: slog.New(slog.DiscardHandler), Registerer: reg})
	b := newLeases(db, "b", c, &losses{}, nil)
	if got, err := a.Take(ctx, []string{"ws1", "ws2"}, false); err != nil || len(got) != 2 {
		t.Fatalf("a takes: %v %v", got, err)
	}
	if got, _ := b.Take(ctx, []string{"ws1"}, false); len(got) != 0 {
		t.Fatalf("b took a live lease of a without force: %v", got)
	}
	if held, lost := telemetrytest.Value(t, reg, "gatehouse_leases_held"), telemetrytest.Value(t, reg, "gatehouse_lease_losses_total"); held != 2 || lost != 0 {
		t.Errorf("a's metrics before the takeover: %v held, %v lost; want 2 and 0", held, lost)
	}
	if got, _ := b.Take(ctx, []string{"ws1"}, true); len(got) != 1 {
		t.Fatalf("b's forced take: %v", got)
	}
	a.RenewOnce(ctx)
	if got := lostA.all(); len(got) != 1 || got[0] != "ws1" {
		t.Errorf("a lost %v, want [ws1]", got)
	}
	if a.Owns("ws1") || !a.Owns("ws2") || !b.Owns("ws1") {
		t.Errorf("owns after the renewal: a ws1 %v ws2 %v, b ws1 %v", a.Owns("ws1"), a.Owns("ws2"), b.Owns("ws1"))
	}
	if held, lost := telemetrytest.Value(t, reg, "gatehouse_leases_held"), telemetrytest.Value(t, reg, "gatehouse_lease_losses_total"); held != 1 || lost != 1 {
		t.Errorf("a's metrics after the takeover: %v held, %v lost; want 1 and 1", held, lost)
	}
	l, ok := b.Fence("ws1")
	if !ok || l.Owner != "b" || l.Epoch != 2 {
		t.Errorf("b's fence: %+v %v, want b at epoch 2", l, ok)
	}
}

// TestLeases_NotRenewedInTime: while the database cannot be reached a lease
// counts as held until its time is up by the local clock, then it is lost.
func TestLeases_NotRenewedInTime(t *testing.T) {
	db := &failing{LeaseStore: sqltest.Open(t, sqlstore.DialectPostgres)}
	ctx := context.Background()
	c := &clock{now: time.Now()}
	var lost losses
	l := newLeases(db, "a", c, &lost, nil)
	if _, err := l.Take(ctx, []string{"ws"}, false); err != nil {
		t.Fatal(err)
	}
	db.mu.Lock()
	db.down = true
	db.mu.Unlock()
	c.Advance(ownership.DefaultLeaseTTL - time.Second)
	l.RenewOnce(ctx)
	if !l.Owns("ws") || len(lost.all()) != 0 {
		t.Fatalf("within its time a lease not renewed: owns %v, lost %v", l.Owns("ws"), lost.all())
	}
	c.Advance(2 * time.Second)
	if l.Owns("ws") {
		t.Error("a lease past its time still fences commits")
	}
	l.RenewOnce(ctx)
	if got := lost.all(); len(got) != 1 {
		t.Errorf("lost %v after its time, want [ws]", got)
	}
}

// TestLeases_AdoptLapsed: a process takes over the leases another stopped
// renewing, and not the ones released.
func TestLeases_AdoptLapsed(t *testing.T) {
	dsn := sqltest.DSN(t, sqlstore.DialectPostgres)
	db, err := sqlstore.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	c := &clock{now: time.Now()}
	dead := newLeases(db, "dead", c, &losses{}, nil)
	if _, err := dead.Take(ctx, []string{"crashed", "released"}, false); err != nil {
		t.Fatal(err)
	}
	dead.Release(ctx, "released")
	sqltest.ExpireLeases(t, dsn, "crashed")
	var adopted []string
	heir := newLeases(db, "heir", c, &losses{}, func(ws string) { adopted = append(adopted, ws) })
	heir.RenewOnce(ctx)
	if len(adopted) != 1 || adopted[0] != "crashed" || !heir.Owns("crashed") {
		t.Errorf("adopted %v, want [crashed]", adopted)
	}
}

// TestLeases_Route: a workspace another process holds is served there; one
// nobody holds is taken by a write, by a read only when stored; a lease
// left by a previous process at this address is taken at once.
func TestLeases_Route(t *testing.T) {
	db := sqltest.Open(t, sqlstore.DialectPostgres)
	ctx := context.Background()
	c := &clock{now: time.Now()}
	a := newLeases(db, "a", c, &losses{}, nil)
	b := newLeases(db, "b", c, &losses{}, nil)
	stored := func(_ context.Context, ws string) (bool, error) { return ws == "ws-stored", nil }
	if _, err := a.Take(ctx, []string{"ws-a"}, false); err != nil {
		t.Fatal(err)
	}
	if addr, err := b.Route(ctx, "ws-a", true, stored); err != nil || addr != "a:8080" {
		t.Errorf("route of a's workspace from b: %q %v, want a:8080", addr, err)
	}
	if addr, err := b.Route(ctx, "ws-new", true, stored); err != nil || addr != "" || !b.Owns("ws-new") {
		t.Errorf("a write to a new workspace: %q %v owns %v, want served (and taken) here", addr, err, b.Owns("ws-new"))
	}
	if _, err := b.Route(ctx, "ws-missing", false, stored); model.ErrorCode(err) != model.ENOTFOUND || b.Owns("ws-missing") {
		t.Errorf("a read of a missing workspace: %v, want ENOTFOUND without a lease", err)
	}
	if addr, err := b.Route(ctx, "ws-stored", false, stored); err != nil || addr != "" || !b.Owns("ws-stored") {
		t.Errorf("a read of a stored workspace nobody holds: %q %v", addr, err)
	}
	successor := ownership.NewLeases(ownership.LeaseConfig{Store: db, Owner: "a2", Address: "a:8080", Now: c.Now,
		Logger: slog.New(slog.DiscardHandler)})
	if addr, err := successor.Route(ctx, "ws-a", true, stored); err != nil || addr != "" || !successor.Owns("ws-a") {
		t.Errorf("route of a lease a dead predecessor at this address holds: %q %v, want taken here", addr, err)
	}
	if err := a.TakeOver(ctx, "ws-a"); err != nil || !a.Owns("ws-a") {
		t.Errorf("TakeOver: %v", err)
	}
}

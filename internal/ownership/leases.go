package ownership

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
)

// Defaults of LeaseConfig.
const (
	DefaultLeaseTTL   = 10 * time.Second
	DefaultLeaseRenew = 3 * time.Second
)

// LeaseStore is the database side of leases (sqlstore.DB).
type LeaseStore interface {
	TakeLeases(ctx context.Context, owner, address string, ids []string, ttl time.Duration, force bool) (map[string]int64, error)
	RenewLeases(ctx context.Context, owner string, ids []string, ttl time.Duration) (map[string]int64, error)
	ReleaseLeases(ctx context.Context, owner string, ids []string) error
	LeaseOf(ctx context.Context, ws string) (sqlstore.LeaseHolder, error)
	LapsedLeases(ctx context.Context) ([]string, error)
}

// LeaseConfig configures Leases.
type LeaseConfig struct {
	Store LeaseStore
	// Owner identifies this process; unique per process start.
	Owner string
	// Address is where this process serves the API, for the others to
	// forward requests to.
	Address string
	// TTL is how long a lease lasts unless renewed; Renew how often held
	// leases are renewed. DefaultLeaseTTL and DefaultLeaseRenew when zero.
	TTL, Renew time.Duration
	// Now is the local clock that times leases; time.Now when nil. A lease
	// counts as held until TTL after the start of the call that took or
	// last renewed it: never later than the database's own expiry.
	Now func() time.Time
	// OnLost is told of every lease lost (taken by another process, run
	// out, or not renewed in time), after it stopped counting as held.
	OnLost func(workspaceID, why string)
	// Adopt, when set, is told of every lapsed lease this process took
	// over on a renewal round (see AdoptLapsed).
	Adopt func(workspaceID string)
	// AdoptLapsed makes every renewal round take the leases that ran out
	// without being released (their owner crashed), so that the
	// workspaces' timers and jobs go on. Without Kafka, where partition
	// assignment decides, every process does this.
	AdoptLapsed bool
	Logger      *slog.Logger
	// Registerer takes the lease metrics; none when nil.
	Registerer prometheus.Registerer
}

// Leases holds this process's workspace leases and renews them. It is safe
// for concurrent use.
type Leases struct {
	cfg    LeaseConfig
	log    *slog.Logger
	mu     sync.Mutex
	held   map[string]*held
	losses prometheus.Counter
}

// held is one lease this process holds.
type held struct {
	epoch int64
	until time.Time
}

// NewLeases returns a lease holder holding nothing; Run renews.
func NewLeases(cfg LeaseConfig) *Leases {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultLeaseTTL
	}
	if cfg.Renew <= 0 {
		cfg.Renew = DefaultLeaseRenew
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	l := &Leases{cfg: cfg, log: cfg.Logger, held: map[string]*held{},
		losses: prometheus.NewCounter(prometheus.CounterOpts{Name: "gatehouse_lease_losses_total",
			Help: "Workspace leases this process lost: taken by another process, run out or not renewed in time."})}
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(l.losses, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_leases_held",
			Help: "Workspace leases this process holds."}, func() float64 { return float64(len(l.Held())) }))
	}
	return l
}

// Owner returns this process's owner id.
func (l *Leases) Owner() string { return l.cfg.Owner }

// Fence returns the lease this process holds on ws, and whether it holds
// one that has not run out: engine.Config.Fence.
func (l *Leases) Fence(ws string) (store.Lease, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.held[ws]
	if h == nil || !l.cfg.Now().Before(h.until) {
		return store.Lease{}, false
	}
	return store.Lease{Owner: l.cfg.Owner, Epoch: h.epoch}, true
}

// Owns reports whether this process holds a live lease on ws: the
// dispatcher's Config.Owns.
func (l *Leases) Owns(ws string) bool {
	_, ok := l.Fence(ws)
	return ok
}

// Held returns the workspaces whose leases this process holds, sorted.
func (l *Leases) Held() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := make([]string, 0, len(l.held))
	for id := range l.held {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Take takes the leases of ids that are free (see sqlstore.TakeLeases), or
// all of them with force, and returns the ids this process holds
// afterwards.
func (l *Leases) Take(ctx context.Context, ids []string, force bool) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	start := l.cfg.Now()
	epochs, err := l.cfg.Store.TakeLeases(ctx, l.cfg.Owner, l.cfg.Address, ids, l.cfg.TTL, force)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, id := range ids {
		if epoch, ok := epochs[id]; ok {
			l.held[id] = &held{epoch: epoch, until: start.Add(l.cfg.TTL)}
			out = append(out, id)
		}
	}
	return out, nil
}

// Release gives up the leases of ids this process holds, so that another
// process may take them at once. A lease it does not hold is left alone.
func (l *Leases) Release(ctx context.Context, ids ...string) {
	l.mu.Lock()
	var mine []string
	for _, id := range ids {
		if l.held[id] != nil {
			delete(l.held, id)
			mine = append(mine, id)
		}
	}
	l.mu.Unlock()
	if len(mine) == 0 {
		return
	}
	if err := l.cfg.Store.ReleaseLeases(ctx, l.cfg.Owner, mine); err != nil {
		// They run out by themselves within the TTL.
		l.log.Warn("releasing workspace leases failed; they run out by themselves", "workspaces", len(mine), "err", err)
	}
}

// ReleaseAll gives up every lease this process holds (on shutdown).
func (l *Leases) ReleaseAll(ctx context.Context) { l.Release(ctx, l.Held()...) }

// Holder returns who holds the lease of ws; ENOTFOUND when nobody ever did.
func (l *Leases) Holder(ctx context.Context, ws string) (sqlstore.LeaseHolder, error) {
	return l.cfg.Store.LeaseOf(ctx, ws)
}

// Run renews the leases held every Renew until ctx ends.
func (l *Leases) Run(ctx context.Context) {
	tick := time.NewTicker(l.cfg.Renew)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		l.RenewOnce(ctx)
	}
}

// RenewOnce is one renewal round: every lease held is renewed, those the
// database no longer gives this process are lost (OnLost), and so are those
// that could not be renewed before they ran out. With AdoptLapsed it then
// takes the leases that lapsed.
func (l *Leases) RenewOnce(ctx context.Context) {
	ids := l.Held()
	start := l.cfg.Now()
	if len(ids) > 0 {
		renewed, err := l.cfg.Store.RenewLeases(ctx, l.cfg.Owner, ids, l.cfg.TTL)
		l.settle(ids, renewed, err, start)
	}
	if l.cfg.AdoptLapsed {
		l.adopt(ctx)
	}
}

// settle applies a renewal's answer to the leases asked about.
func (l *Leases) settle(ids []string, renewed map[string]int64, err error, start time.Time) {
	type loss struct{ id, why string }
	var lost []loss
	l.mu.Lock()
	for _, id := range ids {
		h := l.held[id]
		if h == nil {
			continue // released meanwhile
		}
		switch epoch, ok := renewed[id]; {
		case err != nil:
			if !l.cfg.Now().Before(h.until) {
				delete(l.held, id)
				lost = append(lost, loss{id, "it could not be renewed before it ran out: " + err.Error()})
			}
		case !ok || epoch != h.epoch:
			delete(l.held, id)
			lost = append(lost, loss{id, "another process took it, or it ran out before it was renewed"})
		default:
			h.until = start.Add(l.cfg.TTL)
		}
	}
	l.mu.Unlock()
	if err != nil && len(lost) == 0 {
		l.log.Warn("renewing workspace leases failed; retrying", "leases", len(ids), "err", err)
	}
	for _, x := range lost {
		l.losses.Inc()
		l.log.Warn("lost a workspace lease; the workspace is unloaded and its requests go to its new owner",
			"workspace", x.id, "why", x.why)
		if l.cfg.OnLost != nil {
			l.cfg.OnLost(x.id, x.why)
		}
	}
}

// adopt takes the leases that lapsed and tells Adopt of each.
func (l *Leases) adopt(ctx context.Context) {
	lapsed, err := l.cfg.Store.LapsedLeases(ctx)
	if err != nil || len(lapsed) == 0 {
		return
	}
	taken, err := l.Take(ctx, lapsed, false)
	if err != nil {
		l.log.Warn("taking over lapsed workspace leases failed", "err", err)
		return
	}
	for _, id := range taken {
		l.log.Info("took over a workspace whose owner stopped renewing its lease", "workspace", id)
		if l.cfg.Adopt != nil {
			l.cfg.Adopt(id)
		}
	}
}

// Route says which process serves workspace ws: "" for this one (it holds
// the lease, or took it now), else the advertised address of the process
// holding it. A write takes the lease of a workspace nobody holds, stored
// or not; a read takes it only for a stored workspace (stored reports
// whether it is), and for one not stored answers ENOTFOUND. A lease held at
// this process's own address is a dead predecessor's, and is taken.
func (l *Leases) Route(ctx context.Context, ws string, write bool, stored func(context.Context, string) (bool, error)) (string, error) {
	if l.Owns(ws) {
		return "", nil
	}
	for attempt := 0; attempt < 3; attempt++ {
		h, err := l.cfg.Store.LeaseOf(ctx, ws)
		switch {
		case err == nil && h.Live && h.Owner != l.cfg.Owner && h.Address != l.cfg.Address:
			return h.Address, nil
		case err != nil && model.ErrorCode(err) != model.ENOTFOUND:
			return "", err
		}
		if !write {
			ok, err := stored(ctx, ws)
			if err != nil {
				return "", err
			}
			if !ok {
				return "", model.Errorf(model.ENOTFOUND, "workspace %q not found", ws)
			}
		}
		taken, err := l.Take(ctx, []string{ws}, false)
		if err != nil {
			return "", err
		}
		if len(taken) == 1 {
			return "", nil
		}
		// Another process took it between the look and the take: ask again.
	}
	return "", model.Errorf(model.EUNAVAILABLE, "workspace %s is changing owners; retry shortly", ws)
}

// TakeOver takes the lease of ws by force: its holder did not answer a
// request forwarded to it. If it lives after all, its next commit is
// fenced and it gives the workspace up.
func (l *Leases) TakeOver(ctx context.Context, ws string) error {
	taken, err := l.Take(ctx, []string{ws}, true)
	if err == nil && len(taken) == 0 {
		err = model.Errorf(model.EUNAVAILABLE, "workspace %s could not be taken over; retry shortly", ws)
	}
	if err == nil {
		l.log.Warn("took over a workspace whose owner did not answer", "workspace", ws)
	}
	return err
}

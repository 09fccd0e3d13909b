package sqlpact

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
)

// roleSQL says whether a host takes writes: a standby in recovery does not, nor does a
// server whose sessions default to read-only (how failover managers fence an old
// primary).
const roleSQL = "SELECT pg_catalog.pg_is_in_recovery() OR pg_catalog.current_setting('transaction_read_only') = 'on'"

// Role is a host's role, as roleSQL last said.
type Role int32

const (
	RoleUnknown Role = iota
	RolePrimary
	RoleReplica
)

func (r Role) String() string {
	switch r {
	case RolePrimary:
		return "primary"
	case RoleReplica:
		return "replica"
	}
	return "unknown"
}

// Options configures a DB beyond the contract's policies.
type Options struct {
	// Hosts are connection strings (libpq keyword/value or URL); the first is tried
	// first.
	Hosts []string
	// Seed seeds backoff, breaker and lifetime jitter (0: from the clock). The same
	// seed gives the same delays in Go and Rust.
	Seed uint64
	// Observer receives every runtime event.
	Observer Observer
	// Budget is the retry budget per host (zero: 20% of requests plus 10/s over 10 s).
	Budget BudgetConfig
	// AfterConnect, when set, runs on every new connection once the runtime has
	// learned the host's role: the generated package's RegisterTypes, for example. A
	// connection it fails is closed.
	AfterConnect func(ctx context.Context, c *pgx.Conn) error
}

type host struct {
	name string
	pool *pgxpool.Pool
	role atomic.Int32
	// mu guards breaker. closed mirrors whether the breaker is closed, so that the
	// requests of a healthy host, which a closed breaker lets through without
	// changing, take no lock; it changes with the breaker's state, under mu.
	mu      sync.Mutex
	breaker *Breaker
	closed  atomic.Bool
	// probing is set while a connection the breaker let through opens: one at a time,
	// even when a probe presumed lost is still waiting on a dead network.
	probing atomic.Bool
	// Successes of a clean breaker, counted without mu (samems.go).
	successes sameMs
	// budgetMu guards budget: the breaker's lock is not held for it.
	budgetMu sync.Mutex
	budget   *RetryBudget
	// Requests counted without budgetMu.
	requests sameMs
	db       *DB
	// Why the last attempt to open a connection failed, until one succeeds: what an
	// open breaker's error says about the cause.
	lastConnectErr atomic.Pointer[string]
	// lifetimeMu guards lifetimes, the source of each connection's share of the
	// lifetime jitter.
	lifetimeMu sync.Mutex
	lifetimes  *SplitMix64
	// lane pipelines concurrent reads (lane.go); nil with a pool of one.
	lane *lane
}

// expiresKey keys, in a connection's CustomData, when it reaches its lifetime.
const expiresKey = "sqlpact.expires"

// lifetime is a new connection's lifetime: max_lifetime plus its share of the jitter,
// drawn as Rust draws it (in microseconds, from the host's seed).
func (h *host) lifetime(p PoolPolicy) time.Duration {
	h.lifetimeMu.Lock()
	defer h.lifetimeMu.Unlock()
	return p.MaxLifetime + time.Duration(h.lifetimes.Uniform(uint64(p.LifetimeJitter/time.Microsecond)))*time.Microsecond
}

// connectFailed records why opening a connection to h failed; a timeout says nothing
// the caller's own error does not.
func (h *host) connectFailed(actx context.Context, err error) {
	if err != nil && actx.Err() == nil {
		msg := err.Error()
		h.lastConnectErr.Store(&msg)
	}
}

// connectError says why the last attempt to open a connection to h failed, if none has
// succeeded since.
func (h *host) connectError() string {
	if p := h.lastConnectErr.Load(); p != nil {
		return *p
	}
	return ""
}

// DB is the runtime: pools over several hosts, every statement run under its policy.
// It implements DBTX (each call a statement outside the contract, on the primary) and
// Runner, so generated code takes it directly: ledger.New(db).
type DB struct {
	policies *Policies
	hosts    []*host
	epoch    time.Time
	// The statements' deadlines and the waits for a connection, on epoch's clock.
	deadlines deadlines
	seeds     *atomicSplitMix64
	observer  Observer
	counters  counters
	next      atomic.Uint64
	refresh   sync.Mutex
	// refreshed counts the role refreshes ended: a pick that saw it change may have
	// waited for one.
	refreshed atomic.Uint64
}

// Open creates the pools and learns the hosts' roles, without failing when none
// answers: Ready says when a primary is reachable. Close it when done.
func Open(ctx context.Context, p *Policies, o Options) (*DB, error) {
	if len(o.Hosts) == 0 {
		return nil, &Error{Class: ClassNoHost, Action: Fatal, Msg: "no host configured: set Options.Hosts"}
	}
	seed := o.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	budget := o.Budget
	if budget == (BudgetConfig{}) {
		budget = DefaultBudget
	}
	open := uint64(p.Breaker.OpenFor / time.Millisecond)
	bcfg := BreakerConfig{FailureThreshold: max(p.Breaker.FailureThreshold, 1), OpenForMs: open,
		MaxOpenMs: open * 16, WindowMs: 10_000, MinRequests: 20, FailurePercent: 50}
	d := &DB{policies: p, epoch: time.Now(), seeds: newAtomicSplitMix64(seed), observer: o.Observer}
	d.deadlines.epoch = d.epoch
	for _, conn := range o.Hosts {
		if misquotedPassword.MatchString(conn) {
			d.Close()
			return nil, &Error{Class: ClassOther, Action: Fatal, Msg: "invalid connection string: " + errMisquotedPassword}
		}
		cfg, err := pgxpool.ParseConfig(conn)
		if err != nil {
			d.Close()
			return nil, &Error{Class: ClassOther, Action: Fatal, Msg: "invalid connection string: " + parseReason(err)}
		}
		seed := d.nextSeed()
		h := &host{name: fmt.Sprintf("%s:%d", cfg.ConnConfig.Host, cfg.ConnConfig.Port), db: d,
			breaker: NewBreaker(bcfg, seed), budget: NewRetryBudget(budget),
			lifetimes: NewSplitMix64(seed ^ 0x5eed_11fe)}
		h.closed.Store(true)
		h.lane = newLane(h, p.Pool.MaxSize)
		cfg.MaxConns = int32(max(p.Pool.MaxSize, 1))
		cfg.MinConns = int32(p.Pool.MinIdle)
		// pgxpool draws its lifetime jitter in whole seconds (none below one second,
		// and a pool opened at once expires in bursts a second apart), and not from
		// the seed. Each connection gets its share in AfterConnect instead and is
		// closed at its first checkout past it; pgxpool's own check is a backstop at
		// the longest lifetime.
		cfg.MaxConnLifetime = 0 // no lifetime, unless the policy sets one (pgxpool's default is 1 h)
		if p.Pool.MaxLifetime > 0 {
			cfg.MaxConnLifetime = p.Pool.MaxLifetime + p.Pool.LifetimeJitter
			cfg.PrepareConn = func(_ context.Context, c *pgx.Conn) (bool, error) {
				if expires, ok := c.PgConn().CustomData()[expiresKey].(time.Time); ok && !time.Now().Before(expires) {
					d.emit(Event{Kind: EventConnectionClosed, Host: h.name, Reason: "expired"})
					return false, nil
				}
				return true, nil
			}
		}
		cfg.MaxConnIdleTime = p.Pool.IdleTimeout
		cfg.HealthCheckPeriod = time.Second
		cfg.ConnConfig.ConnectTimeout = p.Pool.AcquireTimeout
		// A context ending mid-statement cuts the connection, and the server gets a
		// CancelRequest, without holding the caller (cancel.go).
		cfg.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
			return cutOnGiveUp{c.Conn()}
		}
		// The role comes with every new connection: a promoted standby is seen as soon
		// as a connection to it opens.
		// The breaker gates new connections, not the pooled ones: without its permit
		// an acquire is served from idle connections only.
		cfg.BeforeConnect = func(ctx context.Context, _ *pgx.ConnConfig) error {
			if ctx.Value(permitKey{}) == nil && h.breakerState() != BreakerClosed {
				return errBreakerOpen
			}
			return nil
		}
		// While the breaker is not closed, one permitted connection opens at a time: a
		// second permit (the first probe presumed lost) waits for the first's end.
		dial := cfg.ConnConfig.DialFunc
		cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if ctx.Value(permitKey{}) == nil || h.breakerState() == BreakerClosed {
				return dial(ctx, network, addr)
			}
			if !h.probing.CompareAndSwap(false, true) {
				return nil, errBreakerOpen
			}
			c, err := dial(ctx, network, addr)
			if err != nil {
				h.probing.Store(false)
				return nil, err
			}
			return &probeConn{Conn: c, probing: &h.probing}, nil
		}
		cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
			nc := c.PgConn().Conn()
			if t, ok := nc.(interface{ NetConn() net.Conn }); ok {
				nc = t.NetConn() // under TLS
			}
			if p, ok := nc.(*probeConn); ok {
				p.done()
			}
			var rec bool
			if err := c.QueryRow(ctx, roleSQL).Scan(&rec); err != nil {
				return err
			}
			h.setRole(roleOf(rec))
			h.lastConnectErr.Store(nil)
			if p.Pool.MaxLifetime > 0 {
				c.PgConn().CustomData()[expiresKey] = time.Now().Add(h.lifetime(p.Pool))
			}
			if o.AfterConnect != nil {
				if err := o.AfterConnect(ctx, c); err != nil {
					return err
				}
			}
			d.emit(Event{Kind: EventConnectionOpened, Host: h.name})
			return nil
		}
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			d.Close()
			return nil, &Error{Class: ClassOther, Action: Fatal, Msg: "pool", Err: err}
		}
		h.pool = pool
		d.hosts = append(d.hosts, h)
	}
	d.refreshRoles(ctx)
	return d, nil
}

// Close closes every pool.
func (d *DB) Close() {
	for _, h := range d.hosts {
		if h.pool != nil {
			h.pool.Close()
		}
	}
}

// Policies returns the contract's policies this runtime applies.
func (d *DB) Policies() *Policies { return d.policies }

func roleOf(inRecovery bool) Role {
	if inRecovery {
		return RoleReplica
	}
	return RolePrimary
}

// now is the time since the DB opened, on the monotonic clock alone (a wall-clock
// reading costs as much again): one reading at a call's start serves its deadline and
// its budget's millisecond.
func (d *DB) now() time.Duration { return time.Since(d.epoch) }

func (d *DB) nowMs() uint64 { return ms(d.now()) }

func ms(t time.Duration) uint64 { return uint64(t / time.Millisecond) }

func (d *DB) nextSeed() uint64 { return d.seeds.Next() }

func (d *DB) emit(e Event) {
	if d.observer != nil {
		d.observer.OnEvent(e)
	}
}

func (h *host) getRole() Role { return Role(h.role.Load()) }

func (h *host) setRole(r Role) {
	if Role(h.role.Swap(int32(r))) != r {
		h.db.emit(Event{Kind: EventRole, Host: h.name, Role: r})
	}
}

// withBreaker runs f on the breaker at nowMs, the successes counted without its lock
// recorded first.
func (h *host) withBreaker(nowMs uint64, f func(b *Breaker)) {
	h.mu.Lock()
	h.breaker.recordSuccesses(h.successes.take())
	before, _ := h.breaker.State()
	f(h.breaker)
	after, _ := h.breaker.State()
	if before != after {
		h.closed.Store(after == BreakerClosed)
	}
	// Successes are counted without the lock only while the breaker is clean: one
	// then changes nothing but the window's tally.
	if h.breaker.clean() {
		h.successes.start(nowMs)
	}
	h.mu.Unlock()
	if before != after {
		h.db.emit(Event{Kind: EventBreaker, Host: h.name, Breaker: after})
	}
}

func (h *host) allow() (ok bool) {
	if h.closed.Load() {
		return true
	}
	now := h.db.nowMs()
	h.withBreaker(now, func(b *Breaker) { ok = b.Allow(now) })
	return ok
}

func (h *host) success(now uint64) {
	if !h.successes.try(now) {
		h.withBreaker(now, func(b *Breaker) { b.RecordSuccess(now) })
	}
}

func (h *host) failure(now uint64) { h.withBreaker(now, func(b *Breaker) { b.RecordFailure(now) }) }

func (h *host) breakerState() BreakerState {
	if h.closed.Load() {
		return BreakerClosed
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	s, _ := h.breaker.State()
	return s
}

// withBudget runs f on the retry budget at nowMs, the requests counted without its
// lock recorded first.
func (h *host) withBudget(nowMs uint64, f func(b *RetryBudget)) {
	h.budgetMu.Lock()
	defer h.budgetMu.Unlock()
	h.budget.requestN(h.requests.take())
	f(h.budget)
	h.requests.start(nowMs)
}

func (h *host) request(now uint64) {
	if !h.requests.try(now) {
		h.withBudget(now, func(b *RetryBudget) { b.Request(now) })
	}
}

func (h *host) tryRetry(c Class) (ok bool) {
	now := h.db.nowMs()
	h.withBudget(now, func(b *RetryBudget) { ok = b.TryRetry(now, string(c)) })
	return ok
}

// evict closes every connection opened until now: the server behind them restarted.
func (h *host) evict() {
	h.pool.Reset()
	h.db.emit(Event{Kind: EventConnectionClosed, Host: h.name, Reason: "evicted"})
}

// anyBreakerClosed reports whether some host's breaker is closed: without one, every
// request that may dial is some breaker's probe.
func (d *DB) anyBreakerClosed() bool {
	for _, h := range d.hosts {
		if h.breakerState() == BreakerClosed {
			return true
		}
	}
	return false
}

// refreshRoles asks every host whether it takes writes. One refresh at a time;
// callers arriving meanwhile wait for it instead of starting another, unless it is a
// breaker's probe.
func (d *DB) refreshRoles(ctx context.Context) {
	if !d.refresh.TryLock() {
		// With no breaker closed the refresh under way is some host's probe, whose dial
		// may hang on a dead network: the callers fail fast instead of waiting for it.
		if d.anyBreakerClosed() {
			d.refresh.Lock()
			d.refresh.Unlock()
		}
		return
	}
	defer d.refresh.Unlock()
	defer d.refreshed.Add(1)
	var wg sync.WaitGroup
	for _, h := range d.hosts {
		// A host whose breaker is not closed is asked on one of its idle connections,
		// if it has one.
		permit := h.allow()
		if !permit && h.pool.Stat().IdleConns() == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Not the caller's context: a caller near its deadline must not mark
			// healthy hosts down for everyone.
			actx, cancel := context.WithTimeout(withPermit(context.WithoutCancel(ctx), permit), d.policies.Pool.AcquireTimeout)
			defer cancel()
			c, err := h.pool.Acquire(actx)
			if errors.Is(err, errBreakerOpen) {
				return
			}
			if err != nil {
				h.connectFailed(actx, err)
				h.failure(h.db.nowMs())
				h.setRole(RoleUnknown)
				return
			}
			defer c.Release()
			var rec bool
			if err := c.QueryRow(actx, roleSQL).Scan(&rec); err != nil {
				h.setRole(RoleUnknown)
				return
			}
			if permit {
				h.success(h.db.nowMs())
			}
			h.setRole(roleOf(rec))
		}()
	}
	wg.Wait()
}

// permitKey marks a context whose acquire the host's breaker let through: only such an
// acquire opens a new connection while the breaker is not closed.
type permitKey struct{}

func withPermit(ctx context.Context, permit bool) context.Context {
	if permit {
		return permitCtx{ctx}
	}
	return ctx
}

// permitCtx is ctx carrying the permit. Unlike context.WithValue it passes
// registrations (context.AfterFunc, children) on to a shared deadline beneath it,
// which would otherwise cost a goroutine each.
type permitCtx struct{ context.Context }

func (c permitCtx) Value(key any) any {
	if key == (permitKey{}) {
		return true
	}
	return c.Context.Value(key)
}

func (c permitCtx) AfterFunc(f func()) func() bool {
	if a, ok := c.Context.(interface{ AfterFunc(func()) func() bool }); ok {
		return a.AfterFunc(f)
	}
	return context.AfterFunc(c.Context, f)
}

var errBreakerOpen = errors.New("the circuit breaker is open")

func breakerOpen(h *host) *Error {
	msg := "the circuit breaker of " + h.name + " is open and none of its connections is idle"
	if e := h.connectError(); e != "" {
		msg += "; it last failed to connect: " + e
	}
	return &Error{Class: ClassBreakerOpen, Action: Fatal, Msg: msg}
}

// pick returns a host for route and whether its breaker let the request through (so
// it may open a connection). A first attempt may also go to a host whose breaker
// refuses it while that host has idle connections: healthy connections keep serving.
func (d *DB) pick(ctx context.Context, route Route, first bool) (*host, bool, error) {
	for pass := 0; pass < 2; pass++ {
		// The candidates in order: the route's replicas from a rotating start, then the
		// primaries. In arrays on the stack: with up to 8 hosts a pick allocates nothing.
		var candBuf, repBuf [8]*host
		cands := candBuf[:0]
		if route == RouteReplica {
			reps := repBuf[:0]
			for _, h := range d.hosts {
				if h.getRole() == RoleReplica {
					reps = append(reps, h)
				}
			}
			if n := len(reps); n > 0 {
				start := int(d.next.Add(1))
				for i := range n {
					cands = append(cands, reps[(start+i)%n])
				}
			}
		}
		for _, h := range d.hosts {
			if h.getRole() == RolePrimary {
				cands = append(cands, h)
			}
		}
		var idle *host
		for _, h := range cands {
			if h.allow() {
				return h, true, nil
			}
			if first && idle == nil && h.pool.Stat().IdleConns() > 0 {
				idle = h
			}
		}
		if idle != nil {
			return idle, false, nil
		}
		if len(cands) > 0 || pass == 1 && !d.anyBreakerClosed() {
			msg := "the circuit breaker of every host of the route is open"
			for _, h := range d.hosts {
				if e := h.connectError(); e != "" {
					msg += "; " + h.name + " last failed to connect: " + e
				}
			}
			return nil, false, &Error{Class: ClassBreakerOpen, Action: Fatal, Msg: msg}
		}
		if pass == 0 {
			d.refreshRoles(ctx)
		}
	}
	msg := "no host reachable"
	if route == RoutePrimary {
		msg = "no primary reachable"
	}
	return nil, false, &Error{Class: ClassNoHost, Action: RetryAnywhere, Msg: msg}
}

// cutKey keys, in a connection's CustomData, its entry in the shared deadline of the
// statement it runs (deadline.go).
const cutKey = "sqlpact.cut"

// runCut runs fn on c under the shared deadline s, which cuts c's connection if it
// ends first, instead of pgx watching a context for it: fn gets parent, which never
// ends. A connection cut after fn returned is closed, whatever fn's outcome: its
// deadline is set.
func runCut(parent context.Context, s *deadlineSlot, c *pgxpool.Conn, fn func(ctx context.Context, db DBTX) error) error {
	pc := c.Conn().PgConn()
	cut, _ := pc.CustomData()[cutKey].(*slotEntry)
	if cut == nil {
		cut = &slotEntry{conn: pc.Conn()}
		pc.CustomData()[cutKey] = cut
	}
	if !s.add(cut) {
		// s has ended: the statement must not start.
		return context.DeadlineExceeded
	}
	err := fn(parent, c)
	if !cut.stop() {
		// s ended first and cut the connection: its deadline is set.
		_ = c.Conn().Close(context.WithoutCancel(parent))
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			// As pgx reports a statement whose context ended.
			err = fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
		}
	}
	return err
}

// release returns c to its pool, or closes it when its statement was cut or its
// connection failed: its state is unknown, so it is never reused.
func release(ctx context.Context, c *pgxpool.Conn, err error) {
	if err != nil && (ctx.Err() != nil || !replied(err)) {
		_ = c.Conn().Close(context.WithoutCancel(ctx))
	}
	c.Release()
}

// replied reports that err is an answer of the server (or of the statement itself), not
// a broken or cut connection.
func replied(err error) bool {
	var pg *pgconn.PgError
	var own *Error
	return errors.As(err, &pg) || errors.As(err, &own) || errors.Is(err, pgx.ErrNoRows)
}

var errPoolTimeout = errors.New("no connection from the pool within the acquire timeout")

// poolAcquire takes a connection from h's pool for a request that holds the breaker's
// permit or not; closed is whether the breaker was closed as the acquire began.
// BeforeConnect lets every connect through while the breaker is closed, so the permit
// goes on the context (an allocation) only when it was not. Should the breaker leave
// the closed state before a connect, BeforeConnect refuses it, and the acquire goes
// again with the permit the request holds.
func (h *host) poolAcquire(ctx context.Context, permit, closed bool) (*pgxpool.Conn, error) {
	c, err := h.pool.Acquire(withPermit(ctx, permit && !closed))
	if permit && closed && errors.Is(err, errBreakerOpen) {
		c, err = h.pool.Acquire(withPermit(ctx, true))
	}
	return c, err
}

// acquire gets a connection from h within the acquire timeout and ctx; it opens a new
// one only with permit, or while h's breaker is closed.
func (d *DB) acquire(ctx context.Context, h *host, permit bool) (*pgxpool.Conn, error) {
	return d.acquireFrom(ctx, ctx, h, permit, d.now())
}

// acquireFrom is acquire where ctx was derived from parent for its deadline alone (as
// Run derives the statement's from the caller's): the wait's own deadline is then
// derived from parent, since one derived from ctx would register with it as a child,
// while ctx ends only at its deadline or with parent. now is the time the wait begins,
// read just before.
func (d *DB) acquireFrom(ctx, parent context.Context, h *host, permit bool, now time.Duration) (*pgxpool.Conn, error) {
	actx, hold := ctx, bound{}
	timeout := d.policies.Pool.AcquireTimeout
	if dl, ok := ctx.Deadline(); !ok || d.epoch.Add(now+timeout).Before(dl) {
		actx, hold = d.deadlines.bounded(parent, now, timeout)
	}
	defer hold.end()
	c, err := h.poolAcquire(actx, permit, h.closed.Load())
	d.counters.acquires.Add(1)
	if d.now()-now >= time.Millisecond {
		d.counters.acquireWaits.Add(1)
	}
	if errors.Is(err, errBreakerOpen) {
		return nil, errBreakerOpen
	}
	h.connectFailed(actx, err)
	if err != nil && ctx.Err() == nil && actx.Err() != nil {
		d.counters.acquireTimeouts.Add(1)
		d.emit(Event{Kind: EventAcquireTimeout, Host: h.name})
		return nil, errPoolTimeout
	}
	return c, err
}

// Run runs st under its policy; fn does the statement's work on the DBTX it is given.
// Its context carries the caller's values, and is fn's alone: used after fn returned,
// it may never end (calls share their deadlines, deadline.go). Under a caller's
// context that cannot end, the statement's deadline cuts the connection fn was given
// rather than ending fn's context: fn is to do its work on that DBTX.
func (d *DB) Run(ctx context.Context, st *Statement, _ DBTX, fn func(ctx context.Context, db DBTX) error) error {
	d.counters.calls.Add(1)
	caller := ctx
	now := d.now()
	ctx, hold := d.deadlines.bounded(ctx, now, st.Timeout)
	defer hold.end()
	policy := defaultBackoff
	if st.Retry != nil {
		policy = st.Retry.Backoff
	}
	bo := NewBackoff(policy, d.nextSeed())
	route := st.Route
	for attempt := 1; ; attempt++ {
		refreshed := d.refreshed.Load()
		h, permit, err := d.pick(ctx, route, attempt == 1)
		if err != nil {
			e := err.(*Error)
			e.Statement, e.Attempts = st.Name, attempt
			if delay, ok := bo.NextDelay(remaining(ctx)); ok && e.Class == ClassNoHost {
				d.counters.retry(ClassNoHost)
				if sleep(ctx, delay) {
					continue
				}
			}
			return d.fail(e)
		}
		if attempt == 1 {
			h.request(ms(now))
		}
		d.counters.attempts.Add(1)
		if d.observer != nil {
			d.emit(Event{Kind: EventAttempt, Statement: st.Name, Host: h.name, Attempt: attempt})
		}
		// The call's first reading serves its first wait, unless the pick may have
		// waited for the hosts' roles.
		waitFrom := now
		if attempt > 1 || d.refreshed.Load() != refreshed {
			waitFrom = d.now()
		}
		sent, replayed, err := d.attempt(ctx, caller, hold.s, h, st, permit, waitFrom, fn)
		if errors.Is(err, errBreakerOpen) {
			e := breakerOpen(h)
			e.Statement, e.Attempts = st.Name, attempt
			return d.fail(e)
		}
		if replayed && err == nil {
			d.counters.replays.Add(1)
			d.emit(Event{Kind: EventReplayed, Statement: st.Name})
		}
		if err == nil {
			if permit {
				h.success(h.db.nowMs())
			}
			return nil
		}
		var own *Error
		if errors.As(err, &own) || errors.Is(err, pgx.ErrNoRows) {
			// The statement's own outcome (no row, a conflict): the server answered.
			if permit {
				h.success(h.db.nowMs())
			}
			e := wrap(err, st, Replied, false)
			e.Attempts = attempt
			return d.fail(e)
		}
		var f Failure
		switch {
		case errors.Is(err, errPoolTimeout):
			f = Failure{Kind: FailPoolTimeout, Sent: NotSent, Route: route}
		case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
			f = Failure{Kind: FailTimeout, Sent: sent, Idempotent: st.replaySafe(), Route: route}
		default:
			f = failureOf(err, sent, false, st.replaySafe(), route)
		}
		dec := Classify(f)
		if dec.EvictGeneration {
			h.evict()
		}
		switch {
		case caller.Err() != nil:
			// The caller gave up (canceled, or its own deadline came before the
			// statement's): the host's health is unknown, the breaker learns nothing
			// (a lost probe is replaced after open_for).
		case dec.FeedsBreaker:
			h.failure(h.db.nowMs())
		case f.Sent == Replied && permit:
			h.success(h.db.nowMs())
		case h.breakerState() == BreakerHalfOpen:
			h.failure(h.db.nowMs())
		}
		class := Class(dec.Class)
		if class == ClassConnection || class == ClassServerShutdown {
			h.setRole(RoleUnknown)
		}
		e := &Error{Class: class, Action: dec.Action, Statement: st.Name, Attempts: attempt, Err: err}
		if class == ClassTimeout {
			e.Msg = fmt.Sprintf("deadline of %v passed", st.Timeout)
		}
		switch dec.Action {
		case Fatal, Ambiguous:
			return d.fail(e)
		case ReroutePrimary:
			h.setRole(RoleReplica)
			d.refreshRoles(ctx)
			route = RoutePrimary
		}
		delay, ok := bo.NextDelay(remaining(ctx))
		if !ok {
			return d.fail(e)
		}
		if !h.tryRetry(class) {
			e.BudgetExhausted = true
			return d.fail(e)
		}
		d.counters.retry(class)
		d.emit(Event{Kind: EventRetry, Statement: st.Name, Host: h.name, Class: class, Attempt: attempt, Delay: delay})
		if !sleep(ctx, delay) {
			return d.fail(e)
		}
	}
}

// attempt runs fn once on h: on the host's lane of pipelined reads when st may ride it
// (lane.go), else on a connection of its own, waited for from waitFrom. sent says how
// far the statement got; replayed, that a keyed write was answered from its record.
func (d *DB) attempt(ctx, caller context.Context, s *deadlineSlot, h *host, st *Statement, permit bool,
	waitFrom time.Duration, fn func(ctx context.Context, db DBTX) error) (sent SendState, replayed bool, err error) {
	if l := h.lane; l != nil && st.shareable() {
		l.reads.Add(1)
		defer l.reads.Add(-1)
		given := ctx
		if s != nil {
			given = caller
		}
		var ok bool
		if sent, err, ok = l.run(given, s, permit, fn); ok {
			return sent, false, err
		}
	}
	c, err := d.acquireFrom(ctx, caller, h, permit, waitFrom)
	if err != nil {
		return NotSent, false, err
	}
	switch {
	case st.Idempotency != nil:
		replayed, err = runKeyed(ctx, c, st, fn, true)
	case s != nil:
		err = runCut(caller, s, c, fn)
	default:
		err = fn(ctx, c)
	}
	release(ctx, c, err)
	return SentNoReply, replayed, err
}

var defaultBackoff = BackoffPolicy{Base: 50 * time.Millisecond, Cap: time.Second, MaxAttempts: 3}

func remaining(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return max(time.Until(dl), 0)
	}
	return -1
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (d *DB) fail(e *Error) error { return d.failAs(e.Statement, e) }

// failAs counts e and reports it under name: a transaction's failure is the
// transaction's, whichever of its statements failed (e keeps that statement's name).
func (d *DB) failAs(name string, e *Error) error {
	d.counters.failure(e.Class)
	if e.Ambiguous() {
		d.counters.ambiguous.Add(1)
	}
	if e.BudgetExhausted {
		d.counters.budgetExhausted.Add(1)
	}
	d.emit(Event{Kind: EventFailed, Statement: name, Class: e.Class, Attempt: e.Attempts,
		Ambiguous: e.Ambiguous(), BudgetExhausted: e.BudgetExhausted})
	return e
}

// Ready returns nil when a primary answers within the acquire timeout; the hosts'
// roles are refreshed when none is known.
func (d *DB) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, d.policies.Pool.AcquireTimeout)
	defer cancel()
	timedOut := func(err error) error {
		return &Error{Class: ClassTimeout, Action: Fatal, Msg: "no primary answered within " + d.policies.Pool.AcquireTimeout.String(), Err: err}
	}
	h, permit, err := d.pick(ctx, RoutePrimary, true)
	if err != nil {
		return err
	}
	c, err := d.acquire(ctx, h, permit)
	switch {
	case errors.Is(err, errBreakerOpen):
		return breakerOpen(h)
	case errors.Is(err, errPoolTimeout) || (err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded)):
		return timedOut(err)
	case err != nil && ctx.Err() != nil:
		return &Error{Class: ClassCanceled, Action: Fatal, Msg: "the caller gave up", Err: err}
	case err != nil:
		// A failed connect counts against the host's breaker.
		h.failure(h.db.nowMs())
		h.setRole(RoleUnknown)
		return &Error{Class: ClassConnection, Action: Fatal, Msg: "no connection to the primary " + h.name, Err: err}
	}
	defer c.Release()
	var rec bool
	if err := c.QueryRow(ctx, roleSQL).Scan(&rec); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return timedOut(err)
		}
		e := wrap(err, &Statement{Name: "ready", Route: RoutePrimary, ReadOnly: true, Idempotent: true}, SentNoReply, false)
		e.Action = Fatal
		return e
	}
	if rec {
		h.setRole(RoleReplica)
		return &Error{Class: ClassNoHost, Action: Fatal, Msg: h.name + " does not take writes: not a primary"}
	}
	if permit {
		h.success(h.db.nowMs())
	}
	return nil
}

// InstallIdempotencyTable creates the table keyed writes are recorded in, if missing.
func (d *DB) InstallIdempotencyTable(ctx context.Context) error {
	_, err := d.Exec(ctx, IdempotencyTable)
	return err
}

// primary returns a pool of the primary for a statement outside the contract: a
// connection it hands out is its own, or the breaker's refusal as a *Error.
func (d *DB) primary(ctx context.Context) (*primaryPool, context.Context, error) {
	h, permit, err := d.pick(ctx, RoutePrimary, true)
	if err != nil {
		return nil, ctx, err
	}
	return &primaryPool{h}, withPermit(ctx, permit), nil
}

type primaryPool struct{ h *host }

func (p *primaryPool) err(err error) error {
	if errors.Is(err, errBreakerOpen) {
		return breakerOpen(p.h)
	}
	return err
}

func (p *primaryPool) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	t, err := p.h.pool.Exec(ctx, sql, args...)
	return t, p.err(err)
}

func (p *primaryPool) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	r, err := p.h.pool.Query(ctx, sql, args...)
	return r, p.err(err)
}

func (p *primaryPool) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return mappedRow{p.h.pool.QueryRow(ctx, sql, args...), p}
}

type mappedRow struct {
	row pgx.Row
	p   *primaryPool
}

func (r mappedRow) Scan(dest ...any) error { return r.p.err(r.row.Scan(dest...)) }

func (p *primaryPool) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return p.h.pool.SendBatch(ctx, b)
}

func (p *primaryPool) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	n, err := p.h.pool.CopyFrom(ctx, table, columns, src)
	return n, p.err(err)
}

// Acquire returns a connection to the primary for work outside the contract.
func (d *DB) Acquire(ctx context.Context) (*pgxpool.Conn, error) {
	h, permit, err := d.pick(ctx, RoutePrimary, true)
	if err != nil {
		return nil, err
	}
	c, err := d.acquire(ctx, h, permit)
	if errors.Is(err, errBreakerOpen) {
		return nil, breakerOpen(h)
	}
	if errors.Is(err, errPoolTimeout) {
		return nil, &Error{Class: ClassPoolTimeout, Action: Fatal, Err: err}
	}
	return c, err
}

// Exec runs sql on the primary, once (a statement outside the contract).
func (d *DB) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	p, ctx, err := d.primary(ctx)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	return p.Exec(ctx, sql, args...)
}

// Query runs sql on the primary, once.
func (d *DB) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	p, ctx, err := d.primary(ctx)
	if err != nil {
		return nil, err
	}
	return p.Query(ctx, sql, args...)
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// QueryRow runs sql on the primary, once.
func (d *DB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	p, ctx, err := d.primary(ctx)
	if err != nil {
		return errRow{err}
	}
	return p.QueryRow(ctx, sql, args...)
}

// SendBatch sends b to the primary, once.
func (d *DB) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	p, ctx, err := d.primary(ctx)
	if err != nil {
		return errBatch{err}
	}
	return p.SendBatch(ctx, b)
}

type errBatch struct{ err error }

func (b errBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, b.err }
func (b errBatch) Query() (pgx.Rows, error)         { return nil, b.err }
func (b errBatch) QueryRow() pgx.Row                { return errRow(b) }
func (b errBatch) Close() error                     { return b.err }
func (b errBatch) Tx() pgx.Tx                       { return nil }

// CopyFrom copies rows to the primary, once.
func (d *DB) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	p, ctx, err := d.primary(ctx)
	if err != nil {
		return 0, err
	}
	return p.CopyFrom(ctx, table, columns, src)
}

// HostStats is one host in a Stats snapshot.
type HostStats struct {
	Name    string
	Role    Role
	Breaker BreakerState
	// Size counts open connections, Idle the idle ones; MaxSize is the limit.
	Size, Idle, MaxSize int
}

// Stats is a snapshot of the runtime's state and counters since it opened.
type Stats struct {
	Hosts []HostStats
	// Calls counts statement calls; Attempts every attempt, first ones included.
	Calls, Attempts int64
	// Retries and Failures count by class code.
	Retries, Failures                   map[Class]int64
	Ambiguous, BudgetExhausted, Replays int64
	TransactionReruns                   int64
	Acquires, AcquireWaits              int64
	AcquireTimeouts                     int64
	// Pipelined counts the reads sent in the lane's batches (lane.go).
	Pipelined int64
}

type counters struct {
	calls, attempts, ambiguous, budgetExhausted, replays atomic.Int64
	transactionReruns, acquires, acquireWaits            atomic.Int64
	acquireTimeouts, pipelined                           atomic.Int64
	mu                                                   sync.Mutex
	retries, failures                                    map[Class]int64
}

func (c *counters) retry(cl Class) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.retries == nil {
		c.retries = map[Class]int64{}
	}
	c.retries[cl]++
}

func (c *counters) failure(cl Class) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failures == nil {
		c.failures = map[Class]int64{}
	}
	c.failures[cl]++
}

// Stats returns a snapshot of pools, breakers, roles and counters.
func (d *DB) Stats() Stats {
	s := Stats{Retries: map[Class]int64{}, Failures: map[Class]int64{}}
	for _, h := range d.hosts {
		ps := h.pool.Stat()
		s.Hosts = append(s.Hosts, HostStats{Name: h.name, Role: h.getRole(), Breaker: h.breakerState(),
			Size: int(ps.TotalConns()), Idle: int(ps.IdleConns()), MaxSize: int(ps.MaxConns())})
	}
	c := &d.counters
	s.Calls, s.Attempts = c.calls.Load(), c.attempts.Load()
	s.Ambiguous, s.BudgetExhausted, s.Replays = c.ambiguous.Load(), c.budgetExhausted.Load(), c.replays.Load()
	s.TransactionReruns = c.transactionReruns.Load()
	s.Acquires, s.AcquireWaits, s.AcquireTimeouts = c.acquires.Load(), c.acquireWaits.Load(), c.acquireTimeouts.Load()
	s.Pipelined = c.pipelined.Load()
	c.mu.Lock()
	for k, v := range c.retries {
		s.Retries[k] = v
	}
	for k, v := range c.failures {
		s.Failures[k] = v
	}
	c.mu.Unlock()
	return s
}

// probeConn is a connection the breaker let open while not closed: its opening ends,
// and the next may start, when it connects or closes.
type probeConn struct {
	net.Conn
	probing *atomic.Bool
	once    sync.Once
}

func (c *probeConn) done() { c.once.Do(func() { c.probing.Store(false) }) }

func (c *probeConn) Close() error {
	c.done()
	return c.Conn.Close()
}

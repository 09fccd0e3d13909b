//! Shared connections for reads. A statement that changes nothing and may be sent
//! again (a read outside a transaction) does not need a connection to itself:
//! tokio-postgres pipelines the queries of concurrent callers on one connection. Such
//! reads ride on a few pooled connections held out of the pool (at most half of it, so
//! writes and transactions always find room), which saves the pool's checkout on every
//! read and lets concurrent reads share a round trip's wait.
//!
//! A read takes a shared connection nobody is reading on; if there is none, the lane
//! takes another connection from the pool while it may grow and the pool has one idle
//! or room for one; only then does the read queue behind others on the least busy
//! shared connection, up to [`DEPTH`] reads on one; beyond that it takes a pooled
//! connection of its own like any statement.
//!
//! A shared connection goes back to the pool when a maintenance pass finds it unused
//! since the previous pass, when it outlives its lifetime or its generation is evicted;
//! one whose call failed without a reply, or whose caller gave up mid-read, is closed
//! once its other riders are done. A read given up on is canceled on the server when
//! no other read rides on its connection any more: from then on nothing else can run
//! there, so the cancel hits that read or, if it has ended, nothing.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::host::Object;
use crate::prepared::Prepared;

/// The shared connections of one host.
pub(crate) struct Lane {
    conns: Mutex<Vec<Arc<Shared>>>,
    /// How many pooled connections the lane may hold: half the pool.
    pub max: usize,
    /// Reads taking a connection from the pool into the lane now.
    growing: AtomicUsize,
    grown: tokio::sync::Notify,
}

/// How many reads share one connection at most: a read queued on a shared connection
/// waits for those ahead of it, so a slow read holds up at most three others.
pub(crate) const DEPTH: usize = 4;

/// Where [`Lane::pick`] sends a read.
pub(crate) enum Pick<'a> {
    Ride(Ride),
    /// Take a connection from the pool and [`Lane::add`] it.
    Grow(Growing<'a>),
    /// Another read is growing the lane: wait for [`Lane::grown`], pick again.
    Wait,
    /// The lane is full, or empty and unable to grow: use a pooled connection alone.
    Alone,
}

/// A read's claim to grow the lane; released when dropped, growing or not.
pub(crate) struct Growing<'a>(&'a Lane);

impl Drop for Growing<'_> {
    fn drop(&mut self) {
        self.0.growing.fetch_sub(1, Ordering::AcqRel);
        self.0.grown.notify_waiters();
    }
}

struct Shared {
    obj: Option<Object>,
    riders: AtomicUsize,
    /// Used since the last maintenance pass.
    used: AtomicBool,
    /// Closed once its riders are done instead of going back to the pool.
    broken: AtomicBool,
    /// A read on it was given up on mid-flight: cancel it when the last rider leaves.
    abandoned: AtomicBool,
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(mut obj) = self.obj.take() {
            if self.broken.load(Ordering::Acquire) || obj.client.is_closed() {
                obj.broken = true;
                let _ = Object::take(obj);
            }
            // Otherwise dropping `obj` returns it to the pool, where recycling checks
            // it like any other.
        }
    }
}

impl Shared {
    fn object(&self) -> &Object {
        self.obj.as_ref().expect("connection present until drop")
    }

    fn conn(&self) -> &crate::host::Conn {
        self.object()
    }

    fn usable(&self) -> bool {
        !self.broken.load(Ordering::SeqCst) && !self.conn().client.is_closed()
    }

    /// A rider leaves. The last one to leave a connection whose read was given up on
    /// asks the server to cancel what still runs there: a rider counts before it checks
    /// that the connection is not retired, and the retiring read marks it before it
    /// leaves, so no read can start there once the count has reached zero.
    fn release(&self) {
        if self.riders.fetch_sub(1, Ordering::SeqCst) == 1
            && self.abandoned.load(Ordering::SeqCst)
            && self.abandoned.swap(false, Ordering::SeqCst)
        {
            let conn = self.conn();
            let cancel = (conn.cancel)(conn.client.cancel_token());
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(cancel);
            }
        }
    }
}

/// One read riding on a shared connection. Dropped while its read is in flight (the
/// deadline passed, the caller gave up), it retires the connection: the server may
/// still be running that read, and the connection's pipeline waits behind it.
pub(crate) struct Ride {
    conn: Arc<Shared>,
    in_flight: bool,
}

impl Ride {
    /// A ride on `conn`, unless it was retired meanwhile.
    fn new(conn: Arc<Shared>) -> Option<Ride> {
        conn.riders.fetch_add(1, Ordering::SeqCst);
        if conn.broken.load(Ordering::SeqCst) {
            conn.release();
            return None;
        }
        conn.used.store(true, Ordering::Relaxed);
        Some(Ride {
            conn,
            in_flight: false,
        })
    }

    pub fn client(&self) -> &tokio_postgres::Client {
        &self.conn.conn().client
    }

    pub fn prepared(&self) -> &Prepared {
        &self.conn.conn().prepared
    }

    /// Marks the read sent; until [`Ride::done`], dropping the ride retires the
    /// connection.
    pub fn start(&mut self) {
        self.in_flight = true;
    }

    /// The read is over; `broken` (no reply came) retires the connection.
    pub fn done(&mut self, broken: bool) {
        self.in_flight = false;
        if broken {
            self.conn.broken.store(true, Ordering::Release);
        }
    }
}

impl Drop for Ride {
    fn drop(&mut self) {
        if self.in_flight {
            self.conn.broken.store(true, Ordering::SeqCst);
            self.conn.abandoned.store(true, Ordering::SeqCst);
        }
        self.conn.release();
    }
}

impl Lane {
    pub fn new(pool_max: usize) -> Lane {
        Lane {
            conns: Mutex::new(Vec::new()),
            max: pool_max / 2,
            growing: AtomicUsize::new(0),
            grown: tokio::sync::Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Shared>>> {
        self.conns.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Where a read goes: a shared connection nobody reads on; else, while the lane
    /// may grow and the pool has an idle connection or room for one (`pool_has_room`,
    /// asked only then), a connection to
    /// take from the pool into the lane ([`Pick::Grow`]); else the least busy shared
    /// connection with fewer than [`DEPTH`] reads on it; else, while another read grows
    /// the lane, wait for that; else a pooled connection of its own, waiting for one
    /// like any statement.
    pub fn pick(&self, pool_has_room: impl FnOnce() -> bool) -> Pick<'_> {
        let mut conns = self.lock();
        conns.retain(|c| c.usable());
        let best = conns
            .iter()
            .min_by_key(|c| c.riders.load(Ordering::Acquire));
        let riders = best.map(|c| c.riders.load(Ordering::Acquire));
        let growing = self.growing.load(Ordering::Acquire);
        if let (Some(c), Some(0)) = (best, riders) {
            // Retired since the check above (rare): a pooled connection alone.
            return Ride::new(Arc::clone(c)).map_or(Pick::Alone, Pick::Ride);
        }
        let can_grow = conns.len() + growing < self.max && pool_has_room();
        match (best, riders) {
            _ if can_grow => {
                self.growing.fetch_add(1, Ordering::AcqRel);
                Pick::Grow(Growing(self))
            }
            (Some(c), Some(n)) if n < DEPTH => {
                Ride::new(Arc::clone(c)).map_or(Pick::Alone, Pick::Ride)
            }
            _ if growing > 0 => Pick::Wait,
            _ => Pick::Alone,
        }
    }

    /// Resolves when a read that grew the lane is done growing it (or gave up) after
    /// this was called.
    pub fn grown(&self) -> tokio::sync::futures::Notified<'_> {
        self.grown.notified()
    }

    /// How many reads are growing the lane now.
    pub fn growing(&self) -> usize {
        self.growing.load(Ordering::Acquire)
    }

    /// A ride on a shared connection nobody reads on, if there is one: for a probe
    /// that must not wait behind other reads.
    pub fn ride_idle(&self) -> Option<Ride> {
        let conns = self.lock();
        let idle = conns
            .iter()
            .find(|c| c.usable() && c.riders.load(Ordering::Acquire) == 0)?;
        Ride::new(Arc::clone(idle))
    }

    /// Whether the lane holds a connection reads can ride on.
    pub fn has_usable(&self) -> bool {
        self.lock().iter().any(|c| c.usable())
    }

    /// Gives a shared connection nobody reads on back to the pool; whether there was
    /// one. With the breaker open, a statement that does not share may be served only
    /// by an idle pooled connection, and such a shared connection is as idle as any:
    /// kept in the lane, it would fail the statement fast while it sits unused.
    pub fn release_idle(&self) -> bool {
        let mut conns = self.lock();
        let Some(i) = conns
            .iter()
            .position(|c| c.usable() && c.riders.load(Ordering::Acquire) == 0)
        else {
            return false;
        };
        // No read holds it: dropping the lane's hold returns the connection to the pool.
        conns.swap_remove(i);
        true
    }

    /// Puts a pooled connection into the lane and rides on it (none if an eviction
    /// retired it at once).
    pub fn add(&self, grow: Growing<'_>, obj: Object) -> Option<Ride> {
        let conn = Arc::new(Shared {
            obj: Some(obj),
            riders: AtomicUsize::new(0),
            used: AtomicBool::new(true),
            broken: AtomicBool::new(false),
            abandoned: AtomicBool::new(false),
        });
        let mut conns = self.lock();
        conns.push(Arc::clone(&conn));
        let ride = Ride::new(conn);
        drop(conns);
        drop(grow);
        ride
    }

    /// Closes every shared connection once its reads end: after an eviction they may
    /// be dead.
    pub fn close_all(&self) {
        let mut conns = self.lock();
        for c in conns.iter() {
            c.broken.store(true, Ordering::Release);
        }
        conns.clear();
    }

    /// A maintenance pass: connections neither read on now nor used since the last
    /// pass, past their lifetime, or no longer usable leave the lane; each goes back
    /// to the pool (or is closed) when its last read ends.
    pub fn maintain(&self, expired: impl Fn(&Object) -> bool) {
        let mut conns = self.lock();
        conns.retain(|c| {
            let used = c.used.swap(false, Ordering::Relaxed);
            let busy = c.riders.load(Ordering::Acquire) > 0;
            c.usable() && (used || busy) && !expired(c.object())
        });
    }

    /// How many usable connections the lane holds (a retired one leaves at the next
    /// pick or maintenance pass).
    pub fn len(&self) -> usize {
        self.lock().iter().filter(|c| c.usable()).count()
    }
}

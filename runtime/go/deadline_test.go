package sqlpact

import (
	"context"
	"errors"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func newDeadlines() *deadlines { return &deadlines{epoch: time.Now()} }

// A shared deadline ends within one slot before the call's own, never after it, and
// says so through Deadline, Done and Err as a context.WithDeadline would.
func TestSharedDeadlineEndsWithinOneSlotBeforeTheLimit(t *testing.T) {
	d := newDeadlines()
	const timeout = 40 * time.Millisecond
	now := time.Since(d.epoch)
	ctx, hold := d.bounded(context.Background(), now, timeout)
	defer hold.end()
	limit := d.epoch.Add(now + timeout)
	dl, ok := ctx.Deadline()
	if !ok || dl.After(limit) || limit.Sub(dl) > slotWidth(timeout) {
		t.Fatalf("deadline %v for a limit of %v (slot %v)", dl, limit, slotWidth(timeout))
	}
	if ctx.Err() != nil {
		t.Fatalf("ended before its deadline: %v", ctx.Err())
	}
	select {
	case <-ctx.Done():
	case <-time.After(time.Second):
		t.Fatal("the shared deadline never ended")
	}
	if late := time.Since(limit); late > 20*time.Millisecond {
		t.Fatalf("ended %v after the limit", late)
	}
	if ended := time.Now(); ended.Before(dl) {
		t.Fatalf("ended at %v, before its own deadline %v", ended, dl)
	}
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("Err after the end: %v", ctx.Err())
	}
}

// Calls whose deadlines fall in one slot share its context; the next slot is another.
func TestCallsInOneSlotShareOneContext(t *testing.T) {
	d := newDeadlines()
	const timeout = time.Second
	w := slotWidth(timeout)
	base := 10 * w
	a, _ := d.bounded(context.Background(), base, timeout)
	b, _ := d.bounded(context.Background(), base+w/2, timeout)
	c, _ := d.bounded(context.Background(), base+w, timeout)
	if a != b {
		t.Fatal("two deadlines in one slot made two contexts")
	}
	if a == c {
		t.Fatal("deadlines a slot apart share a context")
	}
	da, _ := a.Deadline()
	dc, _ := c.Deadline()
	if dc.Sub(da) != w {
		t.Fatalf("consecutive slots %v apart, want %v", dc.Sub(da), w)
	}
}

// The values of a parent that never ends go along; a parent that can end, a parent
// whose deadline comes first and a timeout shorter than a few slots keep the standard
// behaviour.
func TestSharedDeadlineParents(t *testing.T) {
	d := newDeadlines()
	type key struct{}
	withValue := context.WithValue(context.Background(), key{}, "v")
	ctx, hold := d.bounded(withValue, time.Since(d.epoch), time.Second)
	hold.end()
	if ctx.Value(key{}) != "v" {
		t.Fatal("the parent's value is lost")
	}
	if _, shared := ctx.(slotCtx); !shared {
		t.Fatalf("a parent that never ends got %T", ctx)
	}

	parent, stop := context.WithCancel(context.Background())
	ctx, hold = d.bounded(parent, time.Since(d.epoch), time.Second)
	defer hold.end()
	stop()
	select {
	case <-ctx.Done():
	case <-time.After(time.Second):
		t.Fatal("the parent ended, the call's context did not")
	}

	early, cancelEarly := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancelEarly()
	if ctx, _ := d.bounded(early, time.Since(d.epoch), time.Hour); ctx != early {
		t.Fatal("a parent whose deadline comes first was not used as it is")
	}

	ctx, hold = d.bounded(context.Background(), time.Since(d.epoch), 2*time.Millisecond)
	defer hold.end()
	if _, isSlot := ctx.(*deadlineSlot); isSlot {
		t.Fatal("a timeout of two slots shares a slot")
	}
}

// What the context package and pgx register (context.AfterFunc, a child context) runs
// when the slot ends, unless stopped first; a stop after the end reports false.
func TestSharedDeadlineRunsWhatWatchesIt(t *testing.T) {
	d := newDeadlines()
	ctx, _ := d.bounded(context.Background(), time.Since(d.epoch), 30*time.Millisecond)
	var ran, stoppedRan atomic.Int32
	done := make(chan struct{})
	stopLater := context.AfterFunc(ctx, func() { ran.Add(1); close(done) })
	stopNow := context.AfterFunc(ctx, func() { stoppedRan.Add(1) })
	if !stopNow() {
		t.Fatal("stop before the end reported false")
	}
	child, cancelChild := context.WithCancel(ctx)
	defer cancelChild()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("the registered function never ran")
	}
	select {
	case <-child.Done():
	case <-time.After(time.Second):
		t.Fatal("the child context did not end with the slot")
	}
	if stopLater() {
		t.Fatal("stop after the function ran reported true")
	}
	if ran.Load() != 1 || stoppedRan.Load() != 0 {
		t.Fatalf("ran %d, stopped one ran %d", ran.Load(), stoppedRan.Load())
	}
	// Registered after the end: runs at once.
	late := make(chan struct{})
	context.AfterFunc(ctx, func() { close(late) })
	select {
	case <-late:
	case <-time.After(time.Second):
		t.Fatal("a function registered after the end never ran")
	}
}

// A slot that no call holds and none can join any more does not wake the process at
// its end; one still held when a newer slot took its place ends at its deadline.
func TestASlotFiresOnlyWhileACallHoldsIt(t *testing.T) {
	d := newDeadlines()
	const timeout = 50 * time.Millisecond
	w := slotWidth(timeout)
	now := time.Since(d.epoch)
	released, hold := d.bounded(context.Background(), now, timeout)
	hold.end()
	held, keep := d.bounded(context.Background(), now+w, timeout)
	defer keep.end()
	if released == held {
		t.Fatal("deadlines a slot apart share a context")
	}
	// A third slot closes the second while it is held.
	_, third := d.bounded(context.Background(), now+2*w, timeout)
	third.end()
	select {
	case <-held.Done():
	case <-time.After(time.Second):
		t.Fatal("a held slot never ended")
	}
	select {
	case <-released.Done():
		t.Fatal("a slot nobody held woke the process at its end")
	case <-time.After(2 * w):
	}
	if released.(*deadlineSlot).timer.Stop() {
		t.Fatal("the released slot's timer was still pending")
	}
}

// Under calls joining and leaving slots from many goroutines at once, every call that
// waits for its deadline sees it end, however its slot was closed meanwhile.
func TestEveryHeldDeadlineEndsUnderContention(t *testing.T) {
	d := newDeadlines()
	const timeout = 8 * time.Millisecond
	var wg sync.WaitGroup
	var late atomic.Int32
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 3000 {
				ctx, hold := d.bounded(context.Background(), time.Since(d.epoch), timeout)
				if (i+g)%97 == 0 {
					select {
					case <-ctx.Done():
					case <-time.After(timeout + time.Second):
						late.Add(1)
					}
				}
				hold.end()
			}
		}()
	}
	wg.Wait()
	if late.Load() != 0 {
		t.Fatalf("%d held deadlines never ended", late.Load())
	}
}

// A deadline counts from the clock reading it was given: a caller that read the clock
// a while before asking still ends on time, not that while late.
func TestASharedDeadlineFromAnEarlierReadingIsNotLate(t *testing.T) {
	d := newDeadlines()
	const stale, timeout = 150 * time.Millisecond, 200 * time.Millisecond
	ctx, hold := d.bounded(context.Background(), time.Since(d.epoch)-stale, timeout)
	defer hold.end()
	dl, _ := ctx.Deadline()
	<-ctx.Done()
	if late := time.Since(dl); late > 50*time.Millisecond {
		t.Fatalf("ended %v after its deadline", late)
	}
}

// What registers on the permit's context reaches the shared deadline beneath it
// without a goroutine each, and still runs when the deadline passes.
func TestThePermitPassesRegistrationsToTheSharedDeadline(t *testing.T) {
	d := newDeadlines()
	ctx, hold := d.bounded(context.Background(), time.Since(d.epoch), 40*time.Millisecond)
	defer hold.end()
	permitted := withPermit(ctx, true)
	if permitted.Value(permitKey{}) != true {
		t.Fatal("the permit is lost")
	}
	before := runtime.NumGoroutine()
	var ran atomic.Int32
	stops := make([]func() bool, 100)
	for i := range stops {
		stops[i] = context.AfterFunc(permitted, func() { ran.Add(1) })
	}
	if n := runtime.NumGoroutine() - before; n > 5 {
		t.Fatalf("100 registrations started %d goroutines", n)
	}
	for _, stop := range stops[50:] {
		stop()
	}
	<-ctx.Done()
	for deadline := time.Now().Add(time.Second); ran.Load() < 50 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if ran.Load() != 50 {
		t.Fatalf("%d of the 50 registrations left ran", ran.Load())
	}
}

// A call that finds a slot just as a newer one replaces and closes it (its timer then
// stopped, nobody holding it) does not join it: its deadline still ends.
func TestAJoinThatRacesTheSlotsCloseStillEnds(t *testing.T) {
	d := newDeadlines()
	const timeout = 30 * time.Millisecond
	w := slotWidth(timeout)
	now := time.Since(d.epoch)
	_, first := d.bounded(context.Background(), now, timeout)
	first.end()
	raced := false
	joinRace = func() {
		if !raced {
			raced = true
			_, newer := d.bounded(context.Background(), now+w, timeout)
			newer.end()
		}
	}
	defer func() { joinRace = nil }()
	ctx, hold := d.bounded(context.Background(), now, timeout)
	defer hold.end()
	if !raced {
		t.Fatal("the join never met the slot it raced")
	}
	select {
	case <-ctx.Done():
	case <-time.After(time.Second):
		t.Fatal("a call that joined a closed slot never reached its deadline")
	}
}

// A shared deadline cuts the connections of the statements it holds when it ends: a
// read blocked on one returns at once with a timeout, and stop says it was cut (the
// connection is then closed). A statement taken off before the end is not cut.
func TestASharedDeadlineCutsTheConnectionsOfItsStatements(t *testing.T) {
	d := newDeadlines()
	const timeout = 40 * time.Millisecond
	ctx, hold := d.bounded(context.Background(), time.Since(d.epoch), timeout)
	defer hold.end()
	s := hold.s
	if s == nil || ctx != context.Context(s) {
		t.Fatal("no shared deadline under a context that cannot end")
	}
	held, heldPeer := net.Pipe()
	done, donePeer := net.Pipe()
	defer func() {
		for _, c := range []net.Conn{held, heldPeer, done, donePeer} {
			c.Close()
		}
	}()
	running, finished := &slotEntry{conn: held}, &slotEntry{conn: done}
	if !s.add(running) || !s.add(finished) {
		t.Fatal("a slot that has not ended refused a statement")
	}
	if !finished.stop() {
		t.Fatal("a statement that ended before its deadline was cut")
	}
	readErr := make(chan error, 1)
	go func() {
		_, err := held.Read(make([]byte, 1))
		readErr <- err
	}()
	select {
	case err := <-readErr:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("the held connection's read ended with %v, not its deadline", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the shared deadline did not cut the held connection")
	}
	if ctx.Err() == nil {
		t.Fatal("cut before the deadline ended")
	}
	if running.stop() {
		t.Fatal("stop did not report the cut")
	}
	// The connection let go before the end is untouched.
	go func() { _, _ = donePeer.Write([]byte{1}) }()
	if err := done.SetReadDeadline(time.Now().Add(2 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := done.Read(make([]byte, 1)); err != nil {
		t.Fatalf("a connection let go before the deadline was cut: %v", err)
	}
	// Once ended, the slot takes no statement.
	if s.add(&slotEntry{conn: done}) {
		t.Fatal("an ended slot let a statement start")
	}
}

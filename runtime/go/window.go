package sqlpact

// tally is the results recorded at one millisecond, and how many of them failed.
type tally struct {
	at, n, failed uint64
}

// msWindow holds timestamped results, oldest first, as the breaker's window and the
// budget's queues need them: results recorded at the same millisecond one after the
// other share one entry. It answers what a list of every result would (how many, how
// many failed, once the old ones are dropped from the front) while its memory is
// bounded by the window's length in milliseconds rather than by the request rate, and
// each call costs the same however many results it holds. A busy host records tens of
// thousands of results per window: a plain list made every call copy all of them.
type msWindow struct {
	q    []tally // the live entries are q[head:]
	head int
	// n counts the results in the window, failed those of them that failed.
	n, failed uint64
}

// add records a result at atMs.
func (w *msWindow) add(atMs uint64, failed bool) {
	var f uint64
	if failed {
		f = 1
	}
	w.addN(atMs, 1, f)
}

// addN records n results at atMs, failed of them failed.
func (w *msWindow) addN(atMs, n, failed uint64) {
	if last := len(w.q) - 1; last >= w.head && w.q[last].at == atMs {
		w.q[last].n += n
		w.q[last].failed += failed
	} else {
		w.q = append(w.q, tally{at: atMs, n: n, failed: failed})
	}
	w.n += n
	w.failed += failed
}

// prune drops results from the front while the oldest was recorded spanMs or more
// before nowMs (at+spanMs ≤ nowMs): it stops at the first that was not, as a list of
// every result pruned from its front would.
func (w *msWindow) prune(nowMs, spanMs uint64) {
	for w.head < len(w.q) && w.q[w.head].at+spanMs <= nowMs {
		w.n -= w.q[w.head].n
		w.failed -= w.q[w.head].failed
		w.head++
	}
	switch {
	case w.head == len(w.q):
		w.q, w.head = w.q[:0], 0
	case w.head >= 32 && 2*w.head >= len(w.q):
		// The dropped front is at least as long as what is left: moving what is left
		// down costs no more than the calls that dropped the front.
		w.q, w.head = w.q[:copy(w.q, w.q[w.head:])], 0
	}
}

// clear drops every result.
func (w *msWindow) clear() {
	w.q, w.head, w.n, w.failed = w.q[:0], 0, 0, 0
}

package sqlpact

import "fmt"

// WireRange is the range of wire versions one side accepts, Min through Max: the
// contract's wire.min_compatible through wire.version.
type WireRange struct {
	Min uint32
	Max uint32
}

func (r WireRange) String() string {
	if r.Min == r.Max {
		return fmt.Sprintf("v%d", r.Min)
	}
	return fmt.Sprintf("v%d..=v%d", r.Min, r.Max)
}

func (r WireRange) valid() bool { return r.Min >= 1 && r.Min <= r.Max }

// NegotiationError says why two sides cannot talk. Invalid is set when a range is
// empty or starts at 0; otherwise the ranges do not overlap.
type NegotiationError struct {
	Local   WireRange
	Remote  WireRange
	Invalid bool
}

func (e *NegotiationError) Error() string {
	if e.Invalid {
		return fmt.Sprintf("invalid wire range: this side accepts %s, the other side accepts %s (a range runs from 1 or more up to at least its start)", e.Local, e.Remote)
	}
	return fmt.Sprintf("no common wire version: this side accepts %s, the other side accepts %s", e.Local, e.Remote)
}

// Negotiate returns the highest wire version both sides accept, or a
// *NegotiationError naming both ranges.
func Negotiate(local, remote WireRange) (uint32, error) {
	if !local.valid() || !remote.valid() {
		return 0, &NegotiationError{Local: local, Remote: remote, Invalid: true}
	}
	hi := min(local.Max, remote.Max)
	if hi >= max(local.Min, remote.Min) {
		return hi, nil
	}
	return 0, &NegotiationError{Local: local, Remote: remote}
}

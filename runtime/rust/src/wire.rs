//! Wire version negotiation: two services each accept a range of wire versions (the
//! contract's `wire.min_compatible..=wire.version`) and speak the highest version both
//! accept.

use std::fmt;

/// The wire versions one side accepts, `min..=max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WireRange {
    pub min: u32,
    pub max: u32,
}

impl WireRange {
    pub const fn new(min: u32, max: u32) -> Self {
        WireRange { min, max }
    }

    fn is_valid(self) -> bool {
        self.min >= 1 && self.min <= self.max
    }
}

impl fmt::Display for WireRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.min == self.max {
            write!(f, "v{}", self.min)
        } else {
            write!(f, "v{}..=v{}", self.min, self.max)
        }
    }
}

/// Why two sides cannot talk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NegotiationError {
    /// The ranges do not overlap.
    NoCommonVersion { local: WireRange, remote: WireRange },
    /// A range is empty or starts at 0.
    InvalidRange { local: WireRange, remote: WireRange },
}

impl fmt::Display for NegotiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NegotiationError::NoCommonVersion { local, remote } => write!(
                f,
                "no common wire version: this side accepts {local}, the other side accepts {remote}"
            ),
            NegotiationError::InvalidRange { local, remote } => write!(
                f,
                "invalid wire range: this side accepts {local}, the other side accepts {remote} (a range runs from 1 or more up to at least its start)"
            ),
        }
    }
}

impl std::error::Error for NegotiationError {}

/// The highest version both sides accept.
pub fn negotiate(local: WireRange, remote: WireRange) -> Result<u32, NegotiationError> {
    if !local.is_valid() || !remote.is_valid() {
        return Err(NegotiationError::InvalidRange { local, remote });
    }
    let hi = local.max.min(remote.max);
    if hi >= local.min.max(remote.min) {
        Ok(hi)
    } else {
        Err(NegotiationError::NoCommonVersion { local, remote })
    }
}

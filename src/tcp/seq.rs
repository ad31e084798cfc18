//! TCP sequence numbers with wrap-around (RFC 1982 serial number) arithmetic.

use std::fmt;

/// A 32-bit TCP sequence number. Comparisons are only meaningful between numbers
/// less than 2^31 apart, which holds for any window a real stack uses.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqNumber(pub u32);

impl SeqNumber {
    /// Signed distance `self - other`, wrapping.
    pub fn diff(self, other: SeqNumber) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }
    pub fn wrapping_add(self, n: u32) -> SeqNumber {
        SeqNumber(self.0.wrapping_add(n))
    }
    pub fn lt(self, other: SeqNumber) -> bool {
        self.diff(other) < 0
    }
    pub fn le(self, other: SeqNumber) -> bool {
        self.diff(other) <= 0
    }
}

impl fmt::Debug for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "seq({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_across_wrap() {
        let a = SeqNumber(u32::MAX - 10);
        let b = a.wrapping_add(20);
        assert_eq!(b.0, 9);
        assert!(a.lt(b));
        assert!(!b.lt(a));
        assert_eq!(b.diff(a), 20);
        assert_eq!(a.diff(b), -20);
        assert!(a.le(a));
    }
}

//! The demo practice. (Being written.)

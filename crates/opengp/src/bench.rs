//! `opengp bench`. (Being written.)

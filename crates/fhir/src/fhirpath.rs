//! The FHIRPath subset the R4 search parameters use. (Being written.)

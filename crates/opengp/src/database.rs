//! Opening the store named by a database URL. (Being written.)

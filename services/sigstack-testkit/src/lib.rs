//! Test support for sigstack. Used only from `[dev-dependencies]`.

//! Storage ports of sigstack and their sqlx implementations.

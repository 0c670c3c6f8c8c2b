//! `sqlx::migrate!` embeds `migrations/` at compile time but does not tell
//! cargo so: without this, a new or edited migration would not rebuild the
//! crate, and a binary could ship without it.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}

//! Generates the Fulcio v2 CA service (`proto/fulcio.proto`) with tonic's
//! prost generator. `protoc` comes from the `protoc-bin-vendored` crate,
//! handed to prost-build directly (no `PROTOC` variable to set), so a build
//! needs nothing installed beyond Rust.
//!
//! The server is always generated; the client only with the `grpc-client`
//! feature, which the end-to-end tests enable. No `connect` helpers either
//! way (`build_transport(false)`): the crate does not depend on tonic's
//! transport, and a test builds its own channel.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let proto_dir = manifest_dir.join("../../proto");
    let proto = proto_dir.join("fulcio.proto");
    println!("cargo:rerun-if-changed={}", proto.display());

    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(std::env::var_os("CARGO_FEATURE_GRPC_CLIENT").is_some())
        .build_transport(false)
        .compile_with_config(config, &[proto], &[proto_dir])?;
    Ok(())
}

//! `sigstack token`: a fresh ID token from a data directory's dev issuer,
//! for the URL `up` serves it at (recorded in the directory).

use anyhow::Context as _;
use sigstack_ca::dev_issuer::TokenRequest;

use crate::cli::TokenArgs;
use crate::data_dir::DataDir;

pub fn token(args: &TokenArgs) -> anyhow::Result<()> {
    let dir = DataDir::new(&args.data_dir);
    let metadata = dir.existing_metadata()?;
    let issuer = dir.dev_issuer(&metadata)?;
    let mut request = TokenRequest::new(args.subject.clone());
    request.audience.clone_from(&args.audience);
    if let Some(email) = &args.email {
        request = request.email(email.clone());
    }
    if let Some(claims) = &args.claims {
        let value: serde_json::Value =
            serde_json::from_str(claims).context("--claims is not JSON")?;
        let serde_json::Value::Object(map) = value else {
            anyhow::bail!("--claims must be a JSON object");
        };
        request.extra_claims = map;
    }
    println!("{}", issuer.token(&request)?);
    Ok(())
}

//! The `sigstack` binary: parses the command line, sets up telemetry and
//! wires the crates together. It holds no domain logic and issues no SQL.

mod backend;
mod bench;
mod ca;
mod cli;
mod config;
mod data_dir;
mod keys;
mod serve;
mod serving;
mod telemetry;
mod token;
mod trust_export;
mod up;

use clap::Parser as _;

/// A failed command prints one line, its error chain joined by `: `, and
/// exits 1 (never a panic or a multi-line `Debug` dump).
fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    // `serve` sets logging up from its config file.
    if !matches!(cli.command, cli::Command::Serve(_)) {
        telemetry::init(cli.log_format);
    }
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sigstack: error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: cli::Cli) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            cli::Command::Up(args) => up::up(args).await,
            cli::Command::Token(args) => token::token(&args),
            cli::Command::Trust(cli::TrustCommand::Export(args)) => trust_export::export(&args),
            cli::Command::Serve(args) => serve::serve(args).await,
            cli::Command::CheckConfig(args) => config::check(&args.file, args.files),
            cli::Command::Migrate(args) => serve::migrate(&args).await,
            cli::Command::Keys(cli::KeysCommand::Generate(args)) => keys::generate(&args),
            cli::Command::Keys(cli::KeysCommand::Init(args)) => keys::init(&args),
            cli::Command::Log(cli::LogCommand::Rotate(args)) => serve::rotate(args).await,
            cli::Command::Bench(cli::BenchCommand::Engine(args)) => bench::engine(args).await,
            cli::Command::Bench(cli::BenchCommand::Log(args)) => bench::log(args).await,
            cli::Command::Bench(cli::BenchCommand::Ca(args)) => bench::ca(args).await,
        }
    })
}

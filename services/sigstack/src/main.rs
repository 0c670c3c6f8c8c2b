//! The `sigstack` binary: parses the command line, sets up telemetry and
//! wires the crates together. It holds no domain logic and issues no SQL.

mod backend;
mod bench;
mod ca;
mod cli;
mod keys;
mod serve;
mod telemetry;

use clap::Parser as _;

fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    telemetry::init(cli.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            cli::Command::Serve(cli::ServeCommand::Log(args)) => serve::log(args).await,
            cli::Command::Serve(cli::ServeCommand::Ca(args)) => ca::serve_ca(args).await,
            cli::Command::Serve(cli::ServeCommand::Ct(args)) => ca::serve_ct(args).await,
            cli::Command::Keys(cli::KeysCommand::Generate(args)) => keys::generate(&args),
            cli::Command::Keys(cli::KeysCommand::Init(args)) => keys::init(&args),
            cli::Command::Log(cli::LogCommand::Rotate(args)) => serve::rotate(args).await,
            cli::Command::Bench(cli::BenchCommand::Engine(args)) => bench::engine(args).await,
            cli::Command::Bench(cli::BenchCommand::Log(args)) => bench::log(args).await,
            cli::Command::Bench(cli::BenchCommand::Ca(args)) => bench::ca(args).await,
        }
    })
}

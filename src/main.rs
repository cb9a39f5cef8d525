//! The `mapsweep` binary: parse the command line, run the library, map the outcome to an exit code.
use clap::Parser;
use mapsweep::{ExitStatus, cli};

fn main() -> std::process::ExitCode {
    mapsweep::keep_freed_memory();
    let args = cli::Cli::parse();
    cli::init_logging(args.global.verbose, args.global.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mapsweep: cannot start the async runtime: {e}");
            return ExitStatus::Error.into();
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(status) => status.into(),
        Err(e) => {
            eprintln!("mapsweep: error: {e:#}");
            ExitStatus::Error.into()
        }
    }
}

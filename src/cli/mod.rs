//! The `rtforge` command line: clap derive, one file per subcommand, doc comments as `--help`.
//! trtexec's camelCase spellings are accepted as aliases where an option has one.

mod bench;
mod bench_model;
mod build;
mod input_expr;
mod inspect;
mod model_source;
mod progress;
mod run;
mod summary;
mod zoo;

use clap::{Parser, Subcommand};

/// rtforge: build, inspect and run ONNX models on the CPU (and, in later versions, NVIDIA GPUs).
#[derive(Parser, Debug)]
#[command(name = "rtforge", version = crate::VERSION, about, long_about = None)]
pub struct Cli {
    /// More log output (-v: debug, -vv: trace). RUST_LOG overrides it.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Optimize a model and write an engine plan (trtexec's build phase).
    Build(build::BuildArgs),
    /// Show a model's or plan's inputs, outputs, opsets, op counts and parameters; for a plan also
    /// its precision, backend, fingerprint, profiles and build options.
    Inspect(inspect::InspectArgs),
    /// Run a model once on given (or seeded random) inputs and save or summarize its outputs.
    Run(run::RunArgs),
    /// Benchmark a model as trtexec does: warm-up, timed queries, performance summary, speedup table.
    Bench(bench::BenchArgs),
    /// List or export the built-in models.
    #[command(subcommand)]
    Zoo(zoo::ZooCommand),
}

/// Entry point for `main`.
pub fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    match cli.command {
        Command::Build(a) => build::run(a, cli.verbose),
        Command::Inspect(a) => inspect::run(a),
        Command::Run(a) => run::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Zoo(z) => zoo::run(z),
    }
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

//! `rtforge zoo list | export NAME -o FILE.onnx`.

use crate::zoo::{self, ZooOptions};
use anyhow::Result;
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum ZooCommand {
    /// List the built-in models.
    List,
    /// Write a built-in model (seeded random weights) as an ONNX file.
    Export {
        /// Model name, as `zoo list` shows it (e.g. resnet50).
        name: String,
        /// Output file.
        #[arg(short, long)]
        output: PathBuf,
        /// Batch size baked into the input shape.
        #[arg(long, default_value_t = 1)]
        batch: usize,
        /// Sequence length (transformer models).
        #[arg(long, default_value_t = 128)]
        seq: usize,
        /// Number of layers (transformer models; default: the architecture's own).
        #[arg(long)]
        layers: Option<usize>,
        /// Seed for the weights.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
}

pub fn run(cmd: ZooCommand) -> Result<()> {
    match cmd {
        ZooCommand::List => {
            for e in zoo::list() {
                println!("{:<14} {}", e.name, e.description);
            }
            Ok(())
        }
        ZooCommand::Export {
            name,
            output,
            batch,
            seq,
            layers,
            seed,
        } => {
            let name = zoo::parse_zoo_ref(&name).unwrap_or(&name).to_string();
            let opts = ZooOptions {
                batch,
                seq,
                layers,
                seed,
            };
            zoo::export(&name, &opts, &output)?;
            println!("wrote {} ({name}, batch {batch})", output.display());
            Ok(())
        }
    }
}

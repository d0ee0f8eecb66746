//! The `rtforge` command line.

/// Entry point for `main`.
pub fn run() -> anyhow::Result<()> {
    Ok(())
}

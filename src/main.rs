fn main() {
    if let Err(e) = rtforge::cli::run() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

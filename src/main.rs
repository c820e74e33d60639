use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    bpaas::cli::main().await
}

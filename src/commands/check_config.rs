//! `virtdiag check-config`: the daemon's own validation of the file, the environment
//! and the flags, every error at once; then what the machine must provide (the socket's
//! group, writable directories); then the effective configuration.

use crate::cli::CheckConfigArgs;
use crate::config::{self, environment, Source};
use crate::error::{Error, Result};

pub fn run(args: CheckConfigArgs) -> Result<()> {
    let source = Source::from_flag(args.config);
    let config = config::load(&source, &args.overrides).map_err(Error::Config)?;
    let problems = environment::check(&config);
    if let Some(worst) = problems.iter().max_by_key(|p| p.exit_code()) {
        let text: Vec<String> = problems.iter().map(Error::to_string).collect();
        return Err(match worst {
            Error::Config(_) => Error::Config(text.join("\n")),
            _ => Error::CantCreate(text.join("\n")),
        });
    }
    if source.exists() {
        println!("# effective configuration from {}", source.path().display());
    } else {
        println!(
            "# no file at {}, using the defaults",
            source.path().display()
        );
    }
    print!("{}", config.to_toml());
    Ok(())
}

//! `virtdiag check-config`: the daemon's own validation of the file, the environment
//! and the flags, every error at once; then what the machine must provide (the socket's
//! group, and as warnings writable directories); then the effective configuration.

use crate::cli::CheckConfigArgs;
use crate::config::{self, environment, Source};
use crate::error::{Error, Result};

pub fn run(args: CheckConfigArgs) -> Result<()> {
    let source = Source::from_flag(args.config);
    let config = config::load(&source, &args.overrides).map_err(Error::Config)?;
    let findings = environment::check(&config);
    for warning in &findings.warnings {
        crate::log_warn!("{warning}");
    }
    if !findings.errors.is_empty() {
        return Err(Error::Config(findings.errors.join("\n")));
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

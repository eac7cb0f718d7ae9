//! `virtdiag check-config`: the daemon's own validation of the file, the environment
//! and the flags, every error at once; then what the machine must provide (the socket's
//! group, and as warnings writable directories); then the effective configuration
//! (escaped on a terminal: a URI or path may carry any character).

use std::io::IsTerminal;

use crate::cli::CheckConfigArgs;
use crate::config::{self, environment, Source};
use crate::error::Result;

pub fn run(args: CheckConfigArgs) -> Result<()> {
    let source = Source::from_flag(args.config);
    let config = config::load(&source, &args.overrides)?;
    let findings = environment::check(&config);
    for warning in &findings.warnings {
        crate::log_warn!("{warning}");
    }
    if !findings.errors.is_empty() {
        return Err(config::Error {
            problems: findings.errors,
        }
        .into());
    }
    let mut text = if source.exists() {
        format!(
            "# effective configuration from {}\n",
            source.path().display()
        )
    } else {
        format!(
            "# no file at {}, using the defaults\n",
            source.path().display()
        )
    };
    text.push_str(&config.to_toml());
    // TOML leaves the C1 controls and the bidi characters raw in strings; its own
    // `\u009b` escapes keep the text the same TOML.
    if std::io::stdout().is_terminal() {
        text = crate::escape::json_safe(&text).into_owned();
    }
    print!("{text}");
    Ok(())
}

//! `virtdiag check-config`: the daemon's own validation, then the effective config.

use crate::cli::CheckConfigArgs;
use crate::config::{self, Overrides, Source};
use crate::error::{Error, Result};

pub fn run(args: CheckConfigArgs) -> Result<()> {
    let source = Source::from_flag(args.config);
    let config = config::load(&source, &Overrides::default()).map_err(Error::Config)?;
    println!("# effective configuration from {}", source.path().display());
    print!("{}", config.to_toml());
    Ok(())
}

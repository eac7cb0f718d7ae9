//! `virtdiag top`: a live view of the host's domains, one row each, redrawn as the
//! agent's cycles arrive over its socket (`watch`); it never talks to libvirt. The
//! terminal is restored on `q`, on SIGINT, SIGTERM and SIGHUP, and on a panic
//! (ratatui's hook). `model` holds what is shown (the human views and `once` use its
//! rows too), `feed` the socket, `terminal` keys and drawing.
//!
//! The terminal and the feed are built with the cargo feature `top` (on by default);
//! without it the binary links no terminal UI library and `virtdiag top` says it is
//! not in this build (docs/service.md, "Without `top`").

mod column;
#[cfg(feature = "top")]
mod feed;
pub mod model;
#[cfg(feature = "top")]
mod terminal;
pub mod verdict;

#[cfg(feature = "top")]
pub use terminal::run;

/// What `virtdiag top` answers in a build without the `top` feature.
#[cfg(not(feature = "top"))]
pub fn run() -> crate::error::Result<()> {
    Err(super::failure::Usage::TopNotBuilt.into())
}

#[cfg(all(test, not(feature = "top")))]
mod tests {
    use clap::Parser;

    use crate::cli::{Cli, Command};
    use crate::error::Error;

    #[test]
    fn without_the_feature_top_is_a_usage_error_that_names_it() {
        let cli = Cli::try_parse_from(["virtdiag", "top", "--socket", "/s"]).unwrap();
        assert!(matches!(cli.command, Command::Top(_)));
        let error = crate::commands::run(cli).unwrap_err();
        assert!(matches!(
            error,
            Error::Usage(crate::commands::failure::Usage::TopNotBuilt)
        ));
        assert!(error.to_string().contains("cargo feature `top`"), "{error}");
    }
}

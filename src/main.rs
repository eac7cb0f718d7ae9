//! The `virtdiag` binary: parse the command line, run, end with the error's exit code
//! ([`Error::exit_code`]).
//! On a terminal, an error never carries a raw control character: URIs, paths and
//! patterns in it are outside text ([`escape`]).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use virtdiag::cli::Cli;
use virtdiag::error::Error;
use virtdiag::escape;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            print_clap(&e);
            return ExitCode::from(Error::from(e).exit_code());
        }
    };
    match virtdiag::commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let terminal = std::io::stderr().is_terminal();
            let mut stderr = std::io::stderr().lock();
            // One line per error: a configuration may have several.
            for line in e.to_string().lines() {
                let line = if terminal {
                    escape::printable(line)
                } else {
                    line.to_string()
                };
                let _ = writeln!(stderr, "virtdiag: {line}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}

/// clap's message (usage, help, version) as clap prints it, unless it is going to a
/// terminal with a control character from an argument in it: then in plain text,
/// escaped.
fn print_clap(e: &clap::Error) {
    let to_stderr = e.use_stderr();
    let terminal = if to_stderr {
        std::io::stderr().is_terminal()
    } else {
        std::io::stdout().is_terminal()
    };
    let plain = e.render().to_string();
    let unsafe_char = |c: char| c != '\n' && escape::is_unsafe(c);
    if !terminal || !plain.chars().any(unsafe_char) {
        let _ = e.print();
        return;
    }
    let text = escape::text_safe(&plain);
    let _ = if to_stderr {
        std::io::stderr().write_all(text.as_bytes())
    } else {
        std::io::stdout().write_all(text.as_bytes())
    };
}

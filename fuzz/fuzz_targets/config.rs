//! Config file: `virtdiag::config::parse` on arbitrary text.
//!
//! The input bytes are read as UTF-8 with invalid sequences replaced; the seeds are the
//! packaged and example config files plus files that set every key, and
//! `fuzz/dict/config.dict` holds the keys and tables. Checks:
//! - `parse` never panics, and an error is a non-empty message;
//! - an accepted config printed with `Config::to_toml` (what `check-config` shows)
//!   parses again to an equal `Config`: the printed form is a faithful config file.

#![no_main]

use libfuzzer_sys::fuzz_target;
use virtdiag::config::parse;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match parse(&text) {
        Ok(config) => {
            let printed = config.to_toml();
            match parse(&printed) {
                Ok(again) => assert_eq!(again, config, "printed as:\n{printed}"),
                Err(error) => panic!("the printed config does not parse: {error}\n{printed}"),
            }
        }
        Err(error) => assert!(!error.is_empty()),
    }
});

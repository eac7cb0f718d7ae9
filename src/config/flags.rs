//! The keys' flags and environment variables, as one clap argument group built from
//! [`KEYS`]: `virtdiag run` and `check-config` flatten it, so each key's flag, help and
//! value name exist only in its [`Key`] entry.

use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};

use super::keys::{FlagShape, Key, KEYS};

/// The values given for keys on the command line and in the environment, not yet
/// checked: [`super::load`] checks them with the file, and reports every error.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// (key, what the environment gives): applied before the flags.
    pub env: Vec<(&'static Key, String)>,
    /// (key, each value given): applied last, in [`KEYS`]' order.
    pub flags: Vec<(&'static Key, Vec<String>)>,
}

impl Overrides {
    /// Overrides from flags only, as `run` would parse `args` (for tests and tools).
    pub fn from_flags<I: IntoIterator<Item = S>, S: Into<String>>(
        args: I,
    ) -> Result<Self, clap::Error> {
        let command = Overrides::augment_args(Command::new("run").no_binary_name(true));
        let matches = command
            .try_get_matches_from(args.into_iter().map(Into::into).collect::<Vec<String>>())?;
        Ok(Overrides {
            env: Vec::new(),
            flags: flags_of(&matches),
        })
    }
}

fn flags_of(matches: &ArgMatches) -> Vec<(&'static Key, Vec<String>)> {
    KEYS.iter()
        .filter_map(|key| match key.flag.shape {
            FlagShape::Switch(value) => matches
                .get_flag(key.name)
                .then(|| (key, vec![value.to_string()])),
            _ => matches
                .get_many::<String>(key.name)
                .map(|values| (key, values.cloned().collect())),
        })
        .collect()
}

impl FromArgMatches for Overrides {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let env = KEYS
            .iter()
            .filter_map(|key| {
                let value = std::env::var(key.env?).ok()?;
                (!value.is_empty()).then_some((key, value))
            })
            .collect();
        Ok(Overrides {
            env,
            flags: flags_of(matches),
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Args for Overrides {
    fn augment_args(mut command: Command) -> Command {
        for key in &KEYS {
            command = command.arg(arg_of(key));
        }
        command
    }

    fn augment_args_for_update(command: Command) -> Command {
        Self::augment_args(command)
    }
}

/// The clap argument of a key: its flag, value name and help, which ends with the key
/// it sets (and the environment variable that also sets it).
fn arg_of(key: &'static Key) -> Arg {
    let flag = &key.flag;
    let env = match key.env {
        Some(var) => format!("; also {var}"),
        None => String::new(),
    };
    let mut arg = Arg::new(key.name)
        .long(flag.long)
        .help(format!("{} (key `{}`{env}).", key.help, key.name));
    if let Some(short) = flag.short {
        arg = arg.short(short);
    }
    if let Some(alias) = flag.alias {
        arg = arg.visible_alias(alias);
    }
    match flag.shape {
        FlagShape::Switch(_) => arg.action(ArgAction::SetTrue),
        FlagShape::One => arg
            .value_name(flag.value_name)
            .allow_hyphen_values(true)
            .action(ArgAction::Set),
        FlagShape::Repeated => arg.value_name(flag.value_name).action(ArgAction::Append),
        FlagShape::Commas => arg
            .value_name(flag.value_name)
            .value_delimiter(',')
            .action(ArgAction::Append),
    }
}

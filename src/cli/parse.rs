//! Parsing the command line: runc's go-style `-flag` spellings, one
//! subcommand's tree where that is enough, one-line usage errors with
//! runc's exit codes.

use clap::{Args, CommandFactory, FromArgMatches};

use super::args::*;

impl Cli {
    /// Parse the process arguments, accepting go-style `-long-flag` spellings.
    pub fn parse_runc_style() -> Self {
        let raw: Vec<std::ffi::OsString> = std::env::args_os().collect();
        if let Some(cli) = Self::parse_one_subcommand(&raw) {
            return cli;
        }
        // Built once (it is most of a hull process's start-up instructions)
        // and used for both the spelling rewrite and the parse.
        let mut command = Self::command();
        let args = normalize_args_for(&command, raw);
        let parsed = command
            .try_get_matches_from_mut(&args)
            .and_then(|m| Self::from_arg_matches(&m));
        // Never dropped: the process ends soon, and freeing the whole tree
        // cost a tenth of the start-up.
        std::mem::forget(command);
        match parsed {
            Ok(cli) => cli,
            Err(err) => {
                use clap::error::ErrorKind;
                if matches!(
                    err.kind(),
                    ErrorKind::DisplayHelp
                        | ErrorKind::DisplayVersion
                        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                ) {
                    err.exit()
                }
                let (line, code) = usage_error(&err, &args);
                eprintln!("{line}");
                std::process::exit(code)
            }
        }
    }

    /// The parse of a command line whose subcommand is certain, with a tree
    /// of the top level and that one subcommand (building all fifteen was
    /// most of a hull process's start-up). None when the whole tree is
    /// needed: help or version asked for, a go-style `-flag` to rewrite, no
    /// known subcommand, or any parse error (whose text comes from the
    /// whole tree, as before).
    fn parse_one_subcommand(args: &[std::ffi::OsString]) -> Option<Cli> {
        let mut command = one_subcommand_tree(args)?;
        let cli = command
            .try_get_matches_from_mut(args)
            .and_then(|m| Self::from_arg_matches(&m))
            .ok()?;
        // Not freed: the process ends soon.
        std::mem::forget(command);
        Some(cli)
    }
}

/// The top level and only the subcommand `args` names (see
/// `parse_one_subcommand`), or None. The top level's settings are those of
/// `Cli`'s `#[command]` in args.rs.
fn one_subcommand_tree(args: &[std::ffi::OsString]) -> Option<clap::Command> {
    let words: Vec<&str> = args
        .iter()
        .skip(1)
        .map(|a| a.to_str())
        .collect::<Option<_>>()?;
    let needs_whole_tree = |w: &&str| {
        matches!(*w, "-h" | "--help" | "help" | "-v" | "--version")
            || (w.len() > 2 && w.starts_with('-') && !w.starts_with("--"))
    };
    if words.iter().any(needs_whole_tree) {
        return None;
    }
    let top = GlobalOpts::augment_args(
        clap::Command::new("hull")
            .disable_version_flag(true)
            .subcommand_required(false)
            .arg_required_else_help(true),
    );
    let takes_value = |flag: &[u8]| {
        top.get_arguments()
            .any(|a| a.get_long().map(str::as_bytes) == Some(flag) && a.get_action().takes_values())
    };
    let name = subcommand_word(words.iter().map(|w| w.as_bytes()), takes_value)?;
    let name = std::str::from_utf8(name).ok()?;
    let sub = |name: &'static str| clap::Command::new(name);
    let sub = match name {
        "create" => CreateArgs::augment_args(sub("create")),
        "start" => IdArg::augment_args(sub("start")),
        "exec" => ExecArgs::augment_args(sub("exec")),
        "run" => RunArgs::augment_args(sub("run")),
        "state" => IdArg::augment_args(sub("state")),
        "kill" => KillArgs::augment_args(sub("kill")),
        "delete" => DeleteArgs::augment_args(sub("delete")),
        "list" | "ls" => ListArgs::augment_args(sub("list").alias("ls")),
        "spec" => SpecArgs::augment_args(sub("spec")),
        "features" => sub("features"),
        "pause" => IdArg::augment_args(sub("pause")),
        "resume" => IdArg::augment_args(sub("resume")),
        "update" => UpdateArgs::augment_args(sub("update")),
        "events" => EventsArgs::augment_args(sub("events")),
        "ps" => PsArgs::augment_args(sub("ps")),
        _ => return None,
    };
    Some(top.subcommand(sub))
}

/// The subcommand word of a command line (`words`: the arguments after the
/// program name): the first word that is neither a flag nor the value of a
/// global option `takes_value` names, given as `--flag value` or go-style
/// `-flag value` (`--flag=value` is one word). None when there is none.
pub fn subcommand_word<'a>(
    mut words: impl Iterator<Item = &'a [u8]>,
    takes_value: impl Fn(&[u8]) -> bool,
) -> Option<&'a [u8]> {
    while let Some(word) = words.next() {
        let Some(flag) = word.strip_prefix(b"-") else {
            return Some(word);
        };
        if takes_value(flag.strip_prefix(b"-").unwrap_or(flag)) {
            words.next();
        }
    }
    None
}

/// One line for a command-line error, and runc's exit status for it: 1
/// for a usage error, 3 for an unknown subcommand (urfave/cli's "No help
/// topic"). clap's own text spans several lines with a usage and tips.
pub fn usage_error(err: &clap::Error, args: &[std::ffi::OsString]) -> (String, i32) {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let context = |kind: ContextKind| -> String {
        match err.get(kind) {
            Some(ContextValue::String(s)) => s.clone(),
            Some(ContextValue::Strings(v)) => v.join(", "),
            Some(other) => other.to_string(),
            None => String::new(),
        }
    };
    let subcommands: Vec<String> = Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    let sub = args
        .iter()
        .skip(1)
        .filter_map(|a| a.to_str())
        .find(|a| subcommands.iter().any(|s| s == a));
    let prefix = match sub {
        Some(sub) => format!("hull: {sub}: "),
        None => "hull: ".to_string(),
    };
    let (what, code) = match err.kind() {
        ErrorKind::InvalidSubcommand => (
            format!(
                "unknown subcommand {:?} (see `hull --help`)",
                context(ContextKind::InvalidSubcommand)
            ),
            3,
        ),
        ErrorKind::UnknownArgument => {
            let arg = context(ContextKind::InvalidArg);
            let kind = if arg.starts_with('-') {
                "unknown flag"
            } else {
                "unexpected argument"
            };
            (format!("{kind} {arg}"), 1)
        }
        ErrorKind::MissingRequiredArgument => {
            (format!("missing {}", context(ContextKind::InvalidArg)), 1)
        }
        _ => {
            // clap's first line, without its "error: " and the tips.
            let text = err.render().to_string();
            let first = text.lines().next().unwrap_or_default();
            (first.trim_start_matches("error: ").to_string(), 1)
        }
    };
    (format!("{prefix}{what}"), code)
}

/// Every long flag name the CLI knows, across all subcommands.
fn long_flag_names(command: &clap::Command) -> Vec<String> {
    fn collect(cmd: &clap::Command, out: &mut Vec<String>) {
        for arg in cmd.get_arguments() {
            if let Some(long) = arg.get_long() {
                out.push(long.to_string());
            }
        }
        for sub in cmd.get_subcommands() {
            collect(sub, out);
        }
    }
    let mut names = Vec::new();
    collect(command, &mut names);
    names
}

/// Rewrite `-name[=v]` to `--name[=v]` when `name` is a known long flag:
/// go's flag parsing (and so runc's callers) treat both spellings alike.
pub fn normalize_args(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    normalize_args_for(&Cli::command(), args)
}

/// `normalize_args` with the command tree already built.
fn normalize_args_for(
    command: &clap::Command,
    args: Vec<std::ffi::OsString>,
) -> Vec<std::ffi::OsString> {
    let names = long_flag_names(command);
    let mut out = Vec::with_capacity(args.len());
    let mut after_double_dash = false;
    for arg in args {
        if after_double_dash {
            out.push(arg);
            continue;
        }
        if arg == "--" {
            after_double_dash = true;
            out.push(arg);
            continue;
        }
        if let Some(s) = arg.to_str() {
            if s.len() > 2 && s.starts_with('-') && !s.starts_with("--") {
                let name = s[1..].split('=').next().unwrap_or("");
                if names.iter().any(|n| n == name) {
                    out.push(format!("-{s}").into());
                    continue;
                }
            }
        }
        out.push(arg);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::path::PathBuf;

    fn norm(args: &[&str]) -> Vec<String> {
        normalize_args(args.iter().map(|s| s.into()).collect())
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect()
    }

    /// The one-subcommand tree parses every command line as the whole
    /// tree does (or declines it).
    #[test]
    fn one_subcommand_parse_agrees_with_the_whole_tree() {
        let argv = |line: &str| -> Vec<std::ffi::OsString> {
            std::iter::once("hull")
                .chain(line.split_whitespace())
                .map(Into::into)
                .collect()
        };
        for line in [
            "create --bundle /b --pid-file /p --console-socket /s id",
            "--root /r --log /l --log-format json create --no-pivot id",
            "--debug --systemd-cgroup run -d --bundle /b id",
            "start id",
            "state id --root /r",
            "exec -t --env A=1 --cwd /w id sh -c true",
            "exec --process /p.json --detach --pid-file /p id",
            "kill id SIGTERM",
            "kill --all id 9",
            "delete --force id",
            "list --format json",
            "ls -q",
            "spec --rootless --bundle /b",
            "features",
            "pause id",
            "resume id",
            "update --memory 1048576 --pids-limit 10 id",
            "update -r - id",
            "events --stats id",
            "ps --format json id",
            "--rootless true state id",
            "--root=/r --debug delete id",
        ] {
            let args = argv(line);
            let whole = Cli::command()
                .try_get_matches_from(&args)
                .and_then(|m| Cli::from_arg_matches(&m))
                .unwrap_or_else(|e| panic!("{line}: {e}"));
            let one =
                Cli::parse_one_subcommand(&args).unwrap_or_else(|| panic!("{line}: declined"));
            assert_eq!(format!("{one:?}"), format!("{whole:?}"), "{line}");
        }
        for line in [
            "--help",
            "state -h",
            "run -no-subreaper id",
            "nosuch",
            "state",
        ] {
            assert!(Cli::parse_one_subcommand(&argv(line)).is_none(), "{line}");
        }
    }

    #[test]
    fn single_dash_long_flags_are_rewritten() {
        assert_eq!(
            norm(&["hull", "run", "-no-subreaper", "-bundle=/b", "x"]),
            ["hull", "run", "--no-subreaper", "--bundle=/b", "x"]
        );
    }

    #[test]
    fn short_flags_and_values_are_kept() {
        assert_eq!(
            norm(&["hull", "kill", "-a", "x", "-9", "--", "-root"]),
            ["hull", "kill", "-a", "x", "-9", "--", "-root"]
        );
    }

    #[test]
    fn cli_parses_runc_calls() {
        let args = normalize_args(
            [
                "hull",
                "--root",
                "/r",
                "--log",
                "/l",
                "--log-format",
                "json",
                "create",
                "--bundle",
                "/b",
                "--pid-file",
                "/p",
                "id1",
            ]
            .iter()
            .map(|s| s.into())
            .collect(),
        );
        let cli = Cli::try_parse_from(args).unwrap();
        assert_eq!(cli.global.log_format, LogFormat::Json);
        match cli.command {
            Some(Command::Create(c)) => {
                assert_eq!(c.id, "id1");
                assert_eq!(c.bundle, PathBuf::from("/b"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

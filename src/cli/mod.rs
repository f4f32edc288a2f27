//! The command line: runc's global flags and subcommands, parsed with clap.
//! Single-dash long flags (`-no-subreaper`, as go-runc passes them) are accepted.

mod args;
mod parse;

pub use args::*;
pub use parse::{normalize_args, subcommand_word, usage_error};

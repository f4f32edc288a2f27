//! The man pages (`man/*.8`) and shell completions (`completions/`) are
//! generated from hull's own clap definitions and checked in, so `make
//! install` needs no generator; this test fails when they are not what the
//! current command line renders. `make docs` (HULL_REGENERATE=1) rewrites
//! them.

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every generated file: its path in the repository and its bytes.
fn render() -> Vec<(PathBuf, Vec<u8>)> {
    let cmd = hull::cli::Cli::command();
    let mut out = Vec::new();
    let mut page = |cmd: clap::Command, name: String| {
        let mut bytes = Vec::new();
        clap_mangen::Man::new(cmd)
            .title(name.to_uppercase())
            .section("8")
            .source(format!("hull {}", env!("CARGO_PKG_VERSION")))
            .manual("hull manual")
            .render(&mut bytes)
            .expect("render a man page");
        out.push((PathBuf::from(format!("man/{name}.8")), bytes));
    };
    page(cmd.clone(), "hull".into());
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("hull-{}", sub.get_name());
        // The page's synopsis names the command as it is typed.
        let sub = sub
            .clone()
            .bin_name(format!("hull {}", sub.get_name()))
            .display_name(&name);
        page(sub, name);
    }
    for (shell, file) in [
        (Shell::Bash, "completions/hull.bash"),
        (Shell::Zsh, "completions/_hull"),
        (Shell::Fish, "completions/hull.fish"),
    ] {
        let mut bytes = Vec::new();
        clap_complete::generate(shell, &mut cmd.clone(), "hull", &mut bytes);
        out.push((PathBuf::from(file), bytes));
    }
    out
}

#[test]
fn man_pages_and_completions_are_current() {
    let files = render();
    let regenerate = std::env::var_os("HULL_REGENERATE").is_some();
    let mut stale = Vec::new();
    for (path, bytes) in &files {
        let full = repo().join(path);
        if std::fs::read(&full).ok().as_deref() == Some(bytes.as_slice()) {
            continue;
        }
        if regenerate {
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(&full, bytes).unwrap();
        } else {
            stale.push(path.display().to_string());
        }
    }
    // No page or completion left over from a command that is gone.
    for dir in ["man", "completions"] {
        for entry in std::fs::read_dir(repo().join(dir)).unwrap() {
            let path = Path::new(dir).join(entry.unwrap().file_name());
            if !files.iter().any(|(p, _)| *p == path) {
                if regenerate {
                    std::fs::remove_file(repo().join(&path)).unwrap();
                } else {
                    stale.push(format!("{} (no longer generated)", path.display()));
                }
            }
        }
    }
    assert!(
        stale.is_empty(),
        "out of date with the command line, run `make docs`: {stale:?}"
    );
}

/// Every subcommand has its page, and each page names its options.
#[test]
fn every_command_has_a_page() {
    let files = render();
    let cmd = hull::cli::Cli::command();
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let path = PathBuf::from(format!("man/hull-{}.8", sub.get_name()));
        let (_, page) = files
            .iter()
            .find(|(p, _)| *p == path)
            .unwrap_or_else(|| panic!("no {path:?}"));
        let page = String::from_utf8_lossy(page);
        for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
            if let Some(long) = arg.get_long() {
                assert!(
                    page.contains(&format!("\\-\\-{}", long.replace('-', "\\-"))),
                    "{path:?} does not name --{long}"
                );
            }
        }
    }
}

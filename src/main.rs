use clap::Parser;

fn main() {
    hull::logging::install_panic_hook();
    hull::security::exe_guard::reexec_early();
    hull::security::exe_guard::adopt_exe_tree();
    let cli = hull::cli::Cli::parse_runc_style();
    hull::timing::init(cli.global.debug);
    if let Err(err) = hull::commands::check_passed_fds(&cli) {
        eprintln!("hull: {err:#}");
        std::process::exit(1);
    }
    if let Err(err) = hull::logging::init(&cli.global) {
        eprintln!("hull: {err:#}");
        std::process::exit(1);
    }
    // Commands that put processes into containers first make sure the
    // binary those processes could reach is read-only (CVE-2019-5736).
    if matches!(
        cli.command,
        Some(
            hull::cli::Command::Create(_)
                | hull::cli::Command::Run(_)
                | hull::cli::Command::Exec(_)
        )
    ) {
        if let Err(err) = hull::security::exe_guard::reexec_from_readonly_binary() {
            hull::logging::error(&format!("{err:#}"));
            std::process::exit(1);
        }
    } else {
        hull::security::exe_guard::forget_reexec();
    }
    hull::timing::mark("startup");
    // With unwinding (debug builds) a panic comes back here once the guards
    // on its way have cleaned up; the hook has already said it.
    let dispatched = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        hull::logging::test_panic_point("main");
        hull::commands::dispatch(cli)
    }));
    hull::timing::mark("command");
    let code = match dispatched {
        Ok(Ok(code)) => code,
        Ok(Err(err)) => {
            hull::logging::error(&format!("{err:#}"));
            1
        }
        Err(_) => 1,
    };
    std::process::exit(code);
}

// Keep clap's derive trait in scope for parse_runc_style.
#[allow(dead_code)]
fn _assert_parser<T: Parser>() {}

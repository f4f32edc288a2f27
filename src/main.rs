use clap::Parser;

fn main() {
    let cli = hull::cli::Cli::parse_runc_style();
    if let Err(err) = hull::logging::init(&cli.global) {
        eprintln!("hull: {err:#}");
        std::process::exit(1);
    }
    let code = match hull::commands::dispatch(cli) {
        Ok(code) => code,
        Err(err) => {
            hull::logging::error(&format!("{err:#}"));
            1
        }
    };
    std::process::exit(code);
}

// Keep clap's derive trait in scope for parse_runc_style.
#[allow(dead_code)]
fn _assert_parser<T: Parser>() {}

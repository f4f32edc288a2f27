//! hull-recvtty: the receiving end of `--console-socket`. It listens on a
//! unix socket, takes the pty master a runtime sends (SCM_RIGHTS) and joins
//! it to this terminal (`single`), or keeps every master drained (`null`).

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use hull::process::terminal::{recv_pty_master, Proxy};

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Join one console to this terminal, exit when it closes
    Single,
    /// Accept consoles forever and discard their output
    Null,
}

#[derive(Parser, Debug)]
#[command(
    name = "hull-recvtty",
    about = "Receive pty masters sent to a --console-socket"
)]
struct Args {
    /// How to handle the consoles received
    #[arg(short, long, value_enum, default_value = "single")]
    mode: Mode,
    /// Write this process's pid to FILE once the socket listens
    #[arg(long = "pid-file", value_name = "FILE")]
    pid_file: Option<PathBuf>,
    /// The socket path to listen on (pass it to `hull create --console-socket`)
    socket: PathBuf,
}

fn main() {
    let args = Args::parse();
    if let Err(err) = run(&args) {
        eprintln!("hull-recvtty: {err:#}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<()> {
    let listener =
        UnixListener::bind(&args.socket).with_context(|| format!("listen on {:?}", args.socket))?;
    if let Some(pid_file) = &args.pid_file {
        hull::files::write_atomic(pid_file, std::process::id().to_string().as_bytes())
            .with_context(|| format!("--pid-file {pid_file:?}"))?;
    }
    let result = match args.mode {
        Mode::Single => single(&listener),
        Mode::Null => null(&listener),
    };
    let _ = std::fs::remove_file(&args.socket);
    result
}

fn receive(listener: &UnixListener) -> Result<OwnedFd> {
    let (conn, _) = listener.accept().context("accept a console connection")?;
    recv_pty_master(conn.as_fd())
}

/// This terminal (raw while joined) to the one console, until it closes.
fn single(listener: &UnixListener) -> Result<()> {
    let mut proxy = Proxy::start(receive(listener)?)?;
    loop {
        let [input, output] = proxy.poll_fds();
        if output < 0 {
            return Ok(());
        }
        let [stdin_ready, output_ready] =
            hull::syscall::poll_readable([input, output], -1).context("wait for the console")?;
        if output_ready != 0 {
            proxy.pump_output();
        }
        if stdin_ready != 0 {
            proxy.pump_stdin();
        }
    }
}

/// Every console received is read and discarded, each on its own thread.
fn null(listener: &UnixListener) -> Result<()> {
    loop {
        let master = std::fs::File::from(receive(listener)?);
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut &master, &mut std::io::sink());
        });
    }
}

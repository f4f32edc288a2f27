//! Messages for people and engines: errors and warnings on stderr, and, with
//! `--log`, runc-style lines (text or JSON) that containerd and podman read.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::{Mutex, OnceLock};

use anyhow::{Context, Result};

use crate::cli::{GlobalOpts, LogFormat};

struct Logger {
    file: Option<Mutex<File>>,
    format: LogFormat,
    debug: bool,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Open the log file named by `--log`; call once, before any command runs.
pub fn init(opts: &GlobalOpts) -> Result<()> {
    let file = match &opts.log {
        Some(path) => Some(Mutex::new(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("open log file {path:?}"))?,
        )),
        None => None,
    };
    let _ = LOGGER.set(Logger {
        file,
        format: opts.log_format,
        debug: opts.debug,
    });
    Ok(())
}

fn now_rfc3339() -> String {
    humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string()
}

fn emit(level: &str, msg: &str) {
    let Some(logger) = LOGGER.get() else {
        eprintln!("hull: {level}: {msg}");
        return;
    };
    if level == "debug" && !logger.debug {
        return;
    }
    if let Some(file) = &logger.file {
        let line = match logger.format {
            LogFormat::Json => {
                let mut line =
                    serde_json::json!({"level": level, "msg": msg, "time": now_rfc3339()})
                        .to_string();
                line.push('\n');
                line
            }
            LogFormat::Text => format!(
                "time=\"{}\" level={} msg={}\n",
                now_rfc3339(),
                level,
                serde_json::Value::String(msg.to_string())
            ),
        };
        if let Ok(mut f) = file.lock() {
            let _ = f.write_all(line.as_bytes());
        }
    }
    // Errors and warnings always reach the person at the terminal too; debug
    // lines only when no log file takes them.
    if level != "debug" || logger.file.is_none() {
        match level {
            "error" => eprintln!("hull: {msg}"),
            other => eprintln!("hull: {other}: {msg}"),
        }
    }
}

pub fn error(msg: &str) {
    emit("error", msg);
}

pub fn warn(msg: &str) {
    emit("warning", msg);
}

pub fn debug(msg: &str) {
    emit("debug", msg);
}

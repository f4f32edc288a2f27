//! The CRI v1 checks of `make cri-test`: a Kubernetes-like client of
//! containerd's CRI plugin that runs pods and containers with one runtime
//! handler and checks, from inside the containers and from the host, what
//! Kubernetes relies on. One line per check on stdout:
//! `ok NAME`, `not ok NAME: reason`, `skip NAME: reason`; exit status 1
//! when any failed.
//!
//! hull-cri-client --socket S --handler H --cgroup-parent P --work DIR
//!                 --shared DIR --image IMAGE --bundles DIR [--systemd]
//!
//! With --systemd the handler uses the systemd cgroup driver: P is a slice
//! name prefix and each pod's parent is the slice P-POD.slice.

mod cases;
mod cri;

use anyhow::{bail, Context, Result};

/// What the runner passes.
pub struct Args {
    pub socket: String,
    pub handler: String,
    pub cgroup_parent: String,
    pub work: String,
    pub shared: String,
    pub image: String,
    /// Where the shim's bundles are (DIR/ID/config.json).
    pub bundles: String,
    /// Pods in systemd slices (the handler's SystemdCgroup = true).
    pub systemd: bool,
}

fn parse_args() -> Result<Args> {
    let mut args = std::env::args().skip(1);
    let (mut socket, mut handler, mut cgroup_parent, mut work, mut shared, mut image) =
        (None, None, None, None, None, None);
    let mut bundles = None;
    let mut systemd = false;
    while let Some(flag) = args.next() {
        if flag == "--systemd" {
            systemd = true;
            continue;
        }
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        let slot = match flag.as_str() {
            "--socket" => &mut socket,
            "--handler" => &mut handler,
            "--cgroup-parent" => &mut cgroup_parent,
            "--work" => &mut work,
            "--shared" => &mut shared,
            "--image" => &mut image,
            "--bundles" => &mut bundles,
            _ => bail!("unknown flag {flag}"),
        };
        *slot = Some(value);
    }
    let need = |v: Option<String>, name: &str| v.with_context(|| format!("--{name} is required"));
    Ok(Args {
        socket: need(socket, "socket")?,
        handler: need(handler, "handler")?,
        cgroup_parent: need(cgroup_parent, "cgroup-parent")?,
        work: need(work, "work")?,
        shared: need(shared, "shared")?,
        image: need(image, "image")?,
        bundles: need(bundles, "bundles")?,
        systemd,
    })
}

/// The results, printed as they come.
#[derive(Default)]
pub struct Report {
    prefix: String,
    failed: usize,
}

impl Report {
    pub fn ok(&mut self, name: &str) {
        println!("ok {}-{name}", self.prefix);
    }

    pub fn fail(&mut self, name: &str, reason: &str) {
        self.failed += 1;
        println!(
            "not ok {}-{name}: {}",
            self.prefix,
            reason.replace('\n', " ")
        );
    }

    pub fn skip(&mut self, name: &str, reason: &str) {
        println!("skip {}-{name}: {reason}", self.prefix);
    }

    /// ok when `result` is Ok(()), else not ok with the error chain.
    pub fn check(&mut self, name: &str, result: Result<()>) {
        match result {
            Ok(()) => self.ok(name),
            Err(e) => self.fail(name, &format!("{e:#}")),
        }
    }

    pub fn eq<T: PartialEq + std::fmt::Debug>(&mut self, name: &str, expected: T, actual: T) {
        if expected == actual {
            self.ok(name);
        } else {
            self.fail(name, &format!("expected {expected:?}, got {actual:?}"));
        }
    }

    pub fn contains(&mut self, name: &str, haystack: &str, needle: &str) {
        if haystack.contains(needle) {
            self.ok(name);
        } else {
            self.fail(name, &format!("{needle:?} not in {haystack:?}"));
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("hull-cri-client: {e:#}");
            std::process::exit(2);
        }
    };
    let mut report = Report {
        prefix: format!("cri-{}", args.handler),
        ..Report::default()
    };
    match cri::Cri::connect(&args).await {
        Ok(mut cri) => {
            report.ok("connected");
            cases::run(&mut cri, &args, &mut report).await;
        }
        Err(e) => report.fail("connected", &format!("{e:#}")),
    }
    std::process::exit(i32::from(report.failed > 0));
}

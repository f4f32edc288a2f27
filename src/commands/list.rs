use std::os::unix::fs::MetadataExt;

use anyhow::Result;

use crate::cli::{ListArgs, ListFormat};
use crate::container::Container;
use crate::state::{StateRoot, STATE_FILE};

pub fn run(root: &StateRoot, args: &ListArgs) -> Result<i32> {
    let mut containers = Vec::new();
    // Ids whose state.json cannot be read: listed as `unknown` with a
    // warning, never hidden (`delete --force` removes them).
    let mut broken = Vec::new();
    for id in root.ids()? {
        match Container::load(root, &id) {
            Ok(c) => containers.push(c),
            // A container deleted while we list is simply not listed.
            Err(_) if !root.container_dir(&id).join(STATE_FILE).exists() => {}
            Err(err) => {
                crate::logging::warn(&format!("{err:#}"));
                broken.push(id);
            }
        }
    }
    if args.quiet {
        for id in containers
            .iter()
            .map(|c| c.id())
            .chain(broken.iter().map(|s| s.as_str()))
        {
            println!("{id}");
        }
        return Ok(0);
    }
    match args.format {
        ListFormat::Json => {
            let all: Vec<serde_json::Value> = containers
                .iter()
                .map(|c| {
                    let mut v = c.oci_state();
                    v["owner"] = owner(c).into();
                    v
                })
                .chain(broken.iter().map(|id| {
                    serde_json::json!({"ociVersion": "", "id": id, "pid": 0,
                        "status": "unknown", "bundle": "", "rootfs": "", "created": "", "owner": ""})
                }))
                .collect();
            println!("{}", serde_json::to_string(&all)?);
        }
        ListFormat::Table => {
            let mut rows = vec![[
                "ID".to_string(),
                "PID".to_string(),
                "STATUS".to_string(),
                "BUNDLE".to_string(),
                "CREATED".to_string(),
                "OWNER".to_string(),
            ]];
            for c in &containers {
                let v = c.oci_state();
                rows.push([
                    c.id().to_string(),
                    v["pid"].to_string(),
                    c.status().to_string(),
                    c.state.bundle.display().to_string(),
                    c.state.created.clone(),
                    owner(c),
                ]);
            }
            for id in &broken {
                let unknown = ["0", "unknown", "", "", ""].map(String::from);
                let [pid, status, bundle, created, owner] = unknown;
                rows.push([id.clone(), pid, status, bundle, created, owner]);
            }
            print_table(&rows);
        }
    }
    Ok(0)
}

fn print_table(rows: &[[String; 6]]) {
    let mut widths = [0usize; 6];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{:<width$}   ", cell, width = widths[i]));
            }
        }
        println!("{}", line.trim_end());
    }
}

/// The user owning the container's state directory, by name when /etc/passwd has it.
fn owner(c: &Container) -> String {
    let Ok(meta) = std::fs::metadata(&c.dir) else {
        return String::new();
    };
    let uid = meta.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|line| {
            let mut f = line.split(':');
            let name = f.next()?;
            (f.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_string())
        })
        .unwrap_or_else(|| format!("#{uid}"))
}

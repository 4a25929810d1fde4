//! What both newcomer runs use: a fresh clone of HEAD, the lines a log gained, git, rounding.

use std::{
    io::{Read, Seek, SeekFrom, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use anyhow::{bail, Context, Result};

use super::super::report::minutes;
use crate::{root, run, step};

/// A clone of HEAD in a fresh temporary folder (`label` in its name), at HEAD's commit; the
/// folder and the commit's short hash. Uncommitted changes are said not to be measured.
pub fn fresh_clone(label: &str) -> Result<(PathBuf, String)> {
    let commit = git(&["rev-parse", "--short", "HEAD"])?;
    if !git(&["status", "--porcelain"])?.is_empty() {
        step(&format!(
            "newcomer: uncommitted changes are not measured, the clone holds commit {commit}"
        ));
    }
    let clone = std::env::temp_dir().join(format!("portero-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&clone);
    run(Command::new("git")
        .args(["clone", "--quiet", "--no-checkout"])
        .arg(root())
        .arg(&clone))?;
    run(Command::new("git")
        .arg("-C")
        .arg(&clone)
        .args(["checkout", "--quiet", "--detach", &commit]))?;
    Ok((clone, commit))
}

/// The body of a 2xx answer to a plain HTTP/1.1 GET on loopback.
pub fn http_get(url: &str) -> Option<String> {
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_at(rest.find('/')?);
    let mut stream =
        TcpStream::connect_timeout(&host.parse().ok()?, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = Vec::new();
    stream.take(1 << 20).read_to_end(&mut answer).ok()?;
    let answer = String::from_utf8_lossy(&answer);
    answer
        .starts_with("HTTP/1.1 2")
        .then(|| {
            answer
                .split_once("\r\n\r\n")
                .map(|(_, body)| body.to_owned())
        })
        .flatten()
}

/// The complete lines a growing file gained since the last call.
pub struct LogTail {
    file: std::fs::File,
    offset: u64,
    partial: String,
}

impl LogTail {
    pub fn open(path: &Path) -> Result<LogTail> {
        Ok(LogTail {
            file: std::fs::File::open(path)?,
            offset: 0,
            partial: String::new(),
        })
    }

    pub fn new_lines(&mut self) -> Result<Vec<String>> {
        self.file.seek(SeekFrom::Start(self.offset))?;
        let mut bytes = Vec::new();
        self.offset += self.file.read_to_end(&mut bytes)? as u64;
        self.partial.push_str(&String::from_utf8_lossy(&bytes));
        let Some(last) = self.partial.rfind('\n') else {
            return Ok(Vec::new());
        };
        let complete: Vec<String> = self.partial[..last].lines().map(str::to_owned).collect();
        self.partial.drain(..=last);
        Ok(complete)
    }
}

fn git(args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(root())
        .output()
        .context("cannot run git")?;
    if !out.status.success() {
        bail!("git {} failed", args.join(" "));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

pub fn output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

pub fn minutes_f(seconds: f64) -> String {
    minutes(Duration::from_secs_f64(seconds.max(0.0)))
}

pub fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

//! The processes xtask starts and stops: `cargo xtask dev`'s servers, each in its own process
//! group (so that stopping one also stops what it started, trunk's cargo and wasm-bindgen, and
//! Ctrl-C leaves none behind), and the bench's release backend and Redis, whose CPU time and
//! memory it reads from /proc.

// The bench's own calls (CPU time, memory, free ports) are compiled out with it.
#![cfg_attr(not(feature = "bench"), allow(dead_code))]

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    os::unix::process::CommandExt,
    process::{Child, Command, ExitStatus},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    thread::sleep,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};

/// How long a process has to exit after SIGTERM before it gets SIGKILL.
const GRACE: Duration = Duration::from_secs(5);

/// A child process that is stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Process {
    name: String,
    child: Child,
    /// Leader of a process group of its own: signals go to the whole group.
    group: bool,
    stopped: bool,
}

impl Process {
    /// A child in xtask's process group: Ctrl-C at the terminal reaches it as well, so it
    /// cannot outlive an interrupted xtask that had no time to stop it.
    pub fn spawn(name: &str, cmd: &mut Command) -> Result<Process> {
        Process::start(name, cmd, false)
    }

    /// The leader of a new process group, for a program that starts programs of its own.
    pub fn spawn_group(name: &str, cmd: &mut Command) -> Result<Process> {
        Process::start(name, cmd.process_group(0), true)
    }

    fn start(name: &str, cmd: &mut Command, group: bool) -> Result<Process> {
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        Ok(Process {
            name: name.to_owned(),
            child,
            group,
            stopped: false,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// `Some` once the process has exited.
    pub fn exited(&mut self) -> Result<Option<ExitStatus>> {
        Ok(self.child.try_wait()?)
    }

    /// Calls `ready` every `every` until it says true (then the time it took), the process
    /// exits, or `limit` has passed; the errors name the process and `what` it did not do.
    pub fn wait_until(
        &mut self,
        what: &str,
        limit: Duration,
        every: Duration,
        mut ready: impl FnMut() -> bool,
    ) -> Result<Duration> {
        poll_until(&format!("{} {what}", self.name), limit, every, || {
            if let Some(status) = self.child.try_wait()? {
                bail!("{} exited ({status})", self.name);
            }
            Ok(ready())
        })
    }

    /// Waits up to 10 s for the process to accept connections on loopback `port`.
    pub fn wait_listening(&mut self, port: u16) -> Result<Duration> {
        self.wait_until(
            &format!("did not listen on port {port}"),
            Duration::from_secs(10),
            Duration::from_millis(20),
            || TcpStream::connect(("127.0.0.1", port)).is_ok(),
        )
    }

    /// utime + stime, in seconds (/proc/PID/stat fields 14 and 15).
    pub fn cpu_seconds(&self) -> Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))?;
        // The command name in field 2 may hold spaces: count from its closing parenthesis.
        let after_name = &stat[stat.rfind(')').context("odd /proc/PID/stat")? + 2..];
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
        Ok(ticks as f64 / clock_ticks_per_second() as f64)
    }

    /// VmRSS in KiB.
    pub fn rss_kib(&self) -> Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let line = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .context("no VmRSS in /proc/PID/status")?;
        Ok(line
            .split_whitespace()
            .nth(1)
            .context("odd VmRSS")?
            .parse()?)
    }

    fn signal(&mut self, signal: libc::c_int) {
        let Ok(pid) = libc::pid_t::try_from(self.child.id()) else {
            return;
        };
        if self.group {
            // A negative pid signals the whole group that `process_group(0)` created.
            unsafe {
                libc::kill(-pid, signal);
            }
        } else if signal == libc::SIGKILL {
            // Does nothing once the child has been reaped, so no recycled pid is hit.
            let _ = self.child.kill();
        } else if matches!(self.child.try_wait(), Ok(None)) {
            unsafe {
                libc::kill(pid, signal);
            }
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        stop_all(std::slice::from_mut(self));
    }
}

/// SIGTERM to every process (graceful shutdown), up to [`GRACE`] for them to exit, then
/// SIGKILL to whatever is left (of a group too: trunk's cargo, say).
pub fn stop_all(processes: &mut [Process]) {
    let mut processes: Vec<&mut Process> = processes.iter_mut().filter(|p| !p.stopped).collect();
    for process in processes.iter_mut() {
        process.signal(libc::SIGTERM);
    }
    let deadline = Instant::now() + GRACE;
    for process in processes {
        while Instant::now() < deadline && matches!(process.child.try_wait(), Ok(None)) {
            sleep(Duration::from_millis(20));
        }
        process.signal(libc::SIGKILL);
        let _ = process.child.wait();
        process.stopped = true;
    }
}

pub fn clock_ticks_per_second() -> i64 {
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1)
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Calls `ready` every `every` until it says true (then the time it took), it fails, or
/// `limit` has passed (an error naming `what`).
pub fn poll_until(
    what: &str,
    limit: Duration,
    every: Duration,
    mut ready: impl FnMut() -> Result<bool>,
) -> Result<Duration> {
    let started = Instant::now();
    loop {
        if ready()? {
            return Ok(started.elapsed());
        }
        if started.elapsed() > limit {
            bail!("{what} within {limit:?}");
        }
        sleep(every);
    }
}

/// `cargo xtask dev`'s set of servers: Ctrl-C or the exit of any one of them stops them all.
pub struct Supervisor {
    children: Vec<Process>,
    stop: Arc<AtomicBool>,
}

impl Supervisor {
    pub fn new() -> Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        // SIGINT and SIGTERM ("termination" feature): both end the whole set.
        ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
            .context("cannot install the Ctrl-C handler")?;
        Ok(Supervisor {
            children: Vec::new(),
            stop,
        })
    }

    pub fn spawn(&mut self, name: &'static str, cmd: &mut Command) -> Result<()> {
        let child = Process::spawn_group(name, cmd.current_dir(crate::root()))?;
        self.children.push(child);
        Ok(())
    }

    /// Waits until `url` answers 2xx, while watching for Ctrl-C and for children that die.
    pub fn wait_until(&mut self, name: &str, url: &str, limit: Duration) -> Result<()> {
        poll_until(
            &format!("{name} did not answer at {url}"),
            limit,
            Duration::from_millis(250),
            || {
                self.check()?;
                Ok(http_ok(url))
            },
        )
        .map(drop)
    }

    /// Runs until Ctrl-C (Ok) or until a child exits on its own (an error naming it).
    pub fn wait_for_stop(&mut self) -> Result<()> {
        while !self.stop.load(Ordering::SeqCst) {
            self.check_children()?;
            sleep(Duration::from_millis(200));
        }
        Ok(())
    }

    fn check(&mut self) -> Result<()> {
        if self.stop.load(Ordering::SeqCst) {
            bail!("stopped by Ctrl-C");
        }
        self.check_children()
    }

    fn check_children(&mut self) -> Result<()> {
        for child in &mut self.children {
            if let Some(status) = child.exited()? {
                bail!("{} exited ({status}); stopping the others", child.name());
            }
        }
        Ok(())
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        if self.children.is_empty() {
            return;
        }
        crate::step("stopping devprovider, backend and trunk");
        stop_all(&mut self.children);
    }
}

/// A plain HTTP/1.1 GET on loopback: true when the status is 2xx.
pub fn http_ok(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let Ok(addr) = host.parse() else {
        return false;
    };
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 2")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_process_is_stopped_and_reaped() {
        let process = Process::spawn("sleep", Command::new("sleep").arg("30")).unwrap();
        let pid = process.child.id();
        assert!(process.rss_kib().unwrap() > 0);
        assert!(process.cpu_seconds().unwrap() >= 0.0);
        let started = Instant::now();
        drop(process);
        // SIGTERM ends `sleep` at once: no wait for the grace period, and nothing left in /proc.
        assert!(started.elapsed() < GRACE);
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    }

    #[test]
    fn waiting_stops_when_the_process_exits() {
        let mut process = Process::spawn("true", &mut Command::new("true")).unwrap();
        let error = process
            .wait_until(
                "never got ready",
                Duration::from_secs(10),
                Duration::from_millis(5),
                || false,
            )
            .unwrap_err();
        assert!(error.to_string().contains("true exited"), "{error}");
    }
}

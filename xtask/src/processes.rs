//! The processes of `cargo xtask dev`: each in its own process group, so that stopping one
//! also stops what it started (trunk's cargo and wasm-bindgen), and Ctrl-C leaves none behind.

use std::{
    io::{Read, Write},
    net::TcpStream,
    os::unix::process::CommandExt,
    process::{Child, Command},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    thread::sleep,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};

pub struct Supervisor {
    children: Vec<(&'static str, Child)>,
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
        let child = cmd
            .current_dir(crate::root())
            .process_group(0)
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        self.children.push((name, child));
        Ok(())
    }

    /// Waits until `url` answers 2xx, while watching for Ctrl-C and for children that die.
    pub fn wait_until(&mut self, name: &str, url: &str, limit: Duration) -> Result<()> {
        let started = Instant::now();
        loop {
            self.check()?;
            if http_ok(url) {
                return Ok(());
            }
            if started.elapsed() > limit {
                bail!("{name} did not answer at {url} within {limit:?}");
            }
            sleep(Duration::from_millis(250));
        }
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
        for (name, child) in &mut self.children {
            if let Some(status) = child.try_wait()? {
                bail!("{name} exited ({status}); stopping the others");
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
        for (_, child) in &self.children {
            signal_group(child, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        for (_, child) in &mut self.children {
            while Instant::now() < deadline {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    break;
                }
                sleep(Duration::from_millis(50));
            }
            // Whatever is left of the group (trunk's cargo, say) goes too.
            signal_group(child, libc::SIGKILL);
            let _ = child.wait();
        }
    }
}

fn signal_group(child: &Child, signal: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // A negative pid signals the whole process group that `process_group(0)` created.
        unsafe {
            libc::kill(-pid, signal);
        }
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

//! Every log line the backend writes during this test binary, kept for the leakage tests.

use std::{
    io::Write,
    sync::{Mutex, OnceLock},
};

static LINES: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LINES
            .get_or_init(Default::default)
            .lock()
            .unwrap()
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber once, at the most verbose level the backend logs.
pub fn capture() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("portero=trace,tower_sessions=debug,tower_http=debug")
            .with_writer(|| Capture)
            .with_ansi(false)
            .try_init();
    });
}

pub fn text() -> String {
    String::from_utf8_lossy(&LINES.get_or_init(Default::default).lock().unwrap()).into_owned()
}

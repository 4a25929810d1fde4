//! Helper processes that end with everything they started: each runs in a process group of its
//! own, and stopping it signals the whole group. A plain `Child::kill` reaches only the process
//! itself, and would orphan nginx's worker or the Chromium that chromedriver launched, still
//! holding their ports after the test.

use std::{
    os::unix::process::CommandExt,
    process::{Child, Command},
};

use anyhow::{Context, Result};

pub struct ProcessGroup(Option<Child>);

impl ProcessGroup {
    pub fn spawn(cmd: &mut Command) -> Result<ProcessGroup> {
        let shown = format!("{:?}", cmd.get_program());
        let child = cmd
            .process_group(0)
            .spawn()
            .with_context(|| format!("cannot start {shown}"))?;
        Ok(ProcessGroup(Some(child)))
    }

    /// SIGKILL to the group, then the leader reaped; the rest go with it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.0.take() {
            if let Ok(pid) = i32::try_from(child.id()) {
                // A negative pid signals the whole group that `process_group(0)` created.
                unsafe {
                    libc::kill(-pid, libc::SIGKILL);
                }
            }
            let _ = child.wait();
        }
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.stop();
    }
}

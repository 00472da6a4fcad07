//! Child processes tied to this one's life. On Linux each child gets a parent-death signal
//! (SIGKILL), so the Prometheus and Alertmanager the demo starts die with it even when the
//! demo gets no chance to clean up (SIGKILL, a crash), instead of holding their ports as
//! orphans. Elsewhere children are only stopped by whoever holds them (on drop).
//!
//! Linux sends that signal when the *thread* that forked the child ends, not the process:
//! a child forked from a tokio blocking thread (which exits when idle) or from a test's
//! thread would be killed early. So every child is forked by one thread that lives as long
//! as the process. The integration tests include this file (`tests/common`), so that what
//! they start dies with the test binary too.

use std::io;
use std::process::{Child, Command};

/// Spawns [`Command`]s whose processes end with this one (see the [module docs](self)).
pub(crate) trait SpawnTethered {
    /// [`Command::spawn`], with the child killed when this process ends (on Linux).
    fn spawn_tethered(&mut self) -> io::Result<Child>;
}

impl SpawnTethered for Command {
    #[cfg(target_os = "linux")]
    fn spawn_tethered(&mut self) -> io::Result<Child> {
        linux::die_with_parent(self);
        linux::spawn_on_forker(self)
    }

    #[cfg(not(target_os = "linux"))]
    fn spawn_tethered(&mut self) -> io::Result<Child> {
        self.spawn()
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::os::unix::process::CommandExt;
    use std::process::{Child, Command};
    use std::sync::OnceLock;
    use std::sync::mpsc::{Sender, channel};

    use rustix::io::Errno;
    use rustix::process::{Pid, Signal, getppid, set_parent_process_death_signal};

    /// A command to spawn and where to send it back with its outcome.
    type Job = (Command, Sender<(Command, io::Result<Child>)>);

    /// Adds a pre-exec hook: SIGKILL when the forking thread ends, and no exec at all if
    /// this process already ended between the fork and the hook.
    #[allow(unsafe_code)]
    pub(super) fn die_with_parent(command: &mut Command) {
        let parent = std::process::id();
        // SAFETY: `pre_exec` is unsafe because the hook runs in the forked child of a
        // multi-threaded process, where only async-signal-safe work is sound. This hook
        // makes two system calls, prctl(PR_SET_PDEATHSIG) and getppid, which rustix issues
        // directly (no libc lock, no allocation); it reads a captured integer, and its error
        // is a raw errno (`io::Error::from_raw_os_error`, no allocation either). It touches
        // no memory shared with the parent.
        unsafe {
            command.pre_exec(move || {
                set_parent_process_death_signal(Some(Signal::KILL))?;
                // The parent died before the signal was armed: the child was reparented,
                // and must not run unowned.
                if Pid::as_raw(getppid()).cast_unsigned() != parent {
                    return Err(Errno::SRCH.into());
                }
                Ok(())
            });
        }
    }

    /// The thread that forks every child: started once, never ends (its queue's sender
    /// lives in a static), so no child sees its parent thread exit before the process.
    fn forker() -> &'static Sender<Job> {
        static FORKER: OnceLock<Sender<Job>> = OnceLock::new();
        FORKER.get_or_init(|| {
            let (jobs, queue) = channel::<Job>();
            // If the thread cannot start, `queue` is dropped and every send fails: the
            // caller then forks itself (still with the hook).
            let _ = std::thread::Builder::new()
                .name("redmetrics-forker".to_owned())
                .spawn(move || {
                    for (mut command, reply) in queue {
                        let child = command.spawn();
                        let _ = reply.send((command, child));
                    }
                });
            jobs
        })
    }

    /// Spawns `command` on the forker thread and gives it back to the caller.
    pub(super) fn spawn_on_forker(command: &mut Command) -> io::Result<Child> {
        let (reply, answer) = channel();
        let job = std::mem::replace(command, Command::new(""));
        if let Err(unsent) = forker().send((job, reply)) {
            *command = unsent.0.0;
            return command.spawn();
        }
        match answer.recv() {
            Ok((job, child)) => {
                *command = job;
                child
            }
            Err(_) => Err(io::Error::other("the process forker thread is gone")),
        }
    }
}

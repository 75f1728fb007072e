//! Channels on this machine: a command that gets the alert on its stdin, and a file of JSON
//! lines.

use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::{BODY_SNIPPET, Message, Notifier, NotifyError, snippet};

/// How often a running command is checked for having exited.
const POLL: Duration = Duration::from_millis(20);
/// How long to wait for a command's stderr after it exited: a child it left running may hold
/// the pipe open.
const STDERR_GRACE: Duration = Duration::from_millis(500);

/// Runs `program args...` per alert with the JSON document (and a newline) on its stdin, in
/// cairn's environment and working directory. Exit status 0 is success. A command still running after the timeout is killed (the program
/// itself; children it started are its business). Its stdout is discarded.
pub(super) struct CommandSender {
    channel: String,
    program: String,
    args: Vec<String>,
    timeout: Duration,
}

impl CommandSender {
    pub(super) fn new(channel: &str, program: &str, args: &[String], timeout: Duration) -> Self {
        CommandSender {
            channel: channel.to_string(),
            program: program.to_string(),
            args: args.to_vec(),
            timeout,
        }
    }

    fn fail(&self, reason: String) -> NotifyError {
        NotifyError::Command {
            channel: self.channel.clone(),
            program: self.program.clone(),
            reason,
        }
    }
}

impl Notifier for CommandSender {
    fn send(&self, message: &Message<'_>) -> Result<(), NotifyError> {
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| self.fail(format!("could not start: {e}")))?;

        // Writing and reading happen on their own threads, so that a command that reads no
        // input, or writes much to stderr, cannot wedge this one; the timeout bounds it all.
        let mut input = message.json.clone().into_bytes();
        input.push(b'\n');
        let stdin = child.stdin.take();
        let stderr = child.stderr.take();
        let (stderr_tx, stderr_rx) = mpsc::channel();
        let started = background(move || {
            // A command may exit without reading its input: its exit status tells.
            if let Some(mut stdin) = stdin {
                let _ = stdin.write_all(&input);
            }
        })
        .and_then(|()| {
            background(move || {
                if let Some(stderr) = stderr {
                    let _ = stderr_tx.send(head_of(stderr));
                }
            })
        });
        if let Err(e) = started {
            let _ = child.kill();
            let _ = child.wait();
            return Err(self.fail(format!("could not start a thread to feed it: {e}")));
        }

        let deadline = Instant::now() + self.timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(self.fail(format!(
                        "still running after {} s: killed",
                        self.timeout.as_secs()
                    )));
                }
                Ok(None) => thread::sleep(POLL),
                Err(e) => return Err(self.fail(format!("waiting for it: {e}"))),
            }
        };
        if status.success() {
            return Ok(());
        }
        let stderr = stderr_rx.recv_timeout(STDERR_GRACE).unwrap_or_default();
        let stderr = snippet(&stderr, BODY_SNIPPET);
        Err(self.fail(if stderr.is_empty() {
            status.to_string()
        } else {
            format!("{status}: {stderr}")
        }))
    }
}

/// Runs `work` on a thread of its own, not waited for.
fn background(work: impl FnOnce() + Send + 'static) -> io::Result<()> {
    thread::Builder::new()
        .name("notify-command-io".into())
        .spawn(work)
        .map(drop)
}

/// The first bytes of a stream, reading (and dropping) the rest so the writer never blocks.
fn head_of(mut stream: impl Read) -> Vec<u8> {
    let mut head = Vec::new();
    let _ = (&mut stream)
        .take(BODY_SNIPPET as u64)
        .read_to_end(&mut head);
    let _ = io::copy(&mut stream, &mut io::sink());
    head
}

/// Appends the JSON document of each alert as one line to a file, and syncs it to disk.
pub(super) struct FileSender {
    channel: String,
    path: PathBuf,
}

impl FileSender {
    pub(super) fn new(channel: &str, path: &Path) -> FileSender {
        FileSender {
            channel: channel.to_string(),
            path: path.to_path_buf(),
        }
    }
}

impl Notifier for FileSender {
    fn send(&self, message: &Message<'_>) -> Result<(), NotifyError> {
        let mut line = message.json.clone().into_bytes();
        line.push(b'\n');
        append_synced(&self.path, &line).map_err(|source| NotifyError::File {
            channel: self.channel.clone(),
            path: self.path.clone(),
            source,
        })
    }
}

/// Appends `bytes` to `path` (created if missing) in one write, then syncs the data.
pub(super) fn append_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(bytes)?;
    file.sync_data()
}

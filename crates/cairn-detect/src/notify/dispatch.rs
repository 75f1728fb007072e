//! The dispatcher: a queue and a worker thread per channel, so that raising an alert never waits
//! on a receiver, and the delivery log that records every outcome.

use std::collections::HashSet;
use std::fs::OpenOptions;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::config::ChannelConfig;
use super::local::append_synced;
use super::{Notifiers, attempt};
use crate::alert::{Alert, Delivery};

/// Tells a person how to see an alert's events: a command such as `cairn alerts show <id>`, or
/// a URL.
pub type ShowFn = Arc<dyn Fn(&Alert) -> String + Send + Sync>;

/// One line of the delivery log: which alert, and how its delivery to one channel ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// The alert's id.
    pub alert: String,
    #[serde(flatten)]
    pub delivery: Delivery,
}

/// Delivers alerts in the background: one unbounded queue and one worker thread per channel, so
/// that a slow or dead receiver delays only its own channel and never the caller. Each channel
/// gets its alerts in the order they were sent.
///
/// Every outcome is appended to the delivery log and synced, once the last attempt is over.
/// Dropping the dispatcher stops the workers after the attempt they are in: alerts not
/// delivered by then get no record, and [`pending`] finds them on the next start. Call
/// [`Dispatcher::drain`] first to wait for them.
pub struct Dispatcher {
    notifiers: Arc<Notifiers>,
    /// Per channel, in the order of `notifiers`; `None` if its worker could not start.
    queues: Vec<Option<Sender<Job>>>,
    shared: Arc<Shared>,
    show: ShowFn,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("channels", &self.notifiers)
            .field("queued", &*self.shared.lock())
            .field("log", &self.shared.log)
            .finish()
    }
}

/// One alert for one channel. Its ticket keeps it counted as queued until the job is dropped,
/// however that happens: tried to the end, skipped while stopping, or lost with a dead worker.
struct Job {
    alert: Arc<Alert>,
    show: Arc<str>,
    _ticket: Ticket,
}

struct Ticket(Arc<Shared>);

impl Drop for Ticket {
    fn drop(&mut self) {
        *self.0.lock() -= 1;
        self.0.changed.notify_all();
    }
}

/// What the dispatcher and its workers share.
struct Shared {
    /// Jobs queued or in progress.
    queued: Mutex<usize>,
    /// Signalled when `queued` drops or `stop` is set.
    changed: Condvar,
    stop: AtomicBool,
    /// The delivery log; the lock keeps records whole.
    log: PathBuf,
    writing: Mutex<()>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, usize> {
        self.queued.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Waits `delay` unless the dispatcher stops first; false if it did.
    fn pause(&self, delay: Duration) -> bool {
        let guard = self.lock();
        let _unused = self
            .changed
            .wait_timeout_while(guard, delay, |_| !self.stopping())
            .unwrap_or_else(PoisonError::into_inner);
        !self.stopping()
    }

    /// Appends one record to the delivery log and syncs it. A record that cannot be written is
    /// an operator's problem (the alert will be sent again after a restart): logged as an error.
    fn record(&self, alert: &str, delivery: Delivery) {
        let record = DeliveryRecord {
            alert: alert.to_string(),
            delivery,
        };
        let result = serde_json::to_vec(&record)
            .map_err(io::Error::other)
            .and_then(|mut line| {
                line.push(b'\n');
                let _writing = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
                append_synced(&self.log, &line)
            });
        if let Err(error) = result {
            tracing::error!(
                log = %self.log.display(),
                alert,
                channel = %record.delivery.channel,
                %error,
                "could not record an alert delivery"
            );
        }
    }
}

impl Dispatcher {
    /// Starts one worker thread per channel. `log` is the delivery log: JSON lines of
    /// [`DeliveryRecord`], appended and synced; a record torn by a crash at its end is cut off
    /// first. `show` tells the reader of a notification how to see the alert's events.
    pub fn start(notifiers: Notifiers, log: PathBuf, show: ShowFn) -> Dispatcher {
        if let Err(error) = cut_torn_tail(&log) {
            tracing::warn!(log = %log.display(), %error, "could not check the delivery log's end");
        }
        let notifiers = Arc::new(notifiers);
        let shared = Arc::new(Shared {
            queued: Mutex::new(0),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
            log,
            writing: Mutex::new(()),
        });
        let queues = notifiers
            .configs()
            .enumerate()
            .map(|(index, config)| {
                let (tx, rx) = mpsc::channel();
                let (notifiers, shared) = (notifiers.clone(), shared.clone());
                thread::Builder::new()
                    .name(format!("notify-{}", config.name))
                    .spawn(move || work(&notifiers, index, rx, &shared))
                    .map_err(|error| {
                        // Its alerts get no record, so they are sent after the next start.
                        tracing::error!(channel = %config.name, %error, "could not start the notifier thread");
                    })
                    .ok()
                    .map(|_| tx)
            })
            .collect();
        Dispatcher {
            notifiers,
            queues,
            shared,
            show,
        }
    }

    /// Queues `alert` for every channel whose route matches it. Returns at once.
    pub fn send(&self, alert: &Alert) {
        let channels = self.notifiers.routed(alert);
        self.send_to(alert, &channels);
    }

    /// Queues `alert` for the named channels, whatever their routes say: for alerts that
    /// [`pending_channels`] found. Unknown names are logged and skipped. Returns at once.
    pub fn send_to(&self, alert: &Alert, channels: &[String]) {
        if channels.is_empty() {
            return;
        }
        let alert = Arc::new(alert.clone());
        let show: Arc<str> = (self.show)(&alert).into();
        for name in channels {
            let Some(index) = self.notifiers.index_of(name) else {
                tracing::warn!(channel = %name, alert = %alert.id, "no such channel; alert not queued for it");
                continue;
            };
            let Some(queue) = &self.queues[index] else {
                tracing::error!(channel = %name, alert = %alert.id, "the channel has no worker; alert left pending");
                continue;
            };
            *self.shared.lock() += 1;
            let job = Job {
                alert: alert.clone(),
                show: show.clone(),
                _ticket: Ticket(self.shared.clone()),
            };
            if queue.send(job).is_err() {
                // The worker is gone; the returned job's ticket has already uncounted it.
                tracing::error!(channel = %name, alert = %alert.id, "the channel's worker stopped; alert left pending");
            }
        }
    }

    /// Waits until every queued alert has been tried to the end, or `timeout` passes. Returns
    /// how many deliveries (alert and channel pairs) are still queued or in progress.
    pub fn drain(&self, timeout: Duration) -> usize {
        let guard = self.shared.lock();
        let (guard, _) = self
            .shared
            .changed
            .wait_timeout_while(guard, timeout, |queued| *queued > 0)
            .unwrap_or_else(PoisonError::into_inner);
        *guard
    }

    /// Deliveries queued or in progress now.
    pub fn queued(&self) -> usize {
        *self.shared.lock()
    }
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wakes workers pausing between attempts. The queues close as they drop after this.
        let _guard = self.shared.lock();
        self.shared.changed.notify_all();
    }
}

/// A channel's worker: tries each job to the end and records the outcome, until the queue
/// closes.
fn work(notifiers: &Notifiers, index: usize, jobs: Receiver<Job>, shared: &Shared) {
    let channel = notifiers.get(index);
    for job in jobs {
        if shared.stopping() {
            continue;
        }
        let mut pause = |delay| shared.pause(delay);
        if let Some(delivery) = attempt(channel, &job.alert, &job.show, &mut pause) {
            shared.record(&job.alert.id, delivery);
        }
    }
}

/// Reads the delivery log. A missing log holds no records. The last line is skipped if a crash
/// cut it short; any other line that is not a record is an `InvalidData` error naming it.
pub fn read_deliveries(log: &Path) -> Result<Vec<DeliveryRecord>, io::Error> {
    let bytes = match std::fs::read(log) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut records = Vec::new();
    let mut lines = bytes.split(|&b| b == b'\n').enumerate().peekable();
    while let Some((number, line)) = lines.next() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice(line) {
            Ok(record) => records.push(record),
            // The last piece has no newline after it: a record the crash cut short.
            Err(_) if lines.peek().is_none() => {}
            Err(e) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} line {}: {e}", log.display(), number + 1),
                ));
            }
        }
    }
    Ok(records)
}

/// The alerts that some channel routed them to has no record of in the delivery log (after a
/// crash, say), with those channels. Failed deliveries have a record and are not pending.
pub fn pending_channels(
    log: &Path,
    alerts: &[Alert],
    channels: &[ChannelConfig],
) -> Result<Vec<(Alert, Vec<String>)>, io::Error> {
    let done: HashSet<(String, String)> = read_deliveries(log)?
        .into_iter()
        .map(|r| (r.alert, r.delivery.channel))
        .collect();
    Ok(alerts
        .iter()
        .filter_map(|alert| {
            let missing: Vec<String> = channels
                .iter()
                .filter(|c| c.route.matches(alert))
                .filter(|c| !done.contains(&(alert.id.clone(), c.name.clone())))
                .map(|c| c.name.clone())
                .collect();
            (!missing.is_empty()).then(|| (alert.clone(), missing))
        })
        .collect())
}

/// The alerts of [`pending_channels`], without the channels. If the log cannot be read, every
/// routed alert is pending (a notification sent twice beats one never sent), with a warning.
pub fn pending(log: &Path, alerts: &[Alert], channels: &[ChannelConfig]) -> Vec<Alert> {
    match pending_channels(log, alerts, channels) {
        Ok(pending) => pending.into_iter().map(|(alert, _)| alert).collect(),
        Err(error) => {
            tracing::warn!(log = %log.display(), %error, "could not read the delivery log; treating every alert as pending");
            alerts
                .iter()
                .filter(|a| channels.iter().any(|c| c.route.matches(a)))
                .cloned()
                .collect()
        }
    }
}

/// Cuts off a last line without its newline (a record a crash tore), so that the next record
/// starts on a line of its own.
fn cut_torn_tail(log: &Path) -> io::Result<()> {
    let mut file = match OpenOptions::new().read(true).write(true).open(log) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    // Reads backwards in chunks until the last newline.
    let mut end = len;
    let mut chunk = vec![0u8; 8192];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let piece = &mut chunk[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(piece)?;
        if let Some(i) = piece.iter().rposition(|&b| b == b'\n') {
            let keep = start + i as u64 + 1;
            if keep < len {
                file.set_len(keep)?;
                file.sync_all()?;
            }
            return Ok(());
        }
        end = start;
    }
    if len > 0 {
        file.set_len(0)?;
        file.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::config::ChannelKind;
    use crate::notify::tests::{Flaky, alert};
    use crate::notify::{Message, Notifier, NotifyError};
    use std::sync::atomic::AtomicU32;
    use std::time::Instant;

    fn config(name: &str) -> ChannelConfig {
        let mut c = ChannelConfig::new(name, ChannelKind::File { path: "/x".into() });
        c.backoff_ms = Some(1);
        c
    }

    fn show() -> ShowFn {
        Arc::new(|a: &Alert| format!("cairn alerts show {}", a.id))
    }

    fn delivery(channel: &str, ok: bool) -> Delivery {
        Delivery {
            channel: channel.into(),
            ok,
            attempts: 1,
            error: (!ok).then(|| "boom".to_string()),
            at: 1,
        }
    }

    #[test]
    fn records_survive_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("deliveries.jsonl");
        assert!(read_deliveries(&log).unwrap().is_empty(), "no log yet");
        let one = DeliveryRecord {
            alert: "a1".into(),
            delivery: delivery("hook", false),
        };
        let mut text = serde_json::to_string(&one).unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            serde_json::json!({"alert": "a1", "channel": "hook", "ok": false, "attempts": 1,
                               "error": "boom", "at": 1}),
            "flat records"
        );
        text.push('\n');
        text.push_str(r#"{"alert":"a2","chan"#);
        std::fs::write(&log, &text).unwrap();
        assert_eq!(read_deliveries(&log).unwrap(), std::slice::from_ref(&one));

        cut_torn_tail(&log).unwrap();
        assert!(std::fs::read_to_string(&log).unwrap().ends_with("}\n"));
        assert_eq!(read_deliveries(&log).unwrap(), std::slice::from_ref(&one));

        // Garbage before the end is an error, not silently skipped.
        std::fs::write(
            &log,
            format!("garbage\n{}\n", serde_json::to_string(&one).unwrap()),
        )
        .unwrap();
        let err = read_deliveries(&log).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");

        // Nothing but a torn line.
        std::fs::write(&log, "{\"al").unwrap();
        cut_torn_tail(&log).unwrap();
        assert_eq!(std::fs::read(&log).unwrap(), b"");
    }

    #[test]
    fn pending_per_alert_and_channel() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("deliveries.jsonl");
        let mut high_only = config("pager");
        high_only.route.min_severity = crate::alert::Severity::Critical;
        let channels = [config("hook"), config("mail"), high_only];
        let alerts = [alert("a1"), alert("a2")];
        let record = |a: &str, c: &str, ok: bool| {
            serde_json::to_string(&DeliveryRecord {
                alert: a.into(),
                delivery: delivery(c, ok),
            })
            .unwrap()
        };
        std::fs::write(
            &log,
            format!(
                "{}\n{}\n{}\n",
                record("a1", "hook", true),
                record("a1", "mail", false),
                record("a2", "hook", true)
            ),
        )
        .unwrap();
        let got = pending_channels(&log, &alerts, &channels).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0.id, "a2");
        assert_eq!(got[0].1, ["mail"], "pager does not take high alerts");
        let ids: Vec<String> = pending(&log, &alerts, &channels)
            .into_iter()
            .map(|a| a.id)
            .collect();
        assert_eq!(ids, ["a2"]);
        assert_eq!(
            pending(&dir.path().join("none"), &alerts, &channels).len(),
            2,
            "no log: all pending"
        );
    }

    /// Blocks each send until told to go on.
    struct Gate {
        open: Arc<(Mutex<bool>, Condvar)>,
        calls: Arc<AtomicU32>,
    }

    impl Notifier for Gate {
        fn send(&self, _: &Message<'_>) -> Result<(), NotifyError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let (lock, cvar) = &*self.open;
            let guard = lock.lock().unwrap();
            let _open = cvar.wait_while(guard, |open| !*open).unwrap();
            Ok(())
        }
    }

    #[test]
    fn dispatcher_queues_records_and_drains() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("deliveries.jsonl");
        let open = Arc::new((Mutex::new(false), Condvar::new()));
        let gate_calls = Arc::new(AtomicU32::new(0));
        let mut notifiers = Notifiers::default();
        notifiers
            .push(
                config("gate"),
                Box::new(Gate {
                    open: open.clone(),
                    calls: gate_calls.clone(),
                }),
            )
            .unwrap();
        let mut flaky = config("flaky");
        flaky.attempts = Some(2);
        notifiers
            .push(
                flaky,
                Box::new(Flaky {
                    failures: 100,
                    calls: AtomicU32::new(0),
                    got: Mutex::default(),
                }),
            )
            .unwrap();
        let mut picky = config("picky");
        picky.route.rules = vec!["nothing matches this".into()];
        notifiers
            .push(
                picky,
                Box::new(Flaky {
                    failures: 0,
                    calls: AtomicU32::new(0),
                    got: Mutex::default(),
                }),
            )
            .unwrap();
        let dispatcher = Dispatcher::start(notifiers, log.clone(), show());

        let started = Instant::now();
        for i in 0..3 {
            dispatcher.send(&alert(&format!("a{i}")));
        }
        assert!(started.elapsed() < Duration::from_millis(100));
        // The gate holds its channel; the flaky one fails both attempts of all three.
        assert!(dispatcher.drain(Duration::from_millis(300)) >= 3);
        {
            let (lock, cvar) = &*open;
            *lock.lock().unwrap() = true;
            cvar.notify_all();
        }
        assert_eq!(dispatcher.drain(Duration::from_secs(10)), 0);
        assert_eq!(gate_calls.load(Ordering::SeqCst), 3);

        let records = read_deliveries(&log).unwrap();
        assert_eq!(records.len(), 6, "{records:?}");
        let ok = |channel: &str| {
            records
                .iter()
                .filter(|r| r.delivery.channel == channel)
                .map(|r| (r.alert.as_str(), r.delivery.ok, r.delivery.attempts))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ok("gate"),
            [("a0", true, 1), ("a1", true, 1), ("a2", true, 1)]
        );
        assert_eq!(
            ok("flaky"),
            [("a0", false, 2), ("a1", false, 2), ("a2", false, 2)]
        );
        assert!(ok("picky").is_empty());
        let configs: Vec<ChannelConfig> = dispatcher.notifiers.configs().cloned().collect();
        let alerts = [alert("a0"), alert("a3")];
        let pending = pending_channels(&log, &alerts, &configs).unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].0.id, "a3");
        assert_eq!(pending[0].1, ["gate", "flaky"]);

        // send_to queues only the channels named.
        dispatcher.send_to(&alert("a3"), &["gate".to_string(), "nope".to_string()]);
        assert_eq!(dispatcher.drain(Duration::from_secs(10)), 0);
        let pending = pending_channels(&log, &alerts, &configs).unwrap();
        assert_eq!(pending[0].1, ["flaky"]);
    }

    #[test]
    fn dropping_stops_retries_without_a_record() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("deliveries.jsonl");
        let mut slow = config("slow");
        slow.attempts = Some(10);
        slow.backoff_ms = Some(60_000);
        let mut notifiers = Notifiers::default();
        let flaky = Arc::new(AtomicU32::new(0));
        struct Failing(Arc<AtomicU32>);
        impl Notifier for Failing {
            fn send(&self, _: &Message<'_>) -> Result<(), NotifyError> {
                self.0.fetch_add(1, Ordering::SeqCst);
                Err(NotifyError::UnknownChannel("x".into()))
            }
        }
        notifiers
            .push(slow, Box::new(Failing(flaky.clone())))
            .unwrap();
        let dispatcher = Dispatcher::start(notifiers, log.clone(), show());
        dispatcher.send(&alert("a1"));
        dispatcher.send(&alert("a2"));
        let deadline = Instant::now() + Duration::from_secs(5);
        while flaky.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
        let shared = dispatcher.shared.clone();
        drop(dispatcher);
        // The worker leaves its minute-long pause at once and skips the rest.
        let deadline = Instant::now() + Duration::from_secs(5);
        while *shared.lock() > 0 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(*shared.lock(), 0);
        assert_eq!(flaky.load(Ordering::SeqCst), 1);
        assert!(read_deliveries(&log).unwrap().is_empty());
    }
}

//! Following an SQS queue of notifications (CLOUDTRAIL.md §3).
//!
//! At-least-once in, exactly-once in the store: a message is deleted only after every object
//! it names has been committed (the caller says which, from the ledger), and a redelivered
//! message finds its objects in the ledger. While a batch is in work its messages' visibility
//! is extended, so a large object does not make them reappear to another reader. A message
//! that cannot be understood, or whose objects failed, is left to the queue (its redrive
//! policy moves it to a dead-letter queue after `maxReceiveCount`), each time hidden for
//! longer, so it is neither lost nor retried in a tight loop.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry,
    MessageSystemAttributeName, QueueAttributeName,
};
use cairn_model::Object;
use cairn_model::notify::{self, Notification, Shape};
use tokio::runtime::Handle;
use tokio::sync::watch;

use crate::SourceError;
use crate::aws::describe;
use crate::s3::S3Object;

/// How a queue is named on the command line: `sqs://https://sqs.REGION.amazonaws.com/ACCT/NAME`,
/// the `https://` URL itself, `sqs://NAME` (looked up with `GetQueueUrl`), or with
/// `--endpoint-url` any `http://host:port/ACCT/NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueRef {
    Url(String),
    Name(String),
}

impl QueueRef {
    pub fn parse(s: &str) -> Option<QueueRef> {
        if let Some(rest) = s.strip_prefix("sqs://") {
            if rest.starts_with("http://") || rest.starts_with("https://") {
                return Some(QueueRef::Url(rest.into()));
            }
            if rest.is_empty() || rest.contains('/') {
                return None;
            }
            return Some(QueueRef::Name(rest.into()));
        }
        let is_queue_url = (s.starts_with("https://") && s.contains("sqs"))
            || (s.starts_with("http://") && s.matches('/').count() >= 4);
        is_queue_url.then(|| QueueRef::Url(s.into()))
    }
}

/// Tuning of the follower.
#[derive(Debug, Clone)]
pub struct SqsOptions {
    /// Long-poll wait per receive (at most 20 s, SQS's limit).
    pub wait: Duration,
    /// Messages gathered into one batch (one commit) before it is ingested.
    pub batch_messages: usize,
    /// Attempts to fetch an object named by a notification (per object, in the body reader).
    pub body_attempts: u32,
    /// The longest a failed or unreadable message is hidden before it is seen again.
    pub max_backoff: Duration,
}

impl Default for SqsOptions {
    fn default() -> Self {
        SqsOptions {
            wait: Duration::from_secs(20),
            batch_messages: 100,
            body_attempts: 8,
            max_backoff: Duration::from_secs(3600),
        }
    }
}

/// One received message and what it named.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    receipt: String,
    receive_count: u32,
    pub shape: Option<Shape>,
    /// Locations (`s3://bucket/key`) of the objects it names.
    pub objects: Vec<String>,
    /// Why it was not understood, or why an object it names could not be looked up.
    pub error: Option<String>,
}

/// A batch of messages and the objects to ingest for them.
#[derive(Default)]
pub struct Batch {
    pub messages: Vec<Received>,
    pub objects: Vec<Box<dyn Object>>,
    /// S3 test events, deleted at once.
    pub tests: usize,
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("messages", &self.messages.len())
            .field("objects", &self.objects.len())
            .finish()
    }
}

/// What settling a batch did.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct Settled {
    pub deleted: u64,
    pub left: u64,
}

/// The queue's backlog, as SQS approximates it.
#[derive(Debug, Default, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Backlog {
    pub visible: u64,
    pub in_flight: u64,
    pub delayed: u64,
}

/// A queue being followed.
pub struct SqsFollower {
    sqs: Client,
    s3: aws_sdk_s3::Client,
    rt: Handle,
    pub url: String,
    visibility: Duration,
    opts: SqsOptions,
}

impl std::fmt::Debug for SqsFollower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqsFollower")
            .field("url", &self.url)
            .finish()
    }
}

impl SqsFollower {
    pub fn new(
        sqs: Client,
        s3: aws_sdk_s3::Client,
        rt: Handle,
        queue: &QueueRef,
        opts: SqsOptions,
    ) -> Result<SqsFollower, SourceError> {
        let url = match queue {
            QueueRef::Url(u) => u.clone(),
            QueueRef::Name(n) => rt
                .block_on(sqs.get_queue_url().queue_name(n).send())
                .map_err(|e| SourceError::Aws(format!("queue {n}: {}", describe(&e))))?
                .queue_url()
                .unwrap_or_default()
                .to_string(),
        };
        let attrs = rt
            .block_on(
                sqs.get_queue_attributes()
                    .queue_url(&url)
                    .attribute_names(QueueAttributeName::VisibilityTimeout)
                    .send(),
            )
            .map_err(|e| SourceError::Aws(format!("queue {url}: {}", describe(&e))))?;
        let visibility = attrs
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::VisibilityTimeout))
            .and_then(|v| v.parse().ok())
            .map_or(Duration::from_secs(30), Duration::from_secs);
        Ok(SqsFollower {
            sqs,
            s3,
            rt,
            url,
            visibility,
            opts,
        })
    }

    /// Waits for messages (returning early, empty, when `stop` turns true), then gathers up
    /// to a batch without waiting further, and resolves the objects they name.
    pub fn receive(&self, stop: &watch::Receiver<bool>) -> Result<Batch, SourceError> {
        self.rt.block_on(self.receive_async(stop.clone()))
    }

    async fn receive_async(&self, mut stop: watch::Receiver<bool>) -> Result<Batch, SourceError> {
        let mut batch = Batch::default();
        let mut wait = self.opts.wait.as_secs().min(20) as i32;
        while batch.messages.len() + batch.tests < self.opts.batch_messages {
            if *stop.borrow() {
                break;
            }
            let req = self
                .sqs
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(10)
                .wait_time_seconds(wait)
                .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
                .send();
            let out = tokio::select! {
                r = req => r.map_err(|e| SourceError::Aws(format!("receive from {}: {}", self.url, describe(&e))))?,
                _ = stop.wait_for(|s| *s) => break,
            };
            let msgs = out.messages();
            if msgs.is_empty() {
                break;
            }
            for m in msgs {
                let id = m.message_id().unwrap_or("?").to_string();
                let receipt = m.receipt_handle().unwrap_or_default().to_string();
                let receive_count = m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1);
                let mut r = Received {
                    id,
                    receipt,
                    receive_count,
                    shape: None,
                    objects: vec![],
                    error: None,
                };
                match notify::parse(m.body().unwrap_or_default()) {
                    Ok(Notification::Test) => {
                        self.delete(std::slice::from_ref(&r)).await?;
                        tracing::info!(message = %r.id, "deleted the S3 test event");
                        batch.tests += 1;
                        continue;
                    }
                    Ok(Notification::Objects { shape, objects }) => {
                        r.shape = Some(shape);
                        for o in objects {
                            match self.object(o).await {
                                Ok(obj) => {
                                    r.objects.push(obj.meta().location.clone());
                                    batch.objects.push(Box::new(obj));
                                }
                                Err(e) => r.error = Some(e),
                            }
                        }
                    }
                    Err(e) => r.error = Some(format!("not a notification: {e}")),
                }
                if let Some(e) = &r.error {
                    tracing::warn!(message = %r.id, receive_count = r.receive_count, error = %e,
                        "message left for the queue's redrive policy");
                }
                batch.messages.push(r);
            }
            wait = 0; // gather what is already there, then go
        }
        // Two messages may name the same object: read it once.
        let mut seen = std::collections::HashSet::new();
        batch
            .objects
            .retain(|o| seen.insert(o.meta().location.clone()));
        Ok(batch)
    }

    /// An object named by a notification, with its ETag (looked up when the notification
    /// does not carry it, as CloudTrail's own SNS notification does not).
    async fn object(&self, o: notify::NotifiedObject) -> Result<S3Object, String> {
        let (size, etag) = match o.etag {
            Some(e) => (o.size, e),
            None => {
                let head = self
                    .s3
                    .head_object()
                    .bucket(&o.bucket)
                    .key(&o.key)
                    .send()
                    .await
                    .map_err(|e| format!("s3://{}/{}: {}", o.bucket, o.key, describe(&e)))?;
                (
                    head.content_length().map(|l| l as u64),
                    head.e_tag()
                        .unwrap_or_default()
                        .trim_matches('"')
                        .to_string(),
                )
            }
        };
        Ok(S3Object::new(
            self.s3.clone(),
            self.rt.clone(),
            &o.bucket,
            o.key,
            size,
            etag,
            self.opts.body_attempts,
        ))
    }

    /// Keeps the batch's messages hidden while it is in work; stops when dropped.
    pub fn keep_hidden(&self, batch: &Batch) -> KeepHidden {
        let entries: Vec<_> = batch
            .messages
            .iter()
            .map(|m| (m.id.clone(), m.receipt.clone()))
            .collect();
        let sqs = self.sqs.clone();
        let url = self.url.clone();
        let visibility = self.visibility;
        let every = (visibility / 2).max(Duration::from_secs(1));
        let task = self.rt.spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                for chunk in entries.chunks(10) {
                    let mut req = sqs.change_message_visibility_batch().queue_url(&url);
                    for (i, (_, receipt)) in chunk.iter().enumerate() {
                        req = req.entries(
                            ChangeMessageVisibilityBatchRequestEntry::builder()
                                .id(i.to_string())
                                .receipt_handle(receipt)
                                .visibility_timeout(visibility.as_secs() as i32)
                                .build()
                                .expect("id and receipt set"),
                        );
                    }
                    if let Err(e) = req.send().await {
                        tracing::warn!(error = %describe(&e), "could not extend message visibility");
                    }
                }
            }
        });
        KeepHidden(task)
    }

    /// Deletes the messages whose objects are all `done` (committed); hides the others for
    /// longer each time they come back.
    pub fn settle(
        &self,
        batch: Batch,
        done: impl Fn(&str) -> bool,
    ) -> Result<Settled, SourceError> {
        let (ok, left): (Vec<_>, Vec<_>) = batch
            .messages
            .into_iter()
            .partition(|m| m.error.is_none() && m.objects.iter().all(|l| done(l)));
        self.rt.block_on(async {
            self.delete(&ok).await?;
            for m in &left {
                let backoff = backoff(m.receive_count, self.opts.max_backoff);
                if m.error.is_none() {
                    tracing::warn!(message = %m.id, receive_count = m.receive_count,
                        "an object of this message failed; it comes back in {}s", backoff.as_secs());
                }
                let r = self
                    .sqs
                    .change_message_visibility()
                    .queue_url(&self.url)
                    .receipt_handle(&m.receipt)
                    .visibility_timeout(backoff.as_secs() as i32)
                    .send()
                    .await;
                if let Err(e) = r {
                    tracing::warn!(message = %m.id, error = %describe(&e), "could not hide the message");
                }
            }
            Ok::<_, SourceError>(())
        })?;
        Ok(Settled {
            deleted: ok.len() as u64,
            left: left.len() as u64,
        })
    }

    async fn delete(&self, messages: &[Received]) -> Result<(), SourceError> {
        for chunk in messages.chunks(10) {
            let mut req = self.sqs.delete_message_batch().queue_url(&self.url);
            for (i, m) in chunk.iter().enumerate() {
                req = req.entries(
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(&m.receipt)
                        .build()
                        .expect("id and receipt set"),
                );
            }
            let out = req.send().await.map_err(|e| {
                SourceError::Aws(format!("delete from {}: {}", self.url, describe(&e)))
            })?;
            for f in out.failed() {
                // The message comes back and its objects are found in the ledger: no loss,
                // no double.
                tracing::warn!(id = f.id(), code = f.code(), "a message was not deleted");
            }
        }
        Ok(())
    }

    /// The queue's approximate backlog.
    pub fn backlog(&self) -> Result<Backlog, SourceError> {
        let out = self
            .rt
            .block_on(
                self.sqs
                    .get_queue_attributes()
                    .queue_url(&self.url)
                    .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
                    .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
                    .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
                    .send(),
            )
            .map_err(|e| SourceError::Aws(format!("queue {}: {}", self.url, describe(&e))))?;
        let empty = HashMap::new();
        let a = out.attributes().unwrap_or(&empty);
        let get = |k: QueueAttributeName| a.get(&k).and_then(|v| v.parse().ok()).unwrap_or(0);
        Ok(Backlog {
            visible: get(QueueAttributeName::ApproximateNumberOfMessages),
            in_flight: get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
            delayed: get(QueueAttributeName::ApproximateNumberOfMessagesDelayed),
        })
    }
}

/// Stops extending visibility when dropped.
#[derive(Debug)]
pub struct KeepHidden(tokio::task::JoinHandle<()>);

impl Drop for KeepHidden {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How long a message that failed `count` times is hidden: 30 s doubling, capped.
fn backoff(count: u32, max: Duration) -> Duration {
    let secs = 30u64.saturating_mul(1 << count.saturating_sub(1).min(20));
    Duration::from_secs(secs).min(max)
}

/// A stop signal for followers: set by SIGINT/SIGTERM.
pub fn stop_on_signals(rt: &Handle) -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    let tx = Arc::new(tx);
    rt.spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let term = async {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term => {}
        }
        tracing::info!("stopping: finishing the batch in work");
        let _ = tx.send(true);
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_queues() {
        let u = "https://sqs.us-east-1.amazonaws.com/123456789012/trail";
        assert_eq!(QueueRef::parse(u), Some(QueueRef::Url(u.into())));
        assert_eq!(
            QueueRef::parse(&format!("sqs://{u}")),
            Some(QueueRef::Url(u.into()))
        );
        assert_eq!(
            QueueRef::parse("sqs://trail"),
            Some(QueueRef::Name("trail".into()))
        );
        let local = "http://127.0.0.1:5000/123456789012/q";
        assert_eq!(QueueRef::parse(local), Some(QueueRef::Url(local.into())));
        assert_eq!(QueueRef::parse("s3://b/p"), None);
        assert_eq!(QueueRef::parse("/tmp/x"), None);
    }

    #[test]
    fn backs_off_doubling_to_a_cap() {
        let max = Duration::from_secs(3600);
        assert_eq!(backoff(1, max).as_secs(), 30);
        assert_eq!(backoff(2, max).as_secs(), 60);
        assert_eq!(backoff(4, max).as_secs(), 240);
        assert_eq!(backoff(40, max), max);
    }
}

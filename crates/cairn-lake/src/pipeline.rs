//! Objects to the lake without the index: what a stateless worker runs.
//!
//! Objects are decoded on `threads` workers (the same decoder and limits as the store's
//! ingest), their rows go to one [`LakeWriter`], and the writer is flushed before this
//! returns: every object reported `ok` has all its events in committed files. An object with
//! a bad record still has its other records written and is reported failed, so that its
//! message is kept and it is read again (the duplicates this leaves go at compaction).

use cairn_model::{Limits, Object, ObjectKind, Records, Route, route};

use crate::LakeError;
use crate::rows::Row;
use crate::writer::LakeWriter;

/// What became of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub location: String,
    /// Every record of it is in a committed file (or it holds no events: digests and other
    /// keys that are not log files).
    pub ok: bool,
    pub events: u64,
    pub skipped: bool,
    /// What went wrong, naming the record where one did.
    pub errors: Vec<String>,
}

/// Errors kept per object; the rest are counted.
const MAX_ERRORS: usize = 20;

enum Msg {
    Row(Row),
    Done(Outcome),
}

/// Reads `objects` into `writer` and flushes it.
pub fn write_objects(
    objects: Vec<Box<dyn Object>>,
    writer: &mut LakeWriter,
    limits: Limits,
    threads: usize,
) -> Result<Vec<Outcome>, LakeError> {
    let mut outcomes = Vec::with_capacity(objects.len());
    let mut work = Vec::new();
    for o in objects {
        let m = o.meta();
        let skip = match route(&m.key) {
            Route::CloudTrail(k) => k.kind == ObjectKind::Digest,
            Route::Skip { .. } => true,
            Route::Loose => false,
        };
        if skip {
            outcomes.push(Outcome {
                location: m.location.clone(),
                ok: true,
                events: 0,
                skipped: true,
                errors: Vec::new(),
            });
        } else {
            work.push(o);
        }
    }
    let (work_tx, work_rx) = crossbeam_channel::bounded::<Box<dyn Object>>(16);
    let (tx, rx) = crossbeam_channel::bounded::<Msg>(4096);
    let result = std::thread::scope(|s| -> Result<(), LakeError> {
        s.spawn(move || {
            for o in work {
                if work_tx.send(o).is_err() {
                    break;
                }
            }
        });
        for _ in 0..threads.max(1) {
            let (work_rx, tx) = (work_rx.clone(), tx.clone());
            s.spawn(move || {
                for o in work_rx {
                    if decode(o, limits, &tx).is_err() {
                        break; // the writer stopped
                    }
                }
            });
        }
        drop((tx, work_rx));
        let r = (|| {
            for msg in &rx {
                match msg {
                    Msg::Row(row) => writer.add_row(row)?,
                    Msg::Done(o) => outcomes.push(o),
                }
            }
            Ok(())
        })();
        drop(rx);
        r
    });
    result?;
    writer.flush()?;
    Ok(outcomes)
}

fn decode(
    o: Box<dyn Object>,
    limits: Limits,
    tx: &crossbeam_channel::Sender<Msg>,
) -> Result<(), crossbeam_channel::SendError<Msg>> {
    let location = o.meta().location.clone();
    let mut out = Outcome {
        location: location.clone(),
        ok: true,
        events: 0,
        skipped: false,
        errors: Vec::new(),
    };
    let fail = |out: &mut Outcome, e: String| {
        out.ok = false;
        if out.errors.len() < MAX_ERRORS {
            out.errors.push(e);
        }
    };
    let records = o
        .open()
        .map_err(|e| format!("cannot open: {e}"))
        .and_then(|r| Records::new(r, limits).map_err(|e| format!("cannot read: {e}")));
    match records {
        Err(e) => fail(&mut out, e),
        Ok(records) => {
            for item in records {
                match item {
                    Ok(ev) => match Row::from_value(ev.value, &ev.raw, &location) {
                        Ok(row) => {
                            tx.send(Msg::Row(row))?;
                            out.events += 1;
                        }
                        Err(e) => fail(&mut out, format!("record {}: {e}", ev.index)),
                    },
                    Err(e) => fail(&mut out, e.to_string()),
                }
            }
        }
    }
    tx.send(Msg::Done(out))
}

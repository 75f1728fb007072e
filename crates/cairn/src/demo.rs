//! `cairn demo`: a generated trail with planted stories, ingested, then a short tour.

use std::io::Write;

use anyhow::Result;
use cairn_store::Store;
use cairn_store::search::TimeRange;
use time::OffsetDateTime;

use crate::Outcome;
use crate::cli::{self, Format, IngestArgs};
use crate::commands::{ingest_paths, print_stats, print_summary};
use crate::output::{self, human};

pub fn run(a: cli::DemoArgs, quiet: bool) -> Result<Outcome> {
    let trail = a.dir.join("trail");
    let data = a.dir.join("data");
    let manifest_path = trail.join("manifest.json");
    let mut out = std::io::stdout().lock();

    let manifest: cairn_gen::Manifest = if manifest_path.exists() {
        writeln!(
            out,
            "Reusing the trail generated earlier in {} (delete the folder for a fresh one).",
            trail.display()
        )?;
        serde_json::from_slice(&std::fs::read(&manifest_path)?)?
    } else {
        let now = OffsetDateTime::now_utc();
        let mut cfg = cairn_gen::GenConfig::new(&trail);
        cfg.events = a.events;
        cfg.accounts = 4;
        cfg.regions = 3;
        cfg.days = 7;
        cfg.seed = a.seed;
        cfg.org = Some("o-cairndemo42".into());
        cfg.end = crate::commands::hour_start(now);
        cfg.stories = true;
        writeln!(
            out,
            "Generating an organization trail: {} events, 4 accounts, 3 regions, 7 days, with planted stories...",
            human(a.events)
        )?;
        let started = std::time::Instant::now();
        let m = cairn_gen::generate(&cfg)?;
        writeln!(
            out,
            "  {} files ({}) in {:.1}s, {} records re-delivered as CloudTrail does\n",
            human(m.files),
            output::bytes(m.bytes_compressed),
            started.elapsed().as_secs_f64(),
            human(m.duplicate_records)
        )?;
        m
    };

    writeln!(out, "Ingesting {} ...", trail.join("AWSLogs").display())?;
    out.flush()?;
    let args = IngestArgs::defaults(vec![trail.join("AWSLogs")]);
    let report = ingest_paths(&data, &args, quiet)?;
    print_summary(&mut out, &report)?;

    let store = Store::open(&data)?;
    let stats = store.stats(&cairn_store::Scope::ALL)?;
    writeln!(out, "\nWhat is in the store:")?;
    print_stats(&mut out, &data, &stats)?;
    if stats.events != manifest.unique_events {
        writeln!(
            out,
            "  note: the generator's manifest says {} unique events",
            human(manifest.unique_events)
        )?;
    }

    let d = data.display();
    writeln!(
        out,
        "\nThe stories planted in this trail, and the searches that find them:"
    )?;
    for (i, story) in manifest.stories.iter().enumerate() {
        let q = cairn_query::parse(&story.query)?;
        let compiled = store.compile(&q, TimeRange::default(), &cairn_store::Scope::ALL)?;
        let n = store.count(&compiled)?;
        writeln!(out, "\n{}. {}", i + 1, story.description)?;
        let noun = if n == 1 { "event" } else { "events" };
        writeln!(
            out,
            "   cairn --data-dir {d} search '{}'    # {} {noun}",
            story.query,
            human(n)
        )?;
        let hits = store.search(&compiled, 3, 0)?;
        let mut table = Vec::new();
        output::print_hits(&mut table, &hits, None, Format::Table)?;
        for line in String::from_utf8_lossy(&table).lines() {
            writeln!(out, "     {line}")?;
        }
    }

    // What the rules raised while the trail was read.
    let alerts = crate::detect::all_alerts(&data)?;
    writeln!(
        out,
        "\nThe built-in rules raised {} alert(s) while ingesting; the high and critical ones:",
        alerts.len()
    )?;
    let mut serious: Vec<&cairn_detect::Alert> = alerts
        .iter()
        .filter(|a| a.severity >= cairn_detect::Severity::High)
        .collect();
    serious.sort_by(|a, b| a.first_seen.cmp(&b.first_seen));
    for a in serious {
        writeln!(
            out,
            "  [{}] {} ({} event{})\n     {}\n     cairn --data-dir {d} alerts show {}",
            a.severity.as_str().to_uppercase(),
            a.rule,
            a.count,
            if a.count == 1 { "" } else { "s" },
            a.summary,
            a.id
        )?;
    }

    let example_id = manifest
        .stories
        .first()
        .and_then(|s| s.event_ids.first())
        .cloned()
        .unwrap_or_default();
    // A CIDR search that matches: the /16 around the address of the first story's event.
    let cidr = store
        .get(&example_id, &cairn_store::Scope::ALL)?
        .and_then(|hit| {
            let ip: std::net::Ipv4Addr = hit.record()["sourceIPAddress"].as_str()?.parse().ok()?;
            let [a, b, _, _] = ip.octets();
            Some(format!("{a}.{b}.0.0/16"))
        })
        .unwrap_or_else(|| "10.0.0.0/8".into());
    writeln!(
        out,
        "\nNext, try (or `export CAIRN_DATA={d}` and drop --data-dir):"
    )?;
    for cmd in [
        format!("cairn --data-dir {d} top eventName"),
        format!("cairn --data-dir {d} top principal 'errorCode:AccessDenied'"),
        format!("cairn --data-dir {d} timeline 'errorCode:*' --interval 6h"),
        format!("cairn --data-dir {d} lookup --event-name StopLogging"),
        format!("cairn --data-dir {d} search 'sourceIPAddress:{cidr}' --since 7d"),
        format!("cairn --data-dir {d} show {example_id}"),
        format!("cairn --data-dir {d} stats"),
        format!("cairn --data-dir {d} alerts --severity high"),
        format!("cairn --data-dir {d} rules backtest --since 8d"),
    ] {
        writeln!(out, "  {cmd}")?;
    }
    out.flush()?;
    Ok(if report.has_failures() {
        Outcome::InputFailed
    } else {
        Outcome::Ok
    })
}

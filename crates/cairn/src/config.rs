//! `cairn.toml`: sources and AWS settings, overridable by flags.
//!
//! ```toml
//! [aws]                       # defaults for every source
//! region = "us-east-1"
//!
//! [ingest]
//! interval = "60s"            # how often --follow lists S3 prefixes
//! metrics_addr = "127.0.0.1:9464"
//!
//! [[source]]
//! name = "org-trail"
//! url = "s3://org-trail-bucket/cloudtrail"
//! accounts = ["111111111111"]
//! regions = ["us-east-1", "eu-west-1"]
//! since = "30d"
//! aws = { role_arn = "arn:aws:iam::222222222222:role/cairn-reader" }
//!
//! [[source]]
//! name = "live"
//! url = "sqs://https://sqs.us-east-1.amazonaws.com/222222222222/cloudtrail-notifications"
//!
//! [detect]
//! rules = ["./rules", "/opt/sigma/rules/cloud/aws"]   # relative to this file
//! builtin = true                                     # the built-in pack (default)
//!
//! [[monitor]]
//! name = "canary"
//! query = 'eventName:GetTrailStatus AND userIdentity.userName:monitor'
//! window = "1h"
//! min_count = 10
//!
//! [[channel]]
//! name = "secops"
//! type = "webhook"
//! url = "https://hooks.example.com/cairn"
//! secret_env = "CAIRN_WEBHOOK_SECRET"
//! min_severity = "high"
//! ```

use std::path::{Path, PathBuf};

use cairn_source::aws::AwsOptions;
use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Overrides the default data directory (the flag and CAIRN_DATA win).
    pub data_dir: Option<PathBuf>,
    #[serde(default)]
    pub aws: AwsOptions,
    #[serde(default)]
    pub ingest: IngestSection,
    #[serde(default, rename = "source")]
    pub sources: Vec<SourceConfig>,
    #[serde(default)]
    pub detect: DetectSection,
    #[serde(default, rename = "monitor")]
    pub monitors: Vec<cairn_detect::monitor::MonitorConfig>,
    #[serde(default, rename = "channel")]
    pub channels: Vec<cairn_detect::notify::ChannelConfig>,
}

/// Rules and alerting.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectSection {
    /// Rule files and directories, relative to the configuration file.
    #[serde(default)]
    pub rules: Vec<PathBuf>,
    /// The built-in rule pack (default true).
    pub builtin: Option<bool>,
    /// Evaluate rules while ingesting (default true).
    pub enabled: Option<bool>,
    /// Suppression for detection rules that set no `cairn.suppress` (e.g. "1h"): a large
    /// third-party rule set then raises one alert per rule, principal and account per window.
    pub suppress: Option<String>,
    /// What a notification offers to show an alert's events: a URL with `{id}`, else the
    /// `cairn alerts show` command.
    pub show_url: Option<String>,
}

/// Defaults for `cairn ingest`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestSection {
    pub interval: Option<Spanned<String>>,
    pub lookback: Option<Spanned<String>>,
    pub concurrency: Option<usize>,
    pub batch: Option<usize>,
    pub metrics_addr: Option<Spanned<String>>,
}

/// One `[[source]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    pub name: Option<String>,
    /// A path, `s3://bucket/prefix`, `sqs://...` or a queue URL.
    pub url: Spanned<String>,
    #[serde(default)]
    pub accounts: Vec<Spanned<String>>,
    #[serde(default)]
    pub regions: Vec<String>,
    pub since: Option<Spanned<String>>,
    pub from: Option<Spanned<String>>,
    pub to: Option<Spanned<String>>,
    /// Per-source AWS settings over `[aws]`.
    #[serde(default)]
    pub aws: AwsOptions,
}

/// A configuration error, with its place in the file.
#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}:{column}: {message}")]
pub struct ConfigError {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// A configuration read from a file, with the text for locating errors.
#[derive(Debug)]
pub struct Loaded {
    pub path: PathBuf,
    text: String,
    pub config: Config,
}

impl Loaded {
    /// An error at a byte span of the file.
    pub fn error_at(&self, span: std::ops::Range<usize>, message: String) -> ConfigError {
        let before = &self.text[..span.start.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        ConfigError {
            path: self.path.display().to_string(),
            line,
            column,
            message,
        }
    }
}

/// Reads the file given, or `./cairn.toml` when it exists; `None` when there is none.
pub fn load(given: Option<&Path>) -> Result<Option<Loaded>, ConfigError> {
    let path = match given {
        Some(p) => p.to_path_buf(),
        None if Path::new("cairn.toml").exists() => PathBuf::from("cairn.toml"),
        None => return Ok(None),
    };
    let text = std::fs::read_to_string(&path).map_err(|e| ConfigError {
        path: path.display().to_string(),
        line: 0,
        column: 0,
        message: e.to_string(),
    })?;
    let mut loaded = Loaded {
        path,
        text,
        config: Config::default(),
    };
    loaded.config = toml::from_str(&loaded.text).map_err(|e| {
        let message = e.message().to_string();
        match e.span() {
            Some(span) => loaded.error_at(span, message),
            None => ConfigError {
                path: loaded.path.display().to_string(),
                line: 0,
                column: 0,
                message,
            },
        }
    })?;
    validate(&loaded)?;
    Ok(Some(loaded))
}

/// Checks what the types alone do not: URLs, durations, times, account ids.
fn validate(l: &Loaded) -> Result<(), ConfigError> {
    let c = &l.config;
    let duration = |v: &Option<Spanned<String>>| -> Result<(), ConfigError> {
        if let Some(v) = v {
            cairn_query::time::parse_duration(v.get_ref())
                .map_err(|e| l.error_at(v.span(), format!("not a duration: {e}")))?;
        }
        Ok(())
    };
    duration(&c.ingest.interval)?;
    duration(&c.ingest.lookback)?;
    if let Some(a) = &c.ingest.metrics_addr {
        a.get_ref()
            .parse::<std::net::SocketAddr>()
            .map_err(|e| l.error_at(a.span(), format!("not an address (host:port): {e}")))?;
    }
    for s in &c.sources {
        crate::ingest::Input::parse(s.url.get_ref()).map_err(|e| l.error_at(s.url.span(), e))?;
        for a in &s.accounts {
            if !cairn_model::key::is_account(a.get_ref()) {
                return Err(l.error_at(a.span(), "an account id has 12 digits".into()));
            }
        }
        duration(&s.since)?;
        for t in [&s.from, &s.to].into_iter().flatten() {
            cairn_query::time::parse_instant(t.get_ref(), time::OffsetDateTime::now_utc())
                .map_err(|e| l.error_at(t.span(), format!("not a time: {e}")))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<Loaded, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("cairn.toml");
        std::fs::write(&p, text).unwrap();
        load(Some(&p)).map(|l| l.unwrap())
    }

    #[test]
    fn reads_sources_and_names_the_line_of_errors() {
        let ok = check(
            "[aws]\nregion = \"us-east-1\"\n\n[[source]]\nurl = \"s3://b/p\"\naccounts = [\"111111111111\"]\naws = { role_arn = \"arn:aws:iam::1:role/r\" }\n\n[[source]]\nurl = \"sqs://q\"\n",
        )
        .unwrap();
        assert_eq!(ok.config.sources.len(), 2);
        assert_eq!(ok.config.aws.region.as_deref(), Some("us-east-1"));

        let e = check("[[source]]\nurl = \"s3://b\"\nacounts = []\n").unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert!(e.message.contains("acounts"), "{e}");

        let e = check("[[source]]\n\nurl = \"ftp://x\"\n").unwrap_err();
        assert_eq!((e.line, e.column), (3, 7), "{e}");

        let e = check("[ingest]\ninterval = \"soon\"\n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(e.message.contains("duration"), "{e}");

        let e = check("[[source]]\nurl = \"s3://b\"\naccounts = [\"12\"]\n").unwrap_err();
        assert_eq!(e.line, 3, "{e}");

        let e = check("[aws\n").unwrap_err();
        assert_eq!(e.line, 1, "{e}");
    }
}

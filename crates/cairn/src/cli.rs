//! Command-line flags, turned into validated settings by the commands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub const DEFAULT_DATA_DIR: &str = "./cairn-data";

/// cairn: ingest, search and watch AWS CloudTrail logs.
#[derive(Debug, Parser)]
#[command(name = "cairn", version, about, max_term_width = 100)]
pub struct Cli {
    /// Data directory holding the index and the ledger.
    #[arg(
        long,
        global = true,
        env = "CAIRN_DATA",
        default_value = DEFAULT_DATA_DIR
    )]
    pub data_dir: PathBuf,

    /// More logging (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Log lines as JSON objects with a timestamp (for `serve`'s access log, say).
    #[arg(long, global = true)]
    pub log_json: bool,

    /// Configuration file (sources, AWS settings); `./cairn.toml` is read when it exists.
    #[arg(long, global = true, env = "CAIRN_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read CloudTrail logs into the store: files and directories, `-` for stdin,
    /// `s3://BUCKET[/PREFIX]`, or (with --follow) an SQS queue of notifications.
    Ingest(IngestArgs),
    /// Search events with a Lucene/Loggly-style query, newest first.
    Search(SearchArgs),
    /// Event-history style lookups by attribute (several flags combine with AND).
    Lookup(LookupArgs),
    /// Print one event exactly as AWS wrote it, pretty-printed.
    Show(ShowArgs),
    /// Most frequent values of a field, with counts.
    Top(TopArgs),
    /// Matching events per time interval.
    Timeline(TimelineArgs),
    /// What is in the store.
    Stats(StatsArgs),
    /// Write a realistic generated trail in the S3 layout, with a ground-truth manifest.
    Generate(GenerateArgs),
    /// Generate a trail with planted stories, ingest it, and show how to find them.
    Demo(DemoArgs),
    /// Pipeline health per account and region: deliveries, lag, gaps, errors, backlog.
    Health(HealthArgs),
    /// Nagios-style checks: one status line, performance data, exit 0/1/2/3.
    #[command(subcommand)]
    Check(CheckCommand),
    /// The configuration file.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Sigma rules: list, check, test on events, backtest over the store.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Alerts raised by rules and monitors; `alerts show ID` for one with its events.
    Alerts(AlertsArgs),
    /// Heartbeat monitors (cairn.toml `[[monitor]]`): their state, or one check now.
    #[command(subcommand)]
    Monitors(MonitorsCommand),
    /// Validate log-file integrity: digest chains, signatures and the hash of every log file
    /// (what `aws cloudtrail validate-logs` does, and more).
    Verify(VerifyArgs),
    /// Serve the store over HTTP: CloudTrail's LookupEvents API (for the AWS CLI and SDKs) and
    /// a JSON search API.
    Serve(ServeArgs),
    /// API tokens for `cairn serve` (an access key id and secret, for SigV4 or a bearer header).
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Local users of `cairn serve`'s web UI (argon2id password hashes).
    #[command(subcommand)]
    Users(UsersCommand),
    /// Write stored events (all, or those matching QUERY) to a Parquet lake.
    Export(ExportArgs),
    /// The Parquet lake: the CREATE TABLE each engine needs, compaction.
    #[command(subcommand)]
    Lake(LakeCommand),
    /// A stateless worker: log files named by an SQS queue's notifications, written to a
    /// Parquet lake. Run as many as the volume needs, on any machines, on one queue.
    Worker(WorkerArgs),
}

/// How lake files are written.
#[derive(Debug, Args, Clone)]
pub struct LakeWriteArgs {
    /// Rows per Parquet row group.
    #[arg(long, default_value_t = cairn_lake::Options::default().row_group_rows, value_name = "N")]
    pub row_group_rows: usize,
    /// Memory for rows waiting to be written, in MiB: the fullest partition is written out
    /// when it is reached.
    #[arg(long, default_value_t = cairn_lake::Options::default().max_buffer_bytes >> 20, value_name = "MIB")]
    pub lake_buffer_mib: usize,
}

impl LakeWriteArgs {
    pub fn options(&self) -> cairn_lake::Options {
        cairn_lake::Options {
            row_group_rows: self.row_group_rows.max(1),
            max_buffer_bytes: self.lake_buffer_mib.max(1) << 20,
            ..cairn_lake::Options::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The lake: a directory or s3://BUCKET[/PREFIX].
    #[arg(long, value_name = "DEST")]
    pub lake: String,
    /// Only events matching this query (empty: every event).
    #[arg(default_value = "")]
    pub query: String,
    #[command(flatten)]
    pub time: TimeArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// The AWS API region of the lake's bucket.
    #[arg(long, env = "AWS_REGION", value_name = "REGION")]
    pub aws_region: Option<String>,
    #[command(flatten)]
    pub write: LakeWriteArgs,
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    pub format: SummaryFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineArg {
    Athena,
    Trino,
    Spark,
    Duckdb,
}

#[derive(Debug, Subcommand)]
pub enum LakeCommand {
    /// Print the CREATE TABLE (or view) that reads the lake.
    Ddl {
        #[arg(long, value_enum)]
        engine: EngineArg,
        /// Where the lake is, as the engine names it (s3://..., s3a://..., a path).
        #[arg(long, value_name = "LOCATION")]
        location: String,
        /// The table's name.
        #[arg(long, default_value = "cloudtrail")]
        table: String,
        /// Athena partition projection: the account ids (comma-separated); default: those
        /// found in the lake at --location, when it is a directory.
        #[arg(long, value_delimiter = ',', value_name = "ID")]
        accounts: Vec<String>,
        /// Athena partition projection: the regions (comma-separated); default: every
        /// commercial region.
        #[arg(long, value_delimiter = ',', value_name = "REGION")]
        regions: Vec<String>,
    },
    /// Merge each partition's small files into files of about --target-mib of records,
    /// dropping events delivered twice (same eventID).
    Compact {
        /// The lake: a directory or s3://BUCKET[/PREFIX].
        dest: String,
        /// Records (uncompressed JSON) per output file, in MiB.
        #[arg(long, default_value_t = 512, value_name = "MIB")]
        target_mib: usize,
        #[command(flatten)]
        aws: AwsArgs,
        #[arg(long, env = "AWS_REGION", value_name = "REGION")]
        aws_region: Option<String>,
        #[command(flatten)]
        write: LakeWriteArgs,
        #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
        format: SummaryFormat,
    },
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The queue: sqs://NAME, or its https URL.
    #[arg(long, value_name = "QUEUE")]
    pub sqs: String,
    /// The lake: a directory or s3://BUCKET[/PREFIX].
    #[arg(long, value_name = "DEST")]
    pub lake: String,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// The AWS API region of the queue and buckets.
    #[arg(long, env = "AWS_REGION", value_name = "REGION")]
    pub aws_region: Option<String>,
    /// Queue messages per batch: their files are committed together, then the messages
    /// deleted.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub batch: usize,
    /// Objects fetched from S3 at once.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub concurrency: usize,
    /// Stop when the queue is empty instead of waiting for more.
    #[arg(long)]
    pub drain: bool,
    #[command(flatten)]
    pub write: LakeWriteArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    pub format: SummaryFormat,
}

/// Which rules: the built-in pack, cairn.toml's `[detect] rules`, and these.
#[derive(Debug, Args, Clone, Default)]
pub struct RuleArgs {
    /// Sigma rule file or directory (repeatable), besides those in cairn.toml.
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// Leave the built-in rule pack out.
    #[arg(long)]
    pub no_builtin: bool,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// The rules loaded: id, level, kind, title.
    List {
        #[command(flatten)]
        rules: RuleArgs,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Parse and compile every rule under DIR; report each failure with its file and reason.
    Check {
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
    },
    /// Run one rule over events (JSON lines, or a CloudTrail file); print each match and why.
    Test {
        /// Rule id, name or title.
        rule: String,
        /// Events: JSON lines, `{"Records": [...]}`, gzipped or not.
        events: PathBuf,
        #[command(flatten)]
        rules: RuleArgs,
    },
    /// Run the rules over the stored events; report matches per rule. Notifies no one.
    Backtest {
        #[command(flatten)]
        rules: RuleArgs,
        /// Only this rule (id, name or title; repeatable).
        #[arg(long = "rule", value_name = "RULE")]
        only: Vec<String>,
        #[command(flatten)]
        time: TimeArgs,
        #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
        format: SummaryFormat,
    },
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AlertsArgs {
    #[command(subcommand)]
    pub command: Option<AlertsCommand>,
    /// Alerts whose last event is this recent (e.g. 24h).
    #[arg(long, value_name = "DURATION")]
    pub since: Option<String>,
    /// Only this rule (id, name or title).
    #[arg(long, value_name = "RULE")]
    pub rule: Option<String>,
    /// At least this severity.
    #[arg(long, value_name = "LEVEL")]
    pub severity: Option<String>,
    #[arg(long, short = 'n', default_value_t = 100)]
    pub limit: usize,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// One alert (an id or its first characters), and the events it holds.
    Show {
        id: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
pub enum MonitorsCommand {
    /// Each monitor's settings and state.
    List {
        #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
        format: SummaryFormat,
    },
    /// Check every monitor now (or as of --at), record changes, notify; exit 1 if any fires.
    Run {
        /// Check as if it were this time (RFC 3339), to replay or test.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
        format: SummaryFormat,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Parse and validate the configuration; name the line of each error.
    Check,
}

#[derive(Debug, Subcommand)]
pub enum CheckCommand {
    /// Events matching a query in a recent window must keep arriving (a canary).
    Count(CheckCountArgs),
    /// How old the newest ingested event is, per account and region.
    Lag(CheckLagArgs),
    /// CloudTrail's own view of a trail (GetTrailStatus): logging on, deliveries working.
    Trail(CheckTrailArgs),
}

#[derive(Debug, Args)]
pub struct CheckCountArgs {
    #[arg(long, default_value = "")]
    pub query: String,
    /// The window counted, ending now.
    #[arg(long, default_value = "1h", value_name = "DURATION")]
    pub window: String,
    /// Leave out the newest DURATION (events still being delivered).
    #[arg(long, default_value = "0s", value_name = "DURATION")]
    pub delay: String,
    #[arg(long, value_name = "N")]
    pub warn_below: Option<u64>,
    #[arg(long, value_name = "N")]
    pub crit_below: Option<u64>,
    #[arg(long, value_name = "N")]
    pub warn_above: Option<u64>,
    #[arg(long, value_name = "N")]
    pub crit_above: Option<u64>,
}

#[derive(Debug, Args)]
pub struct CheckLagArgs {
    #[arg(long, value_name = "DURATION")]
    pub warn: String,
    #[arg(long, value_name = "DURATION")]
    pub crit: String,
    /// Only these accounts (repeat or comma-separate).
    #[arg(long, value_delimiter = ',', value_name = "ID")]
    pub account: Vec<String>,
    /// Only these CloudTrail regions.
    #[arg(long, value_delimiter = ',', value_name = "REGION")]
    pub region: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CheckTrailArgs {
    /// Trail name or ARN.
    #[arg(long)]
    pub name: String,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// The trail's home region (the API region).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
}

#[derive(Debug, Args)]
pub struct HealthArgs {
    /// Deliveries in this window are looked at.
    #[arg(long, default_value = "24h", value_name = "DURATION")]
    pub window: String,
    /// No delivery for longer than this is a gap.
    #[arg(long, default_value = "1h", value_name = "DURATION")]
    pub gap: String,
    #[arg(long, value_delimiter = ',', value_name = "ID")]
    pub account: Vec<String>,
    #[arg(long, value_delimiter = ',', value_name = "REGION")]
    pub region: Vec<String>,
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    pub format: SummaryFormat,
}

/// Where and as whom to call AWS (the standard credential chain fills in the rest).
#[derive(Debug, Args, Clone, Default)]
pub struct AwsArgs {
    /// A profile of the shared AWS config files.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Any S3/SQS-compatible endpoint (path-style S3 addressing is used with it).
    #[arg(long, env = "AWS_ENDPOINT_URL", value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// A role to assume, for a bucket or queue in another account.
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,
    /// Attempts per AWS request (throttling, 5xx and dropped connections are retried with
    /// backoff and jitter).
    #[arg(long, value_name = "N")]
    pub max_attempts: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Jsonl,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SummaryFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Maximum decompressed bytes per object.
    #[arg(long, default_value_t = cairn_model::Limits::default().max_object_bytes, value_name = "BYTES")]
    pub max_object_bytes: u64,
    /// Maximum bytes of one record.
    #[arg(long, default_value_t = cairn_model::Limits::default().max_record_bytes, value_name = "BYTES")]
    pub max_record_bytes: usize,
    /// Maximum records per object.
    #[arg(long, default_value_t = cairn_model::Limits::default().max_records, value_name = "N")]
    pub max_records: u64,
}

const DEFAULT_MEMORY_MIB: usize = 384;
const DEFAULT_COMMIT_EVERY: u64 = 1_000_000;

impl IngestArgs {
    /// The settings `cairn ingest PATH...` gets with no other flag (for the demo).
    pub fn defaults(paths: Vec<PathBuf>) -> IngestArgs {
        let l = cairn_model::Limits::default();
        IngestArgs {
            inputs: paths
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect(),
            follow: false,
            interval: None,
            account: vec![],
            region: vec![],
            time: TimeArgs {
                since: None,
                from: None,
                to: None,
            },
            aws: AwsArgs::default(),
            rules: RuleArgs::default(),
            no_rules: false,
            public_keys: None,
            no_verify: false,
            aws_region: None,
            concurrency: None,
            lookback: None,
            metrics_addr: None,
            batch: None,
            threads: None,
            memory_mib: DEFAULT_MEMORY_MIB,
            no_wait: false,
            format: SummaryFormat::Text,
            commit_every: DEFAULT_COMMIT_EVERY,
            lake: None,
            no_index: false,
            lake_write: LakeWriteArgs {
                row_group_rows: cairn_lake::Options::default().row_group_rows,
                lake_buffer_mib: cairn_lake::Options::default().max_buffer_bytes >> 20,
            },
            limits: LimitArgs {
                max_object_bytes: l.max_object_bytes,
                max_record_bytes: l.max_record_bytes,
                max_records: l.max_records,
            },
        }
    }
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// What to read: files or directories, `-` for standard input, `s3://BUCKET[/PREFIX]`,
    /// `sqs://QUEUE_URL` or a queue's https URL (with --follow). Without any, the sources of
    /// the configuration file.
    #[arg(value_name = "SOURCE")]
    pub inputs: Vec<String>,
    /// Keep going: follow a queue, or list S3 prefixes and directories every --interval.
    #[arg(long)]
    pub follow: bool,
    /// How often --follow lists an S3 prefix or a directory [default: 60s].
    #[arg(long, value_name = "DURATION")]
    pub interval: Option<String>,
    /// Only these accounts (S3 listing; repeat or comma-separate).
    #[arg(long, value_delimiter = ',', value_name = "ID")]
    pub account: Vec<String>,
    /// Only these CloudTrail regions (S3 listing).
    #[arg(long, value_delimiter = ',', value_name = "REGION")]
    pub region: Vec<String>,
    #[command(flatten)]
    pub time: TimeArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Do not evaluate rules while ingesting.
    #[arg(long, conflicts_with_all = ["rules", "no_builtin"])]
    pub no_rules: bool,
    /// Public keys for verifying the digests of a local copy (the ListPublicKeys response
    /// shape, as `aws cloudtrail list-public-keys` prints it); S3 sources call ListPublicKeys.
    #[arg(long, value_name = "FILE")]
    pub public_keys: Option<PathBuf>,
    /// Do not verify digests (nor hash the files read): every event stays `unverified`.
    #[arg(long)]
    pub no_verify: bool,
    /// The AWS API region (the bucket's or the queue's); --region filters CloudTrail regions.
    #[arg(long, env = "AWS_REGION", value_name = "REGION")]
    pub aws_region: Option<String>,
    /// Objects fetched from S3 at once [default: 16].
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// How far behind each partition's watermark an incremental S3 listing looks again, for
    /// files that arrive late with older names [default: 1h].
    #[arg(long, value_name = "DURATION")]
    pub lookback: Option<String>,
    /// Serve Prometheus metrics on this address while following (e.g. 127.0.0.1:9464).
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<String>,
    /// Queue messages gathered into one commit [default: 100].
    #[arg(long, value_name = "N")]
    pub batch: Option<usize>,
    /// Decode threads (default: every core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Index writer memory budget in MiB.
    #[arg(long, default_value_t = DEFAULT_MEMORY_MIB, value_name = "MIB")]
    pub memory_mib: usize,
    /// Fail at once instead of waiting when another process is writing the store.
    #[arg(long)]
    pub no_wait: bool,
    /// Summary format.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    pub format: SummaryFormat,
    /// Also write the events to a Parquet lake: a directory or s3://BUCKET[/PREFIX]. Each
    /// batch's files are committed before the batch is acknowledged.
    #[arg(long, value_name = "DEST")]
    pub lake: Option<String>,
    /// With --lake: write only the lake, not the index (no rules, no digest checks; the data
    /// directory keeps only S3 listing watermarks).
    #[arg(long, requires = "lake")]
    pub no_index: bool,
    #[command(flatten)]
    pub lake_write: LakeWriteArgs,
    /// Commit every N events (tests use small values to crash between commits).
    #[arg(long, default_value_t = DEFAULT_COMMIT_EVERY, value_name = "N", hide = true)]
    pub commit_every: u64,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Debug, Args, Clone)]
pub struct TimeArgs {
    /// Only events of the last DURATION (15m, 24h, 7d).
    #[arg(long, value_name = "DURATION", conflicts_with_all = ["from", "to"])]
    pub since: Option<String>,
    /// Events at or after this time (RFC 3339, a date, epoch seconds, now-1h).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Events before this time.
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
    /// Maximum events to print.
    #[arg(long, short = 'n', default_value_t = 50)]
    pub limit: usize,
    /// Columns (JSON paths of the record, or principal, username, cairn.object).
    #[arg(long, value_delimiter = ',', value_name = "a,b,c")]
    pub fields: Option<Vec<String>>,
    /// Output format (json prints whole records).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Print only the number of matching events.
    #[arg(long)]
    pub count: bool,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The query (`eventName:DeleteKeyPair AND userIdentity.userName:"monitor"`); empty or `*`
    /// matches every event.
    #[arg(default_value = "")]
    pub query: String,
    #[command(flatten)]
    pub time: TimeArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct LookupArgs {
    #[arg(long)]
    pub event_id: Option<String>,
    #[arg(long)]
    pub event_name: Option<String>,
    /// true or false.
    #[arg(long)]
    pub read_only: Option<bool>,
    /// The user name as Event history shows it (IAM user, role session, root, service).
    #[arg(long)]
    pub username: Option<String>,
    /// e.g. AWS::EC2::SecurityGroup
    #[arg(long)]
    pub resource_type: Option<String>,
    /// A resource name or ARN.
    #[arg(long)]
    pub resource_name: Option<String>,
    /// e.g. ec2.amazonaws.com
    #[arg(long)]
    pub event_source: Option<String>,
    #[arg(long)]
    pub access_key: Option<String>,
    #[command(flatten)]
    pub time: TimeArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    pub event_id: String,
    /// Print the record's bytes as stored, without pretty-printing.
    #[arg(long)]
    pub raw: bool,
}

#[derive(Debug, Args)]
pub struct TopArgs {
    /// A field: a JSON path of the record, or principal, username, account.
    pub field: String,
    /// Only events matching this query.
    #[arg(default_value = "")]
    pub query: String,
    /// How many values.
    #[arg(long, short = 'n', default_value_t = 10)]
    pub limit: usize,
    #[command(flatten)]
    pub time: TimeArgs,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct TimelineArgs {
    #[arg(default_value = "")]
    pub query: String,
    /// Bucket size (5m, 1h, 1d).
    #[arg(long, default_value = "1h")]
    pub interval: String,
    #[command(flatten)]
    pub time: TimeArgs,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    pub format: SummaryFormat,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Directory to write the trail into.
    #[arg(long)]
    pub out: PathBuf,
    /// Unique events.
    #[arg(long, default_value_t = 100_000)]
    pub events: u64,
    #[arg(long, default_value_t = 3)]
    pub accounts: u32,
    #[arg(long, default_value_t = 2)]
    pub regions: u32,
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Organization id: writes an organization trail (AWSLogs/o-.../<account>/...).
    #[arg(long)]
    pub org: Option<String>,
    /// Key prefix before AWSLogs/.
    #[arg(long)]
    pub prefix: Option<String>,
    /// End of the trail (exclusive); default: the start of the current hour.
    #[arg(long)]
    pub end: Option<String>,
    /// Share of records re-delivered in a second file.
    #[arg(long, default_value_t = 0.005)]
    pub duplicate_rate: f64,
    /// Plant the demo's stories.
    #[arg(long)]
    pub stories: bool,
    /// Also write hourly digest files, signed with cairn's test key (never trust it), their
    /// `.signature` files and `public-keys.json`, as a trail with log-file validation on.
    #[arg(long)]
    pub digests: bool,
    /// The bucket name the digests record.
    #[arg(long, default_value = "cairn-trail", value_name = "NAME")]
    pub bucket: String,
    /// The trail name in digest names.
    #[arg(long, default_value = "cairn", value_name = "NAME")]
    pub trail: String,
    /// The trail's home region in digest names.
    #[arg(long, default_value = "us-east-1", value_name = "REGION")]
    pub home_region: String,
    /// Sign digests ending after this time with a second test key (a key rotation).
    #[arg(long, value_name = "TIME", requires = "digests")]
    pub rotate_key_at: Option<String>,
    /// Leave one file per account and region out of its hourly digest and list it in a
    /// `_backfill` digest.
    #[arg(long, requires = "digests")]
    pub backfill: bool,
    /// Then tamper with the signed trail, to see `cairn verify` catch it: modify-log,
    /// delete-log, delete-digest, delete-two-digests, move-digest, forge-signature,
    /// unknown-key, inject-log or trailing-bytes.
    #[arg(long, value_name = "CASE", requires = "digests")]
    pub tamper: Option<String>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the demo writes its trail and store.
    #[arg(long, default_value = "./cairn-demo")]
    pub dir: PathBuf,
    #[arg(long, default_value_t = 300_000)]
    pub events: u64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

impl AwsArgs {
    /// The flags as SDK settings, with the API region given apart.
    pub fn options(&self, region: Option<String>) -> cairn_source::aws::AwsOptions {
        cairn_source::aws::AwsOptions {
            profile: self.profile.clone(),
            region,
            endpoint_url: self.endpoint_url.clone(),
            role_arn: self.role_arn.clone(),
            max_attempts: self.max_attempts,
        }
    }
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// s3://BUCKET[/PREFIX] (online), or a directory holding a copy of a bucket (offline).
    pub target: String,
    /// Digests ending at or after this time (RFC 3339, a date, or "7d" ago).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Digests ending up to an hour after this time.
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// Only these accounts (repeatable).
    #[arg(long, value_name = "ID")]
    pub account: Vec<String>,
    /// Only these regions (repeatable).
    #[arg(long, value_name = "REGION")]
    pub region: Vec<String>,
    /// Only this trail (name or ARN).
    #[arg(long, value_name = "NAME")]
    pub trail: Option<String>,
    /// Only this organization (o-...): the AWSLogs/<org>/<account>/ layout.
    #[arg(long, value_name = "ORG_ID")]
    pub org: Option<String>,
    /// Public keys in the ListPublicKeys response shape (`aws cloudtrail list-public-keys`
    /// output). Required offline; online they come from ListPublicKeys.
    #[arg(long, value_name = "FILE")]
    pub public_keys: Option<PathBuf>,
    /// Offline: the name of the bucket the directory is a copy of (default: the name the
    /// digests record).
    #[arg(long, value_name = "NAME")]
    pub bucket: Option<String>,
    /// Print valid objects too, not only invalid ones (what validate-logs --verbose does).
    #[arg(long)]
    pub show_valid: bool,
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    pub format: SummaryFormat,
    /// The region of the bucket, for the S3 client (default: the AWS configuration's, else
    /// us-east-1). Public keys are always asked of each digest's region.
    #[arg(long, value_name = "REGION")]
    pub aws_region: Option<String>,
    /// Objects fetched and hashed at once (default: 16 online, the cores offline).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Largest decompressed log file hashed, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 30)]
    pub max_log_bytes: u64,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// With --follow: what to ingest while serving (as `cairn ingest`); default: the
    /// [[source]] entries of cairn.toml.
    #[arg(value_name = "SOURCE")]
    pub inputs: Vec<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "HOST:PORT")]
    pub addr: String,
    /// Serve without authentication; refused unless the address is a loopback address.
    #[arg(long)]
    pub no_auth: bool,
    /// Also follow the sources in this process (`ingest --follow`, with rules and monitors).
    #[arg(long)]
    pub follow: bool,
    /// PEM certificate chain: serve HTTPS (with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Largest request body accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    pub max_body: usize,
    /// Longest a request may take before it is answered 503.
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub request_timeout: String,
    #[command(flatten)]
    pub rules: RuleArgs,
}

/// Limits a user or token to some accounts and regions.
#[derive(Debug, Args, Clone, Default)]
pub struct ScopeArgs {
    /// Only events of these account ids (comma-separated); default: every account.
    #[arg(long, value_delimiter = ',', value_name = "ID")]
    pub accounts: Vec<String>,
    /// Only events of these regions (comma-separated); default: every region.
    #[arg(long, value_delimiter = ',', value_name = "REGION")]
    pub regions: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Adds a user; the password is read from standard input (first line) or prompted for.
    Add {
        name: String,
        /// admin, analyst or viewer.
        #[arg(long, default_value = "viewer")]
        role: String,
        #[command(flatten)]
        scope: ScopeArgs,
        /// Read the password from standard input without prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Removes a user; their sessions end at their next request.
    Remove { name: String },
    /// Lists users (never their password hashes).
    List,
    /// Sets a user's password.
    Passwd {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Creates a token and prints its access key id and secret (shown this once).
    Create {
        /// What it is for.
        #[arg(long)]
        name: String,
        /// admin, analyst or viewer.
        #[arg(long, default_value = "analyst")]
        role: String,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Lists tokens (never their secrets).
    List,
    /// Revokes a token; requests signed with it are refused at once.
    Revoke { id: String },
}

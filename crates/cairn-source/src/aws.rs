//! AWS clients from the standard credential chain, with the flags every AWS command shares.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

/// Where and as whom to call AWS. Empty fields fall back to the standard chain (environment,
/// shared config and credentials files, SSO, container and instance roles).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsOptions {
    pub profile: Option<String>,
    pub region: Option<String>,
    /// Any S3- or SQS-compatible endpoint (`http://127.0.0.1:9000`); S3 then uses path-style
    /// addressing, which such stores expect.
    pub endpoint_url: Option<String>,
    /// A role to assume for a bucket in another account.
    pub role_arn: Option<String>,
    /// Attempts per request, the first included (throttling, 5xx and dropped connections
    /// are retried with exponential backoff and jitter).
    pub max_attempts: Option<u32>,
}

impl AwsOptions {
    /// Fields set in `over` win.
    pub fn overridden_by(&self, over: &AwsOptions) -> AwsOptions {
        AwsOptions {
            profile: over.profile.clone().or_else(|| self.profile.clone()),
            region: over.region.clone().or_else(|| self.region.clone()),
            endpoint_url: over
                .endpoint_url
                .clone()
                .or_else(|| self.endpoint_url.clone()),
            role_arn: over.role_arn.clone().or_else(|| self.role_arn.clone()),
            max_attempts: over.max_attempts.or(self.max_attempts),
        }
    }
}

/// Default attempts per request: more than the SDK's 3, since a backfill makes many requests
/// and one throttled object should not fail a run.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;

/// Loads the SDK configuration: credentials, region, endpoint, retries, and an assumed role.
pub async fn sdk_config(opts: &AwsOptions) -> SdkConfig {
    let retry = RetryConfig::standard()
        .with_max_attempts(opts.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS))
        .with_initial_backoff(Duration::from_millis(100))
        .with_max_backoff(Duration::from_secs(10));
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .retry_config(retry);
    if let Some(p) = &opts.profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = &opts.region {
        loader = loader.region(Region::new(r.clone()));
    }
    if let Some(u) = &opts.endpoint_url {
        loader = loader.endpoint_url(u);
    }
    let base = loader.load().await;
    let Some(role) = &opts.role_arn else {
        return base;
    };
    let provider = aws_config::sts::AssumeRoleProvider::builder(role)
        .session_name("cairn")
        .configure(&base)
        .build()
        .await;
    // The same settings, with the role's credentials (refreshed by the provider).
    base.to_builder()
        .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(provider))
        .build()
}

/// The one HTTP client of every AWS call: hyper on rustls with ring (the SDK's default brings
/// aws-lc, a second crypto library to build). Trusts the system's root certificates.
pub fn https_client() -> aws_sdk_s3::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// An S3 client for `conf`; path-style when an endpoint is given (by flag, or by the SDK's
/// `AWS_ENDPOINT_URL_S3` variable), as S3-compatible stores expect.
pub fn s3_client(conf: &SdkConfig, opts: &AwsOptions) -> aws_sdk_s3::Client {
    let custom = opts.endpoint_url.is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    let b = aws_sdk_s3::config::Builder::from(conf).force_path_style(custom);
    aws_sdk_s3::Client::from_conf(b.build())
}

/// An SQS client for `conf`.
pub fn sqs_client(conf: &SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(conf)
}

/// What CloudTrail says of a trail (`GetTrailStatus`).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct TrailStatus {
    pub is_logging: bool,
    pub latest_delivery_error: Option<String>,
    pub latest_delivery_time: Option<i64>,
    pub latest_digest_delivery_error: Option<String>,
    pub latest_notification_error: Option<String>,
}

/// Calls `GetTrailStatus` for a trail name or ARN.
pub async fn trail_status(conf: &SdkConfig, name: &str) -> Result<TrailStatus, String> {
    let client = aws_sdk_cloudtrail::Client::new(conf);
    let out = client
        .get_trail_status()
        .name(name)
        .send()
        .await
        .map_err(|e| describe(&e))?;
    let nonempty = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_string);
    Ok(TrailStatus {
        is_logging: out.is_logging().unwrap_or(false),
        latest_delivery_error: nonempty(out.latest_delivery_error()),
        latest_delivery_time: out.latest_delivery_time().map(|t| t.secs()),
        latest_digest_delivery_error: nonempty(out.latest_digest_delivery_error()),
        latest_notification_error: nonempty(out.latest_notification_error()),
    })
}

/// Builds a small runtime for the AWS calls of one command.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("cairn-aws")
        .enable_all()
        .build()
}

/// Names an SDK error (of any service: the type is shared) the way a person can act on it:
/// the service's code and message, or the transport problem.
pub fn describe<E, R>(err: &aws_sdk_s3::error::SdkError<E, R>) -> String
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_s3::error::SdkError;
    match err {
        SdkError::ServiceError(e) => {
            let e = e.err();
            match (e.code(), e.message()) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c.to_string(),
                _ => e.to_string(),
            }
        }
        SdkError::TimeoutError(_) => "timed out".into(),
        SdkError::DispatchFailure(e) => {
            if e.is_io() {
                "connection failed".into()
            } else if e.is_timeout() {
                "timed out".into()
            } else {
                format!("request failed: {:?}", e.as_other())
            }
        }
        other => format!("{}", aws_sdk_s3::error::DisplayErrorContext(other)),
    }
}

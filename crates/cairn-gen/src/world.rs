//! The simulated organisation: accounts, the principals acting in them, and the resources they
//! act on. Everything is derived from the seed and an index, so each worker thread can rebuild
//! the part it needs and get exactly what every other thread would.

use crate::rng::{HEX, LOWER_ALNUM, Rng, UPPER_ALNUM, derive};

/// The regions, in the order `GenConfig::regions` takes them.
pub(crate) const REGIONS: [&str; 16] = [
    "us-east-1",
    "eu-west-1",
    "us-west-2",
    "ap-southeast-2",
    "eu-central-1",
    "ap-northeast-1",
    "us-east-2",
    "eu-west-2",
    "ap-south-1",
    "ca-central-1",
    "sa-east-1",
    "ap-southeast-1",
    "eu-north-1",
    "us-west-1",
    "ap-northeast-2",
    "eu-west-3",
];

/// Relative activity per region (the first is the home region, where global services log).
pub(crate) const REGION_WEIGHT: [u64; 16] =
    [100, 55, 40, 20, 18, 15, 12, 10, 8, 8, 6, 6, 5, 5, 4, 4];

/// Relative activity of the `i`-th account: a few busy accounts and a long tail.
pub(crate) fn account_weight(i: u32) -> u64 {
    (300 / (3 + u64::from(i))).max(1)
}

const SALT_ACCOUNT_IDS: u64 = 0xA11C_0DE5;
const SALT_ACCOUNT: u64 = 0xACC0_0417;
const SALT_PLACE: u64 = 0x91AC_E5E5;

/// The 12-digit ids of `n` accounts, distinct, derived from the seed.
pub(crate) fn account_ids(seed: u64, n: u32) -> Vec<String> {
    let mut rng = Rng::from_path(&[seed, SALT_ACCOUNT_IDS]);
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(n as usize);
    while out.len() < n as usize {
        let id = format!("{}", rng.range(100_000_000_000, 1_000_000_000_000));
        if seen.insert(id.clone()) {
            out.push(id);
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    IamUser,
    Role,
    Root,
    Service,
    Federated,
}

/// One principal that makes calls.
#[derive(Debug, Clone)]
pub(crate) struct Actor {
    pub(crate) kind: Kind,
    /// IAM user name, role name, service principal, or federated user name.
    pub(crate) name: String,
    /// Role-session name (roles only).
    pub(crate) session: String,
    /// AIDA... / AROA... unique id of the user or role.
    pub(crate) unique_id: String,
    /// The identity's ARN as CloudTrail writes it in `userIdentity.arn`.
    pub(crate) arn: String,
    /// The role's IAM ARN (roles), or the issuing IAM user's ARN (federated users).
    pub(crate) issuer_arn: String,
    pub(crate) issuer_name: String,
    pub(crate) issuer_id: String,
    /// Long-term access key (IAM users).
    pub(crate) access_key: String,
    /// Seeds the temporary (ASIA...) keys, one per hour of session.
    pub(crate) key_seed: u64,
    /// The Event-history user name of this principal's records.
    pub(crate) username: String,
    /// User agent; when `ua_cmd`, the CLI command (`ec2.describe-instances`) is appended.
    pub(crate) ua: String,
    pub(crate) ua_cmd: bool,
    /// Browser user agent for console use.
    pub(crate) browser: &'static str,
    pub(crate) ips: Vec<String>,
    /// Signs in with MFA.
    pub(crate) mfa: bool,
    /// For service-linked roles: the service acting (`invokedBy`), else empty.
    pub(crate) invoked_by: &'static str,
    /// Uses the console for some calls.
    pub(crate) human: bool,
}

/// AWS service principals that appear as `AWSService` identities.
pub(crate) const SERVICES: [&str; 10] = [
    "lambda.amazonaws.com",
    "ec2.amazonaws.com",
    "cloudtrail.amazonaws.com",
    "config.amazonaws.com",
    "s3.amazonaws.com",
    "secretsmanager.amazonaws.com",
    "ssm.amazonaws.com",
    "rds.amazonaws.com",
    "ecs-tasks.amazonaws.com",
    "elasticloadbalancing.amazonaws.com",
];

/// Indices into [`Account::actors`], by the part each plays.
#[derive(Debug, Clone, Default)]
pub(crate) struct Pools {
    pub(crate) sso: Vec<u16>,
    pub(crate) iam_human: Vec<u16>,
    pub(crate) iam_ci: Vec<u16>,
    pub(crate) auto: Vec<u16>,
    /// The automation roles that change things (CI, Terraform, ops), never empty.
    pub(crate) deploy: Vec<u16>,
    pub(crate) lambda: Vec<u16>,
    pub(crate) ec2: Vec<u16>,
    pub(crate) config: u16,
    pub(crate) asg: u16,
    pub(crate) root: u16,
    pub(crate) fed: u16,
    /// First of the `AWSService` actors, in [`SERVICES`] order.
    pub(crate) service0: u16,
    /// An IAM user whose key only the "access denied burst" story uses.
    pub(crate) leaked: u16,
}

/// One account: its id, principals and account-wide resources.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub(crate) id: String,
    pub(crate) actors: Vec<Actor>,
    pub(crate) pools: Pools,
    pub(crate) buckets: Vec<String>,
    pub(crate) functions: Vec<String>,
    pub(crate) trail_name: String,
    pub(crate) trail_bucket: String,
}

const FIRST: [&str; 24] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "ken",
    "laura", "mike", "nina", "oscar", "priya", "quinn", "rosa", "sam", "tariq", "uma", "victor",
    "wei", "yusuf",
];
const LAST: [&str; 16] = [
    "smith", "chen", "garcia", "patel", "kim", "nguyen", "jones", "silva", "kowalski", "okafor",
    "tanaka", "muller", "rossi", "dubois", "haddad", "larsen",
];
const CI_USERS: [&str; 6] = [
    "svc-backup",
    "ci-deployer",
    "svc-monitoring",
    "legacy-etl",
    "grafana-reader",
    "svc-billing-export",
];
const AUTO_ROLES: [(&str, &str); 6] = [
    ("github-actions-deploy", "GitHubActions"),
    ("terraform-apply", "terraform"),
    ("jenkins-build", "jenkins"),
    ("DatadogIntegrationRole", "DatadogAWSIntegration"),
    ("OrganizationAccountAccessRole", "ops-automation"),
    ("SecurityAuditRole", "security-scanner"),
];
const FUNCTIONS: [&str; 10] = [
    "orders-api",
    "image-resize",
    "nightly-report",
    "slack-notifier",
    "cost-exporter",
    "auth-authorizer",
    "invoice-pdf",
    "user-signup",
    "search-indexer",
    "webhook-relay",
];
const COMPANIES: [&str; 6] = ["acme", "globex", "initech", "umbrella", "hooli", "vandelay"];
const BUCKET_PURPOSES: [&str; 9] = [
    "data-lake",
    "app-assets",
    "backups",
    "terraform-state",
    "ml-datasets",
    "invoices",
    "build-artifacts",
    "user-uploads",
    "analytics-exports",
];
const BROWSERS: [&str; 4] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
];

/// An AWS CLI v2 agent; servers run Linux.
fn cli_ua(rng: &mut Rng, server: bool) -> String {
    let (ver, crt) = *rng.pick(&[
        ("2.15.30", "0.19.19"),
        ("2.17.4", "0.20.11"),
        ("2.22.8", "0.22.0"),
        ("2.13.25", "0.16.16"),
    ]);
    let os = if server {
        "os/linux#6.5.0-1022-azure md/arch#x86_64"
    } else {
        *rng.pick(&[
            "os/macos#23.4.0 md/arch#arm64",
            "os/linux#6.8.0-35-generic md/arch#x86_64",
            "os/windows#10 md/arch#amd64",
            "os/macos#24.1.0 md/arch#arm64",
        ])
    };
    format!(
        "aws-cli/{ver} md/awscrt#{crt} ua/2.0 {os} lang/python#3.11.8 md/pyimpl#CPython \
         cfg/retry-mode#standard md/installer#exe md/prompt#off md/command#"
    )
}

fn boto_ua(rng: &mut Rng, lambda: bool) -> String {
    let v = *rng.pick(&["1.34.69", "1.34.110", "1.35.21", "1.33.13"]);
    if lambda {
        format!(
            "Boto3/{v} md/Botocore#{v} ua/2.0 os/linux#5.10.216-225.855.amzn2.x86_64 \
             md/arch#x86_64 lang/python#3.12.3 md/pyimpl#CPython \
             exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/{v}"
        )
    } else {
        format!(
            "Boto3/{v} md/Botocore#{v} ua/2.0 os/linux#6.1.91-99.172.amzn2023.x86_64 \
             md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#legacy \
             Botocore/{v}"
        )
    }
}

const TERRAFORM_UA: &str = "APN/1.0 HashiCorp/1.0 Terraform/1.8.5 (+https://www.terraform.io) \
    terraform-provider-aws/5.53.0 (+https://registry.terraform.io/providers/hashicorp/aws) \
    aws-sdk-go-v2/1.27.2 os/linux lang/go#1.22.3 md/GOOS#linux md/GOARCH#amd64";
const GO_UA: &str =
    "aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.2 md/GOOS#linux md/GOARCH#amd64 api/sts#1.28.6";
const JAVA_UA: &str = "aws-sdk-java/2.25.40 Linux/5.10.216-204.855.amzn2.x86_64 \
    OpenJDK_64-Bit_Server_VM/17.0.11+9-LTS Java/17.0.11 vendor/Amazon.com_Inc. io/sync \
    http/Apache cfg/retry-mode/legacy";
const DATADOG_UA: &str = "datadog-aws-crawler/1.0 aws-sdk-go/1.50.8 (go1.21.6; linux; amd64)";

/// A public IPv4 address, never in private, loopback, link-local, CGNAT or multicast space.
pub(crate) fn public_ipv4(rng: &mut Rng) -> String {
    loop {
        let a = rng.range(1, 224) as u8;
        let b = rng.below(256) as u8;
        let private = a == 10
            || a == 127
            || a == 0
            || (a == 172 && (16..32).contains(&b))
            || (a == 192 && b == 168)
            || (a == 169 && b == 254)
            || (a == 100 && (64..128).contains(&b));
        if !private {
            return format!("{a}.{b}.{}.{}", rng.below(256), rng.range(1, 255));
        }
    }
}

/// An address in AWS-ish public space (where Lambda, EC2 and CI runners call from).
pub(crate) fn aws_ipv4(rng: &mut Rng) -> String {
    let a = *rng.pick(&[3u8, 18, 34, 35, 44, 52, 54]);
    format!(
        "{a}.{}.{}.{}",
        rng.below(256),
        rng.below(256),
        rng.range(1, 255)
    )
}

pub(crate) fn ipv6(rng: &mut Rng) -> String {
    let prefix = *rng.pick(&["2a02:c7c", "2600:1700", "2001:818", "2a01:e0a"]);
    format!(
        "{prefix}:{:x}:{:x}:{:x}:{:x}:{:x}:{:x}",
        rng.below(0x10000),
        rng.below(0x10000),
        rng.below(0x10000),
        rng.below(0x10000),
        rng.below(0x10000),
        rng.below(0x10000)
    )
}

impl Account {
    /// Builds account `index` (id `id`) deterministically from the seed.
    pub(crate) fn build(seed: u64, index: u32, id: &str) -> Account {
        let mut rng = Rng::from_path(&[seed, SALT_ACCOUNT, u64::from(index)]);
        let mut actors: Vec<Actor> = Vec::new();
        let mut pools = Pools::default();
        let company = *rng.pick(&COMPANIES);
        let office_ips: Vec<String> = (0..3).map(|_| public_ipv4(&mut rng)).collect();

        let blank = |kind: Kind, rng: &mut Rng| Actor {
            kind,
            name: String::new(),
            session: String::new(),
            unique_id: String::new(),
            arn: String::new(),
            issuer_arn: String::new(),
            issuer_name: String::new(),
            issuer_id: String::new(),
            access_key: String::new(),
            key_seed: rng.next_u64(),
            username: String::new(),
            ua: String::new(),
            ua_cmd: false,
            browser: BROWSERS[0],
            ips: Vec::new(),
            mfa: true,
            invoked_by: "",
            human: false,
        };
        let push = |actors: &mut Vec<Actor>, a: Actor| -> u16 {
            actors.push(a);
            (actors.len() - 1) as u16
        };

        // People: some have IAM users, all have SSO sessions.
        let n_people = 3 + rng.index(4);
        let mut people: Vec<(String, String)> = Vec::new();
        while people.len() < n_people {
            let first = *rng.pick(&FIRST);
            let last = *rng.pick(&LAST);
            let user = format!("{first}.{last}");
            if people.iter().all(|(u, _)| *u != user) {
                people.push((user, format!("{first}.{last}@{company}.example.com")));
            }
        }
        let person_ips: Vec<Vec<String>> = people
            .iter()
            .map(|_| {
                let mut ips = vec![rng.pick(&office_ips).clone()];
                if rng.percent(60) {
                    ips.push(if rng.percent(30) {
                        ipv6(&mut rng)
                    } else {
                        public_ipv4(&mut rng)
                    });
                }
                ips
            })
            .collect();

        let n_iam_humans = 2.min(people.len()) + rng.index(2);
        for (p, (user, _)) in people.iter().enumerate().take(n_iam_humans) {
            let mut a = blank(Kind::IamUser, &mut rng);
            a.name = user.clone();
            a.unique_id = rng.id("AIDA", UPPER_ALNUM, 17);
            a.arn = format!("arn:aws:iam::{id}:user/{user}");
            a.access_key = rng.id("AKIA", UPPER_ALNUM, 16);
            a.username = user.clone();
            a.ua = cli_ua(&mut rng, false);
            a.ua_cmd = true;
            a.browser = *rng.pick(&BROWSERS);
            a.ips = person_ips[p].clone();
            a.mfa = rng.percent(80);
            a.human = true;
            let i = push(&mut actors, a);
            pools.iam_human.push(i);
        }

        let n_ci = 1 + rng.index(3);
        let mut ci_names: Vec<&str> = CI_USERS.to_vec();
        for _ in 0..n_ci {
            let name = ci_names.remove(rng.index(ci_names.len()));
            let mut a = blank(Kind::IamUser, &mut rng);
            a.name = name.to_string();
            a.unique_id = rng.id("AIDA", UPPER_ALNUM, 17);
            a.arn = format!("arn:aws:iam::{id}:user/{name}");
            a.access_key = rng.id("AKIA", UPPER_ALNUM, 16);
            a.username = name.to_string();
            a.ua = match rng.below(3) {
                0 => boto_ua(&mut rng, false),
                1 => JAVA_UA.to_string(),
                _ => GO_UA.to_string(),
            };
            a.ips = vec![if rng.percent(50) {
                aws_ipv4(&mut rng)
            } else {
                public_ipv4(&mut rng)
            }];
            a.mfa = false;
            let i = push(&mut actors, a);
            pools.iam_ci.push(i);
        }

        // The story-only IAM user of the "access denied burst".
        {
            let name = "reporting-legacy";
            let mut a = blank(Kind::IamUser, &mut rng);
            a.name = name.to_string();
            a.unique_id = rng.id("AIDA", UPPER_ALNUM, 17);
            a.arn = format!("arn:aws:iam::{id}:user/{name}");
            a.access_key = rng.id("AKIA", UPPER_ALNUM, 16);
            a.username = name.to_string();
            a.ua = "aws-cli/1.18.69 Python/3.8.10 Linux/5.4.0-1045-aws botocore/1.16.19".into();
            a.ips = vec![public_ipv4(&mut rng)];
            a.mfa = false;
            pools.leaked = push(&mut actors, a);
        }

        // SSO permission sets, each used by some of the people.
        let sets = ["AdministratorAccess", "ReadOnlyAccess", "PowerUserAccess"];
        for (s, set) in sets.iter().enumerate() {
            let role = format!("AWSReservedSSO_{set}_{}", rng.chars(HEX, 16));
            let role_id = rng.id("AROA", UPPER_ALNUM, 17);
            for (p, (_, email)) in people.iter().enumerate() {
                if (p + s) % 2 == 1 && s != 0 {
                    continue;
                }
                if s == 0 && p > 2 {
                    continue;
                }
                let mut a = blank(Kind::Role, &mut rng);
                a.name = role.clone();
                a.session = email.clone();
                a.unique_id = role_id.clone();
                a.arn = format!("arn:aws:sts::{id}:assumed-role/{role}/{email}");
                a.issuer_arn =
                    format!("arn:aws:iam::{id}:role/aws-reserved/sso.amazonaws.com/{role}");
                a.issuer_name = role.clone();
                a.username = email.clone();
                a.ua = cli_ua(&mut rng, false);
                a.ua_cmd = true;
                a.browser = *rng.pick(&BROWSERS);
                a.ips = person_ips[p].clone();
                a.human = true;
                let i = push(&mut actors, a);
                pools.sso.push(i);
            }
        }

        let n_auto = 2 + rng.index(3);
        let mut autos: Vec<(&str, &str)> = AUTO_ROLES.to_vec();
        for _ in 0..n_auto {
            let (role, session) = autos.remove(rng.index(autos.len()));
            let mut a = blank(Kind::Role, &mut rng);
            a.name = role.to_string();
            a.session = session.to_string();
            a.unique_id = rng.id("AROA", UPPER_ALNUM, 17);
            a.arn = format!("arn:aws:sts::{id}:assumed-role/{role}/{session}");
            a.issuer_arn = format!("arn:aws:iam::{id}:role/{role}");
            a.issuer_name = role.to_string();
            a.username = session.to_string();
            a.ua = match role {
                "terraform-apply" => TERRAFORM_UA.to_string(),
                "DatadogIntegrationRole" => DATADOG_UA.to_string(),
                "github-actions-deploy" => cli_ua(&mut rng, true),
                _ => boto_ua(&mut rng, false),
            };
            a.ua_cmd = role == "github-actions-deploy";
            a.ips = vec![aws_ipv4(&mut rng), aws_ipv4(&mut rng)];
            let i = push(&mut actors, a);
            pools.auto.push(i);
            if matches!(
                role,
                "github-actions-deploy"
                    | "terraform-apply"
                    | "jenkins-build"
                    | "OrganizationAccountAccessRole"
            ) {
                pools.deploy.push(i);
            }
        }
        if pools.deploy.is_empty() {
            pools.deploy = pools.auto.clone();
        }

        let n_fn = 3 + rng.index(4);
        let mut fn_names: Vec<&str> = FUNCTIONS.to_vec();
        let mut functions = Vec::new();
        for _ in 0..n_fn {
            let f = fn_names.remove(rng.index(fn_names.len()));
            functions.push(f.to_string());
            let role = format!("{f}-role-{}", rng.chars(LOWER_ALNUM, 8));
            let mut a = blank(Kind::Role, &mut rng);
            a.name = role.clone();
            a.session = f.to_string();
            a.unique_id = rng.id("AROA", UPPER_ALNUM, 17);
            a.arn = format!("arn:aws:sts::{id}:assumed-role/{role}/{f}");
            a.issuer_arn = format!("arn:aws:iam::{id}:role/service-role/{role}");
            a.issuer_name = role;
            a.username = f.to_string();
            a.ua = boto_ua(&mut rng, true);
            a.ips = vec![aws_ipv4(&mut rng), aws_ipv4(&mut rng), aws_ipv4(&mut rng)];
            let i = push(&mut actors, a);
            pools.lambda.push(i);
        }

        for role in ["web-tier-instance-role", "batch-worker-role"] {
            let session = rng.id("i-0", HEX, 16);
            let mut a = blank(Kind::Role, &mut rng);
            a.name = role.to_string();
            a.session = session.clone();
            a.unique_id = rng.id("AROA", UPPER_ALNUM, 17);
            a.arn = format!("arn:aws:sts::{id}:assumed-role/{role}/{session}");
            a.issuer_arn = format!("arn:aws:iam::{id}:role/{role}");
            a.issuer_name = role.to_string();
            a.username = session;
            a.ua = if role == "batch-worker-role" {
                JAVA_UA.to_string()
            } else {
                boto_ua(&mut rng, false)
            };
            a.ips = vec![aws_ipv4(&mut rng)];
            let i = push(&mut actors, a);
            pools.ec2.push(i);
        }

        for (role, session, by) in [
            (
                "AWSServiceRoleForConfig",
                "AWSConfig-Describe",
                "config.amazonaws.com",
            ),
            (
                "AWSServiceRoleForAutoScaling",
                "AutoScaling",
                "autoscaling.amazonaws.com",
            ),
        ] {
            let mut a = blank(Kind::Role, &mut rng);
            a.name = role.to_string();
            a.session = session.to_string();
            a.unique_id = rng.id("AROA", UPPER_ALNUM, 17);
            a.arn = format!("arn:aws:sts::{id}:assumed-role/{role}/{session}");
            let path = by.trim_end_matches(".amazonaws.com");
            a.issuer_arn =
                format!("arn:aws:iam::{id}:role/aws-service-role/{path}.amazonaws.com/{role}");
            a.issuer_name = role.to_string();
            a.username = session.to_string();
            a.ua = by.to_string();
            a.invoked_by = by;
            let i = push(&mut actors, a);
            if by.starts_with("config") {
                pools.config = i;
            } else {
                pools.asg = i;
            }
        }

        {
            let mut a = blank(Kind::Root, &mut rng);
            a.name = "root".into();
            a.arn = format!("arn:aws:iam::{id}:root");
            a.unique_id = id.to_string();
            a.username = "root".into();
            a.ua = cli_ua(&mut rng, false);
            a.ua_cmd = true;
            a.browser = *rng.pick(&BROWSERS);
            a.ips = vec![office_ips[0].clone()];
            a.human = true;
            pools.root = push(&mut actors, a);
        }

        {
            let broker = "federation-broker";
            let name = *rng.pick(&["partner-sync", "contractor-ops", "vendor-support"]);
            let mut a = blank(Kind::Federated, &mut rng);
            a.name = name.to_string();
            a.unique_id = format!("{id}:{name}");
            a.arn = format!("arn:aws:sts::{id}:federated-user/{name}");
            a.issuer_arn = format!("arn:aws:iam::{id}:user/{broker}");
            a.issuer_name = broker.to_string();
            a.issuer_id = rng.id("AIDA", UPPER_ALNUM, 17);
            a.username = name.to_string();
            a.ua = boto_ua(&mut rng, false);
            a.ips = vec![public_ipv4(&mut rng)];
            a.human = true;
            pools.fed = push(&mut actors, a);
        }

        pools.service0 = actors.len() as u16;
        for s in SERVICES {
            let mut a = blank(Kind::Service, &mut rng);
            a.name = s.to_string();
            a.username = s.to_string();
            a.ua = s.to_string();
            a.invoked_by = s;
            push(&mut actors, a);
        }

        let n_buckets = 4 + rng.index(3);
        let mut purposes: Vec<&str> = BUCKET_PURPOSES.to_vec();
        let suffix = &id[8..];
        let buckets = (0..n_buckets)
            .map(|_| {
                let p = purposes.remove(rng.index(purposes.len()));
                format!("{company}-{p}-{suffix}")
            })
            .collect();
        let trail_name = rng
            .pick(&["management-events", "org-audit-trail", "cloudtrail-main"])
            .to_string();
        let trail_bucket = format!("aws-cloudtrail-logs-{id}-{}", rng.chars(HEX, 8));

        Account {
            id: id.to_string(),
            actors,
            pools,
            buckets,
            functions,
            trail_name,
            trail_bucket,
        }
    }

    /// The `AWSService` actor for service principal `s` (one of [`SERVICES`]).
    pub(crate) fn service(&self, s: &str) -> u16 {
        let pos = SERVICES.iter().position(|&x| x == s).unwrap_or(0);
        self.pools.service0 + pos as u16
    }

    pub(crate) fn trail_arn(&self) -> String {
        format!(
            "arn:aws:cloudtrail:us-east-1:{}:trail/{}",
            self.id, self.trail_name
        )
    }
}

/// Regional resources of one account in one region.
#[derive(Debug, Clone)]
pub(crate) struct Place {
    pub(crate) region: &'static str,
    pub(crate) vpc: String,
    pub(crate) subnets: Vec<String>,
    pub(crate) instances: Vec<String>,
    pub(crate) sgs: Vec<String>,
    pub(crate) volumes: Vec<String>,
    pub(crate) amis: Vec<String>,
    pub(crate) key_pairs: Vec<String>,
    pub(crate) kms_keys: Vec<String>,
    pub(crate) tables: Vec<&'static str>,
    pub(crate) dbs: Vec<&'static str>,
    pub(crate) secrets: Vec<String>,
    pub(crate) params: Vec<&'static str>,
    pub(crate) nacl: String,
    pub(crate) rds_suffix: String,
    pub(crate) vpce: String,
}

const TABLES: [&str; 6] = [
    "orders",
    "sessions",
    "users",
    "inventory",
    "audit-log",
    "feature-flags",
];
const DBS: [&str; 4] = ["orders-db", "analytics-pg", "billing-mysql", "auth-aurora"];
const SECRETS: [&str; 5] = [
    "prod/orders/db",
    "prod/stripe/api-key",
    "prod/auth/jwt-signing",
    "staging/orders/db",
    "shared/slack-webhook",
];
const PARAMS: [&str; 6] = [
    "/app/prod/db-host",
    "/app/prod/feature-flags",
    "/app/prod/log-level",
    "/app/staging/db-host",
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
    "/cwagent/config",
];

impl Place {
    pub(crate) fn build(seed: u64, account: u32, region: u32) -> Place {
        let mut rng = Rng::from_path(&[seed, SALT_PLACE, u64::from(account), u64::from(region)]);
        let many = |rng: &mut Rng, prefix: &str, lo: usize, hi: usize| -> Vec<String> {
            let n = lo + rng.index(hi - lo);
            (0..n).map(|_| rng.id(prefix, HEX, 17)).collect()
        };
        let subset = |rng: &mut Rng, all: &[&'static str], n: usize| -> Vec<&'static str> {
            let mut pool = all.to_vec();
            (0..n.min(pool.len()))
                .map(|_| pool.remove(rng.index(pool.len())))
                .collect()
        };
        let region_name = REGIONS[region as usize];
        let vpc = rng.id("vpc-0", HEX, 16);
        let subnets = many(&mut rng, "subnet-", 3, 7);
        let instances = many(&mut rng, "i-", 8, 40);
        let sgs = many(&mut rng, "sg-", 4, 12);
        let volumes = many(&mut rng, "vol-", 8, 40);
        let amis = many(&mut rng, "ami-", 2, 5);
        let key_pairs = (0..2 + rng.index(3))
            .map(|_| {
                format!(
                    "{}-{}",
                    rng.pick(&["deploy", "bastion", "ops", "legacy", "build"]),
                    rng.chars(LOWER_ALNUM, 4)
                )
            })
            .collect();
        let kms_keys = (0..2 + rng.index(3)).map(|_| rng.uuid_string()).collect();
        let n_tables = 2 + rng.index(4);
        let tables = subset(&mut rng, &TABLES, n_tables);
        let n_dbs = 1 + rng.index(3);
        let dbs = subset(&mut rng, &DBS, n_dbs);
        let secrets = (0..2 + rng.index(3))
            .map(|i| format!("{}-{}", SECRETS[i], rng.chars(rng_alpha(), 6)))
            .collect();
        let n_params = 3 + rng.index(3);
        let params = subset(&mut rng, &PARAMS, n_params);
        let nacl = rng.id("acl-0", HEX, 16);
        let rds_suffix = rng.id("c", LOWER_ALNUM, 11);
        let vpce = rng.id("vpce-0", HEX, 16);
        Place {
            region: region_name,
            vpc,
            subnets,
            instances,
            sgs,
            volumes,
            amis,
            key_pairs,
            kms_keys,
            tables,
            dbs,
            secrets,
            params,
            nacl,
            rds_suffix,
            vpce,
        }
    }
}

fn rng_alpha() -> &'static [u8] {
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
}

/// A stable 64-bit key for (actor seed, hour): the temporary credentials of one session.
pub(crate) fn session_key(seed: u64, hour: i64) -> u64 {
    derive(&[seed, hour as u64])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_distinct_12_digits_and_stable() {
        let a = account_ids(5, 50);
        assert_eq!(a, account_ids(5, 50));
        assert_ne!(a, account_ids(6, 50));
        let set: std::collections::HashSet<_> = a.iter().collect();
        assert_eq!(set.len(), 50);
        assert!(
            a.iter()
                .all(|id| id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()))
        );
    }

    #[test]
    fn accounts_have_every_pool() {
        for seed in 0..50 {
            let acct = Account::build(seed, 0, "123456789012");
            let p = &acct.pools;
            assert!(!p.sso.is_empty() && !p.iam_human.is_empty() && !p.iam_ci.is_empty());
            assert!(!p.auto.is_empty() && !p.deploy.is_empty());
            assert!(!p.lambda.is_empty() && !p.ec2.is_empty());
            assert_eq!(acct.actors[p.leaked as usize].name, "reporting-legacy");
            assert_eq!(
                acct.actors[acct.service("s3.amazonaws.com") as usize].name,
                "s3.amazonaws.com"
            );
            for a in &acct.actors {
                assert!(!a.username.is_empty());
                if a.kind != Kind::Service && a.invoked_by.is_empty() {
                    assert!(!a.ips.is_empty(), "{a:?}");
                }
            }
        }
    }
}

//! Record templates: one function per API call, writing the record the way CloudTrail does
//! (field order, identity shapes, request and response shapes, errors) straight into the log
//! file's buffer.

use crate::clock;
use crate::json::Json;
use crate::rng::{BASE64, HEX, LOWER_ALNUM, Rng, UPPER_ALNUM};
use crate::world::{Account, Kind, Place, session_key};

/// How a service's endpoint is named in `tlsDetails.clientProvidedHostHeader`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Host {
    /// `<name>.<region>.amazonaws.com`
    Regional(&'static str),
    /// A fixed host.
    Global(&'static str),
    /// Per bucket; supplied by the template.
    S3,
}

#[derive(Debug)]
pub(crate) struct Svc {
    pub(crate) source: &'static str,
    /// Prefix of IAM actions (`ec2:DescribeInstances`).
    pub(crate) prefix: &'static str,
    pub(crate) host: Host,
}

const EC2: Svc = Svc {
    source: "ec2.amazonaws.com",
    prefix: "ec2",
    host: Host::Regional("ec2"),
};
const S3: Svc = Svc {
    source: "s3.amazonaws.com",
    prefix: "s3",
    host: Host::S3,
};
const STS: Svc = Svc {
    source: "sts.amazonaws.com",
    prefix: "sts",
    host: Host::Regional("sts"),
};
const KMS: Svc = Svc {
    source: "kms.amazonaws.com",
    prefix: "kms",
    host: Host::Regional("kms"),
};
const IAM: Svc = Svc {
    source: "iam.amazonaws.com",
    prefix: "iam",
    host: Host::Global("iam.amazonaws.com"),
};
const LAMBDA: Svc = Svc {
    source: "lambda.amazonaws.com",
    prefix: "lambda",
    host: Host::Regional("lambda"),
};
const LOGS: Svc = Svc {
    source: "logs.amazonaws.com",
    prefix: "logs",
    host: Host::Regional("logs"),
};
const CLOUDTRAIL: Svc = Svc {
    source: "cloudtrail.amazonaws.com",
    prefix: "cloudtrail",
    host: Host::Regional("cloudtrail"),
};
const MONITORING: Svc = Svc {
    source: "monitoring.amazonaws.com",
    prefix: "cloudwatch",
    host: Host::Regional("monitoring"),
};
const DYNAMODB: Svc = Svc {
    source: "dynamodb.amazonaws.com",
    prefix: "dynamodb",
    host: Host::Regional("dynamodb"),
};
const RDS: Svc = Svc {
    source: "rds.amazonaws.com",
    prefix: "rds",
    host: Host::Regional("rds"),
};
const SECRETS: Svc = Svc {
    source: "secretsmanager.amazonaws.com",
    prefix: "secretsmanager",
    host: Host::Regional("secretsmanager"),
};
const SSM: Svc = Svc {
    source: "ssm.amazonaws.com",
    prefix: "ssm",
    host: Host::Regional("ssm"),
};
const SIGNIN: Svc = Svc {
    source: "signin.amazonaws.com",
    prefix: "signin",
    host: Host::Global("signin.aws.amazon.com"),
};
const CFN: Svc = Svc {
    source: "cloudformation.amazonaws.com",
    prefix: "cloudformation",
    host: Host::Regional("cloudformation"),
};

/// What is fixed about one API call's records.
#[derive(Debug)]
pub(crate) struct Meta {
    pub(crate) name: &'static str,
    pub(crate) svc: &'static Svc,
    pub(crate) version: &'static str,
    pub(crate) read_only: bool,
    /// Data event (`eventCategory: Data`, `managementEvent: false`).
    pub(crate) data: bool,
    pub(crate) event_type: &'static str,
    /// The AWS CLI command, appended to CLI user agents (`md/command#ec2.describe-instances`).
    pub(crate) cli: &'static str,
    /// The IAM action name when it differs from the event name.
    pub(crate) action: &'static str,
    pub(crate) api_version: Option<&'static str>,
}

const fn meta(name: &'static str, svc: &'static Svc, read_only: bool, cli: &'static str) -> Meta {
    Meta {
        name,
        svc,
        version: "1.08",
        read_only,
        data: false,
        event_type: "AwsApiCall",
        cli,
        action: name,
        api_version: None,
    }
}

const fn v9(m: Meta) -> Meta {
    Meta {
        version: "1.09",
        ..m
    }
}

const fn rds(m: Meta) -> Meta {
    Meta {
        api_version: Some("2014-10-31"),
        ..m
    }
}

const DESCRIBE_INSTANCES: Meta = meta("DescribeInstances", &EC2, true, "ec2.describe-instances");
const DESCRIBE_SGS: Meta = meta(
    "DescribeSecurityGroups",
    &EC2,
    true,
    "ec2.describe-security-groups",
);
const DESCRIBE_VOLUMES: Meta = meta("DescribeVolumes", &EC2, true, "ec2.describe-volumes");
const DESCRIBE_REGIONS: Meta = meta("DescribeRegions", &EC2, true, "ec2.describe-regions");
const GET_OBJECT: Meta = Meta {
    data: true,
    ..v9(meta("GetObject", &S3, true, "s3api.get-object"))
};
const PUT_OBJECT: Meta = Meta {
    data: true,
    ..v9(meta("PutObject", &S3, false, "s3api.put-object"))
};
const LIST_BUCKETS: Meta = v9(meta("ListBuckets", &S3, true, "s3api.list-buckets"));
const GET_BUCKET_ACL: Meta = v9(meta("GetBucketAcl", &S3, true, "s3api.get-bucket-acl"));
const ASSUME_ROLE: Meta = meta("AssumeRole", &STS, true, "sts.assume-role");
const GET_CALLER_IDENTITY: Meta = meta("GetCallerIdentity", &STS, true, "sts.get-caller-identity");
const DECRYPT: Meta = meta("Decrypt", &KMS, true, "kms.decrypt");
const GENERATE_DATA_KEY: Meta = meta("GenerateDataKey", &KMS, true, "kms.generate-data-key");
const LIST_KEYS: Meta = meta("ListKeys", &KMS, true, "kms.list-keys");
const LIST_ROLES: Meta = meta("ListRoles", &IAM, true, "iam.list-roles");
const GET_ROLE: Meta = meta("GetRole", &IAM, true, "iam.get-role");
const LIST_USERS: Meta = meta("ListUsers", &IAM, true, "iam.list-users");
const LIST_POLICIES: Meta = meta("ListPolicies", &IAM, true, "iam.list-policies");
const LIST_GROUPS: Meta = meta("ListGroups", &IAM, true, "iam.list-groups");
const GET_USER: Meta = meta("GetUser", &IAM, true, "iam.get-user");
const LIST_ACCESS_KEYS: Meta = meta("ListAccessKeys", &IAM, true, "iam.list-access-keys");
const GET_ACCOUNT_AUTH: Meta = meta(
    "GetAccountAuthorizationDetails",
    &IAM,
    true,
    "iam.get-account-authorization-details",
);
const LIST_ATTACHED_USER_POLICIES: Meta = meta(
    "ListAttachedUserPolicies",
    &IAM,
    true,
    "iam.list-attached-user-policies",
);
const LIST_FUNCTIONS: Meta = Meta {
    action: "ListFunctions",
    ..meta(
        "ListFunctions20150331",
        &LAMBDA,
        true,
        "lambda.list-functions",
    )
};
const CREATE_LOG_STREAM: Meta = meta("CreateLogStream", &LOGS, false, "logs.create-log-stream");
const DESCRIBE_LOG_GROUPS: Meta =
    meta("DescribeLogGroups", &LOGS, true, "logs.describe-log-groups");
const GET_TRAIL_STATUS: Meta = meta(
    "GetTrailStatus",
    &CLOUDTRAIL,
    true,
    "cloudtrail.get-trail-status",
);
const DESCRIBE_TRAILS: Meta = meta(
    "DescribeTrails",
    &CLOUDTRAIL,
    true,
    "cloudtrail.describe-trails",
);
const STOP_LOGGING: Meta = meta("StopLogging", &CLOUDTRAIL, false, "cloudtrail.stop-logging");
const START_LOGGING: Meta = meta(
    "StartLogging",
    &CLOUDTRAIL,
    false,
    "cloudtrail.start-logging",
);
const UPDATE_TRAIL: Meta = meta("UpdateTrail", &CLOUDTRAIL, false, "cloudtrail.update-trail");
const PUT_EVENT_SELECTORS: Meta = meta(
    "PutEventSelectors",
    &CLOUDTRAIL,
    false,
    "cloudtrail.put-event-selectors",
);
const DESCRIBE_ALARMS: Meta = meta(
    "DescribeAlarms",
    &MONITORING,
    true,
    "cloudwatch.describe-alarms",
);
const DESCRIBE_TABLE: Meta = meta("DescribeTable", &DYNAMODB, true, "dynamodb.describe-table");
const LIST_TABLES: Meta = meta("ListTables", &DYNAMODB, true, "dynamodb.list-tables");
const DESCRIBE_DB_INSTANCES: Meta = rds(meta(
    "DescribeDBInstances",
    &RDS,
    true,
    "rds.describe-db-instances",
));
const STOP_DB_INSTANCE: Meta = rds(meta("StopDBInstance", &RDS, false, "rds.stop-db-instance"));
const DELETE_DB_INSTANCE: Meta = rds(meta(
    "DeleteDBInstance",
    &RDS,
    false,
    "rds.delete-db-instance",
));
const GET_SECRET_VALUE: Meta = meta(
    "GetSecretValue",
    &SECRETS,
    true,
    "secretsmanager.get-secret-value",
);
const GET_PARAMETER: Meta = meta("GetParameter", &SSM, true, "ssm.get-parameter");
const CONSOLE_LOGIN: Meta = Meta {
    event_type: "AwsConsoleSignIn",
    ..v9(meta("ConsoleLogin", &SIGNIN, false, ""))
};
const CREATE_USER: Meta = meta("CreateUser", &IAM, false, "iam.create-user");
const CREATE_ACCESS_KEY: Meta = meta("CreateAccessKey", &IAM, false, "iam.create-access-key");
const ATTACH_ROLE_POLICY: Meta = meta("AttachRolePolicy", &IAM, false, "iam.attach-role-policy");
const PUT_ROLE_POLICY: Meta = meta("PutRolePolicy", &IAM, false, "iam.put-role-policy");
const RUN_INSTANCES: Meta = v9(meta("RunInstances", &EC2, false, "ec2.run-instances"));
const TERMINATE_INSTANCES: Meta =
    meta("TerminateInstances", &EC2, false, "ec2.terminate-instances");
const START_INSTANCES: Meta = meta("StartInstances", &EC2, false, "ec2.start-instances");
const STOP_INSTANCES: Meta = meta("StopInstances", &EC2, false, "ec2.stop-instances");
const CREATE_KEY_PAIR: Meta = meta("CreateKeyPair", &EC2, false, "ec2.create-key-pair");
const DELETE_KEY_PAIR: Meta = meta("DeleteKeyPair", &EC2, false, "ec2.delete-key-pair");
const IMPORT_KEY_PAIR: Meta = meta("ImportKeyPair", &EC2, false, "ec2.import-key-pair");
const CREATE_SG: Meta = meta(
    "CreateSecurityGroup",
    &EC2,
    false,
    "ec2.create-security-group",
);
const AUTHORIZE_SG_INGRESS: Meta = meta(
    "AuthorizeSecurityGroupIngress",
    &EC2,
    false,
    "ec2.authorize-security-group-ingress",
);
const REVOKE_SG_INGRESS: Meta = meta(
    "RevokeSecurityGroupIngress",
    &EC2,
    false,
    "ec2.revoke-security-group-ingress",
);
const DELETE_SG: Meta = meta(
    "DeleteSecurityGroup",
    &EC2,
    false,
    "ec2.delete-security-group",
);
const CREATE_NACL_ENTRY: Meta = meta(
    "CreateNetworkAclEntry",
    &EC2,
    false,
    "ec2.create-network-acl-entry",
);
const CREATE_STACK: Meta = meta("CreateStack", &CFN, false, "cloudformation.create-stack");

/// The randomly mixed templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum T {
    DescribeInstances,
    DescribeSecurityGroups,
    DescribeVolumes,
    DescribeRegions,
    GetObject,
    PutObject,
    ListBuckets,
    GetBucketAcl,
    AssumeRole,
    GetCallerIdentity,
    Decrypt,
    GenerateDataKey,
    ListRoles,
    GetRole,
    ListUsers,
    ListFunctions,
    CreateLogStream,
    DescribeLogGroups,
    GetTrailStatus,
    DescribeTrails,
    DescribeAlarms,
    DescribeTable,
    DescribeDbInstances,
    GetSecretValue,
    GetParameter,
    ConsoleLogin,
    CreateUser,
    CreateAccessKey,
    AttachRolePolicy,
    PutRolePolicy,
    RunInstances,
    TerminateInstances,
    StartInstances,
    StopInstances,
    CreateKeyPair,
    DeleteKeyPair,
    ImportKeyPair,
    CreateSecurityGroup,
    AuthorizeSecurityGroupIngress,
    RevokeSecurityGroupIngress,
    DeleteSecurityGroup,
    CreateNetworkAclEntry,
    StopDbInstance,
    DeleteDbInstance,
    UpdateTrail,
    PutEventSelectors,
    StartLogging,
    CreateStack,
}

/// The mix of a trail: (template, weight per 100,000 events, global service). Global services
/// (IAM, console sign-in) log in us-east-1 only. Mostly reads by roles and AWS services, as
/// real trails are; writes and security-relevant calls are rare.
pub(crate) const MIX: &[(T, u32, bool)] = &[
    (T::GetObject, 12_000, false),
    (T::AssumeRole, 9_000, false),
    (T::Decrypt, 9_000, false),
    (T::DescribeInstances, 6_000, false),
    (T::PutObject, 4_500, false),
    (T::GenerateDataKey, 4_500, false),
    (T::CreateLogStream, 3_000, false),
    (T::GetCallerIdentity, 2_500, false),
    (T::DescribeSecurityGroups, 2_200, false),
    (T::GetBucketAcl, 2_000, false),
    (T::GetSecretValue, 2_000, false),
    (T::GetParameter, 2_000, false),
    (T::GetRole, 1_500, true),
    (T::DescribeAlarms, 1_500, false),
    (T::DescribeTable, 1_500, false),
    (T::DescribeVolumes, 1_400, false),
    (T::ListRoles, 1_200, true),
    (T::DescribeDbInstances, 1_200, false),
    (T::ListFunctions, 1_100, false),
    (T::ListBuckets, 1_000, false),
    (T::DescribeLogGroups, 900, false),
    (T::DescribeRegions, 800, false),
    (T::ListUsers, 600, true),
    (T::GetTrailStatus, 600, false),
    (T::DescribeTrails, 500, false),
    (T::RunInstances, 200, false),
    (T::TerminateInstances, 150, false),
    (T::ConsoleLogin, 120, true),
    (T::StartInstances, 80, false),
    (T::StopInstances, 80, false),
    (T::AuthorizeSecurityGroupIngress, 45, false),
    (T::CreateSecurityGroup, 30, false),
    (T::AttachRolePolicy, 25, true),
    (T::PutRolePolicy, 25, true),
    (T::CreateStack, 25, false),
    (T::RevokeSecurityGroupIngress, 25, false),
    (T::DeleteSecurityGroup, 20, false),
    (T::CreateUser, 15, true),
    (T::CreateAccessKey, 15, true),
    (T::CreateKeyPair, 15, false),
    (T::DeleteKeyPair, 12, false),
    (T::CreateNetworkAclEntry, 12, false),
    (T::StopDbInstance, 10, false),
    (T::ImportKeyPair, 8, false),
    (T::DeleteDbInstance, 4, false),
    (T::UpdateTrail, 3, false),
    (T::PutEventSelectors, 3, false),
    (T::StartLogging, 3, false),
];

/// Who makes a call.
#[derive(Debug, Clone, Copy)]
enum Who {
    Sso,
    IamHuman,
    IamCi,
    Auto,
    /// Automation that changes things.
    Deploy,
    Lambda,
    Ec2,
    Config,
    Asg,
    Root,
    Fed,
    Svc(&'static str),
}

#[derive(Debug, Clone)]
enum Ip {
    Home(u8),
    Service,
    Text(String),
}

#[derive(Debug, Clone, Copy)]
enum Ua {
    Actor,
    /// Console-originated call: `AWS Internal`.
    Internal,
    /// Console-originated call: `console.amazonaws.com`.
    ConsoleHost,
    Browser,
    /// A fixed agent (the Lambda runtime writing its own logs).
    Fixed(&'static str),
}

/// The caller side of one record.
#[derive(Debug, Clone)]
struct Call {
    /// Event time, Unix seconds.
    t: i64,
    actor: u16,
    ip: Ip,
    ua: Ua,
    console: bool,
    err: Option<(&'static str, String)>,
}

/// Whose name the record carries in Event history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum User {
    Actor(u16),
    /// A failed console sign-in of an unknown user.
    Hidden,
}

/// What the unit driver needs to know about a record just written.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Written {
    pub(crate) name: &'static str,
    pub(crate) user: User,
    pub(crate) event_id: [u8; 36],
}

/// Story events, planted with fixed subjects.
#[derive(Debug, Clone)]
pub(crate) enum StoryEv {
    RootLoginNoMfa {
        ip: String,
    },
    SgOpen {
        actor: u16,
        group: String,
        rule: String,
    },
    SgRevoke {
        actor: u16,
        group: String,
    },
    StopLogging {
        actor: u16,
    },
    /// The attacker checks the stolen key first (succeeds; not part of the story's ids).
    ReconIdentity {
        ip: String,
    },
    Denied {
        ip: String,
        call: usize,
    },
    KeyForOther {
        caller: u16,
        target: u16,
    },
    BigStack {
        actor: u16,
        stack: String,
    },
}

/// Calls the recon burst cycles through; all answer `AccessDenied`.
const RECON: [&Meta; 13] = [
    &LIST_USERS,
    &LIST_ROLES,
    &LIST_POLICIES,
    &LIST_GROUPS,
    &GET_ACCOUNT_AUTH,
    &LIST_ACCESS_KEYS,
    &GET_USER,
    &LIST_ATTACHED_USER_POLICIES,
    &LIST_BUCKETS,
    &LIST_FUNCTIONS,
    &LIST_TABLES,
    &LIST_KEYS,
    &GET_SECRET_VALUE,
];

pub(crate) const RECON_LEN: usize = RECON.len();

/// A resource entry of `resources`.
struct Res<'x> {
    typ: &'static str,
    arn: &'x str,
    with_account: bool,
}

/// What goes after `readOnly`.
#[derive(Default)]
struct Tail<'x> {
    resources: &'x [Res<'x>],
    host: Option<&'x str>,
    shared: bool,
    vpce: bool,
}

/// Writes records for one account in one region.
pub(crate) struct Gen<'a> {
    pub(crate) j: Json,
    rng: Rng,
    acct: &'a Account,
    place: &'a Place,
    /// Cumulative weights of [`MIX`] for this region.
    cum: Vec<u64>,
    req_id: String,
    event_id: [u8; 36],
}

impl<'a> Gen<'a> {
    pub(crate) fn new(rng: Rng, acct: &'a Account, place: &'a Place, home: bool) -> Self {
        let mut total = 0u64;
        let cum = MIX
            .iter()
            .map(|&(_, w, global)| {
                if home || !global {
                    total += u64::from(w);
                }
                total
            })
            .collect();
        Gen {
            j: Json::new(),
            rng,
            acct,
            place,
            cum,
            req_id: String::with_capacity(36),
            event_id: [b'0'; 36],
        }
    }

    // ---- choosing the caller -------------------------------------------------------------

    fn actor_for(&mut self, who: Who) -> u16 {
        let p = &self.acct.pools;
        match who {
            Who::Sso => *self.rng.pick(&p.sso),
            Who::IamHuman => *self.rng.pick(&p.iam_human),
            Who::IamCi => *self.rng.pick(&p.iam_ci),
            Who::Auto => *self.rng.pick(&p.auto),
            Who::Deploy => *self.rng.pick(&p.deploy),
            Who::Lambda => *self.rng.pick(&p.lambda),
            Who::Ec2 => *self.rng.pick(&p.ec2),
            Who::Config => p.config,
            Who::Asg => p.asg,
            Who::Root => p.root,
            Who::Fed => p.fed,
            Who::Svc(s) => self.acct.service(s),
        }
    }

    fn call(&mut self, t_ms: i64, who: &[(Who, u32)]) -> Call {
        let w = self.rng.weighted(who);
        let actor = self.actor_for(w);
        self.call_as(t_ms, actor)
    }

    fn call_as(&mut self, t_ms: i64, actor: u16) -> Call {
        let a = &self.acct.actors[actor as usize];
        let (ip, ua, console) = if a.kind == Kind::Service || !a.invoked_by.is_empty() {
            (Ip::Service, Ua::Actor, false)
        } else {
            let ip = Ip::Home(self.rng.index(a.ips.len()) as u8);
            if a.human && a.kind != Kind::Federated && self.rng.percent(35) {
                let ua = match self.rng.below(100) {
                    0..=59 => Ua::Internal,
                    60..=79 => Ua::ConsoleHost,
                    _ => Ua::Browser,
                };
                (ip, ua, true)
            } else {
                (ip, Ua::Actor, false)
            }
        };
        Call {
            t: t_ms.div_euclid(1000),
            actor,
            ip,
            ua,
            console,
            err: None,
        }
    }

    /// A story's call: the principal's own tool, from its first address.
    fn story_call(&mut self, t_ms: i64, actor: u16) -> Call {
        let mut c = self.call_as(t_ms, actor);
        c.ip = Ip::Home(0);
        c.ua = Ua::Actor;
        c.console = false;
        c
    }

    /// With probability `permille`/1000, the call is denied.
    fn maybe_denied(&mut self, c: &mut Call, m: &Meta, permille: u64) {
        if self.rng.below(1000) < permille {
            self.deny(c, m);
        }
    }

    fn deny(&self, c: &mut Call, m: &Meta) {
        let a = &self.acct.actors[c.actor as usize];
        if a.kind == Kind::Service {
            return;
        }
        let p = m.svc.prefix;
        let act = m.action;
        c.err = Some(match p {
            "ec2" => (
                "Client.UnauthorizedOperation",
                format!(
                    "You are not authorized to perform this operation. User: {} is not \
                     authorized to perform: {p}:{act} because no identity-based policy allows \
                     the {p}:{act} action",
                    a.arn
                ),
            ),
            "s3" => ("AccessDenied", "Access Denied".to_string()),
            _ => (
                "AccessDenied",
                format!(
                    "User: {} is not authorized to perform: {p}:{act} because no \
                     identity-based policy allows the {p}:{act} action",
                    a.arn
                ),
            ),
        });
    }

    /// With probability `permille`/1000, the call fails with `code`/`msg`.
    fn maybe_fail(&mut self, c: &mut Call, permille: u64, code: &'static str, msg: &str) {
        if c.err.is_none() && self.rng.below(1000) < permille {
            c.err = Some((code, msg.to_string()));
        }
    }

    // ---- the common parts of a record ----------------------------------------------------

    fn temp_key(&self, actor: u16, t: i64) -> String {
        let a = &self.acct.actors[actor as usize];
        let mut r = Rng::new(session_key(a.key_seed, t.div_euclid(3600)));
        r.id("ASIA", UPPER_ALNUM, 16)
    }

    fn session_attributes(&mut self, t: i64, mfa: bool) {
        let j = &mut self.j;
        j.kobj("attributes");
        j.key("creationDate");
        j.ascii(&clock::rfc3339(t.div_euclid(3600) * 3600));
        j.ks("mfaAuthenticated", if mfa { "true" } else { "false" });
        j.end_obj();
    }

    fn identity(&mut self, c: &Call) {
        let acct = self.acct;
        let a = &acct.actors[c.actor as usize];
        match a.kind {
            Kind::IamUser => {
                self.j.obj();
                self.j.ks("type", "IAMUser");
                self.j.ks("principalId", &a.unique_id);
                self.j.ks("arn", &a.arn);
                self.j.ks("accountId", &acct.id);
                if c.console {
                    let k = self.temp_key(c.actor, c.t);
                    self.j.ks("accessKeyId", &k);
                } else {
                    self.j.ks("accessKeyId", &a.access_key);
                }
                self.j.ks("userName", &a.name);
                if c.console {
                    self.j.kobj("sessionContext");
                    self.j.kempty("sessionIssuer");
                    self.j.kempty("webIdFederationData");
                    self.session_attributes(c.t, a.mfa);
                    self.j.end_obj();
                }
                self.j.end_obj();
            }
            Kind::Role => {
                let k = self.temp_key(c.actor, c.t);
                let j = &mut self.j;
                j.obj();
                j.ks("type", "AssumedRole");
                j.kss("principalId", &[&a.unique_id, ":", &a.session]);
                j.ks("arn", &a.arn);
                j.ks("accountId", &acct.id);
                j.ks("accessKeyId", &k);
                j.kobj("sessionContext");
                j.kobj("sessionIssuer");
                j.ks("type", "Role");
                j.ks("principalId", &a.unique_id);
                j.ks("arn", &a.issuer_arn);
                j.ks("accountId", &acct.id);
                j.ks("userName", &a.issuer_name);
                j.end_obj();
                j.kempty("webIdFederationData");
                self.session_attributes(c.t, false);
                self.j.end_obj();
                if !a.invoked_by.is_empty() {
                    self.j.ks("invokedBy", a.invoked_by);
                }
                self.j.end_obj();
            }
            Kind::Root => {
                let k = self.temp_key(c.actor, c.t);
                let j = &mut self.j;
                j.obj();
                j.ks("type", "Root");
                j.ks("principalId", &acct.id);
                j.ks("arn", &a.arn);
                j.ks("accountId", &acct.id);
                j.ks("accessKeyId", &k);
                j.kobj("sessionContext");
                j.kempty("sessionIssuer");
                j.kempty("webIdFederationData");
                self.session_attributes(c.t, true);
                self.j.end_obj();
                self.j.end_obj();
            }
            Kind::Service => {
                self.j.obj();
                self.j.ks("type", "AWSService");
                self.j.ks("invokedBy", a.invoked_by);
                self.j.end_obj();
            }
            Kind::Federated => {
                let k = self.temp_key(c.actor, c.t);
                let j = &mut self.j;
                j.obj();
                j.ks("type", "FederatedUser");
                j.ks("principalId", &a.unique_id);
                j.ks("arn", &a.arn);
                j.ks("accountId", &acct.id);
                j.ks("accessKeyId", &k);
                j.kobj("sessionContext");
                j.kobj("sessionIssuer");
                j.ks("type", "IAMUser");
                j.ks("principalId", &a.issuer_id);
                j.ks("arn", &a.issuer_arn);
                j.ks("accountId", &acct.id);
                j.ks("userName", &a.issuer_name);
                j.end_obj();
                j.kempty("webIdFederationData");
                self.session_attributes(c.t, false);
                self.j.end_obj();
                self.j.end_obj();
            }
        }
    }

    fn new_request_id(&mut self, m: &Meta) {
        self.req_id.clear();
        if matches!(m.svc.host, Host::S3) {
            self.rng.push_chars(&mut self.req_id, UPPER_ALNUM, 16);
        } else {
            let u = self.rng.uuid();
            self.req_id
                .push_str(std::str::from_utf8(&u).unwrap_or_default());
        }
    }

    /// From `{` to `userAgent` (and the error fields).
    fn head(&mut self, m: &Meta, c: &Call) {
        self.new_request_id(m);
        let acct = self.acct;
        let a = &acct.actors[c.actor as usize];
        self.j.obj();
        self.j.ks("eventVersion", m.version);
        self.j.key("userIdentity");
        self.identity(c);
        let j = &mut self.j;
        j.key("eventTime");
        j.ascii(&clock::rfc3339(c.t));
        j.ks("eventSource", m.svc.source);
        j.ks("eventName", m.name);
        j.ks("awsRegion", self.place.region);
        match &c.ip {
            Ip::Home(i) => j.ks("sourceIPAddress", &a.ips[usize::from(*i)]),
            Ip::Service => j.ks(
                "sourceIPAddress",
                if a.invoked_by.is_empty() {
                    &a.name
                } else {
                    a.invoked_by
                },
            ),
            Ip::Text(s) => j.ks("sourceIPAddress", s),
        }
        match c.ua {
            Ua::Actor if a.ua_cmd => j.kss("userAgent", &[&a.ua, m.cli]),
            Ua::Actor => j.ks("userAgent", &a.ua),
            Ua::Internal => j.ks("userAgent", "AWS Internal"),
            Ua::ConsoleHost => j.ks("userAgent", "console.amazonaws.com"),
            Ua::Browser => j.ks("userAgent", a.browser),
            Ua::Fixed(s) => j.ks("userAgent", s),
        }
        if let Some((code, msg)) = &c.err {
            j.ks("errorCode", code);
            j.ks("errorMessage", msg);
        }
    }

    /// `requestID`, `eventID`, `readOnly`.
    fn tail1(&mut self, m: &Meta) {
        self.event_id = self.rng.uuid();
        let j = &mut self.j;
        j.ks("requestID", &self.req_id);
        j.key("eventID");
        j.ascii(&self.event_id);
        j.kb("readOnly", m.read_only);
    }

    fn resources(&mut self, res: &[Res<'_>]) {
        if res.is_empty() {
            return;
        }
        let j = &mut self.j;
        j.karr("resources");
        for r in res {
            j.obj();
            if r.with_account {
                j.ks("accountId", &self.acct.id);
            }
            j.ks("type", r.typ);
            j.ks("ARN", r.arn);
            j.end_obj();
        }
        j.end_arr();
    }

    /// From `eventType` to the closing `}`.
    fn tail2(&mut self, m: &Meta, c: &Call, tail: &Tail<'_>) {
        let j = &mut self.j;
        j.ks("eventType", m.event_type);
        if let Some(v) = m.api_version {
            j.ks("apiVersion", v);
        }
        j.kb("managementEvent", !m.data);
        j.ks("recipientAccountId", &self.acct.id);
        if tail.shared {
            let u = self.rng.uuid();
            j.key("sharedEventID");
            j.ascii(&u);
        }
        if tail.vpce {
            j.ks("vpcEndpointId", &self.place.vpce);
        }
        j.ks("eventCategory", if m.data { "Data" } else { "Management" });
        if !matches!(c.ip, Ip::Service) {
            let (v, suite) = if self.rng.percent(85) {
                ("TLSv1.3", "TLS_AES_128_GCM_SHA256")
            } else {
                ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256")
            };
            j.kobj("tlsDetails");
            j.ks("tlsVersion", v);
            j.ks("cipherSuite", suite);
            match (tail.host, m.svc.host) {
                (Some(h), _) | (None, Host::Global(h)) => j.ks("clientProvidedHostHeader", h),
                (None, Host::Regional(p)) => j.kss(
                    "clientProvidedHostHeader",
                    &[p, ".", self.place.region, ".amazonaws.com"],
                ),
                (None, Host::S3) => j.kss(
                    "clientProvidedHostHeader",
                    &["s3.", self.place.region, ".amazonaws.com"],
                ),
            }
            j.end_obj();
        }
        if c.console {
            j.ks("sessionCredentialFromConsole", "true");
        }
        j.end_obj();
    }

    fn written(&self, m: &Meta, c: &Call) -> Written {
        Written {
            name: m.name,
            user: User::Actor(c.actor),
            event_id: self.event_id,
        }
    }

    /// A whole record whose request is written by `req` and whose response (unless the call
    /// failed) by `resp`; `None` writes `null`.
    fn emit(
        &mut self,
        m: &Meta,
        c: &Call,
        req: Option<&dyn Fn(&mut Json)>,
        resp: Option<&dyn Fn(&mut Json)>,
        tail: &Tail<'_>,
    ) -> Written {
        self.head(m, c);
        self.j.key("requestParameters");
        match req {
            Some(f) => f(&mut self.j),
            None => self.j.null(),
        }
        self.j.key("responseElements");
        match resp {
            Some(f) if c.err.is_none() => f(&mut self.j),
            _ => self.j.null(),
        }
        self.tail1(m);
        self.resources(tail.resources);
        self.tail2(m, c, tail);
        self.written(m, c)
    }

    // ---- random records --------------------------------------------------------------------

    /// Writes one record of the mix at `t_ms`.
    pub(crate) fn random(&mut self, t_ms: i64) -> Written {
        let total = *self.cum.last().unwrap_or(&1);
        let r = self.rng.below(total);
        let i = self.cum.partition_point(|&c| c <= r);
        match MIX[i.min(MIX.len() - 1)].0 {
            T::DescribeInstances => self.describe_instances(t_ms),
            T::DescribeSecurityGroups => self.describe_sgs(t_ms),
            T::DescribeVolumes => self.describe_volumes(t_ms),
            T::DescribeRegions => self.describe_regions(t_ms),
            T::GetObject => self.s3_object(t_ms, false),
            T::PutObject => self.s3_object(t_ms, true),
            T::ListBuckets => self.list_buckets(t_ms),
            T::GetBucketAcl => self.get_bucket_acl(t_ms),
            T::AssumeRole => self.assume_role(t_ms),
            T::GetCallerIdentity => self.get_caller_identity(t_ms),
            T::Decrypt => self.kms(t_ms, false),
            T::GenerateDataKey => self.kms(t_ms, true),
            T::ListRoles => self.iam_list(t_ms, &LIST_ROLES),
            T::GetRole => self.get_role(t_ms),
            T::ListUsers => self.iam_list(t_ms, &LIST_USERS),
            T::ListFunctions => self.list_functions(t_ms),
            T::CreateLogStream => self.create_log_stream(t_ms),
            T::DescribeLogGroups => self.describe_log_groups(t_ms),
            T::GetTrailStatus => self.get_trail_status(t_ms),
            T::DescribeTrails => self.describe_trails(t_ms),
            T::DescribeAlarms => self.describe_alarms(t_ms),
            T::DescribeTable => self.describe_table(t_ms),
            T::DescribeDbInstances => self.describe_db_instances(t_ms),
            T::GetSecretValue => self.get_secret_value(t_ms),
            T::GetParameter => self.get_parameter(t_ms),
            T::ConsoleLogin => self.console_login_random(t_ms),
            T::CreateUser => self.create_user(t_ms),
            T::CreateAccessKey => self.create_access_key_random(t_ms),
            T::AttachRolePolicy => self.attach_role_policy(t_ms),
            T::PutRolePolicy => self.put_role_policy(t_ms),
            T::RunInstances => self.run_instances(t_ms),
            T::TerminateInstances => self.instance_state(t_ms, &TERMINATE_INSTANCES),
            T::StartInstances => self.instance_state(t_ms, &START_INSTANCES),
            T::StopInstances => self.instance_state(t_ms, &STOP_INSTANCES),
            T::CreateKeyPair => self.create_key_pair(t_ms),
            T::DeleteKeyPair => self.delete_key_pair(t_ms),
            T::ImportKeyPair => self.import_key_pair(t_ms),
            T::CreateSecurityGroup => self.create_sg(t_ms),
            T::AuthorizeSecurityGroupIngress => self.authorize_random(t_ms),
            T::RevokeSecurityGroupIngress => self.revoke_random(t_ms),
            T::DeleteSecurityGroup => self.delete_sg(t_ms),
            T::CreateNetworkAclEntry => self.create_nacl_entry(t_ms),
            T::StopDbInstance => self.db_change(t_ms, false),
            T::DeleteDbInstance => self.db_change(t_ms, true),
            T::UpdateTrail => self.update_trail(t_ms),
            T::PutEventSelectors => self.put_event_selectors(t_ms),
            T::StartLogging => {
                let c = self.call(t_ms, &[(Who::Deploy, 60), (Who::Sso, 40)]);
                self.logging(&START_LOGGING, c)
            }
            T::CreateStack => {
                let c = self.call(t_ms, &[(Who::Deploy, 70), (Who::Sso, 30)]);
                let stack = format!(
                    "{}-{}",
                    self.rng.pick(&[
                        "network",
                        "data-pipeline",
                        "web-app",
                        "monitoring",
                        "eks-cluster"
                    ]),
                    self.rng.pick(&["prod", "staging", "dev"])
                );
                self.create_stack(c, &stack)
            }
        }
    }

    /// Writes a planted story record.
    pub(crate) fn story(&mut self, t_ms: i64, ev: &StoryEv) -> Written {
        match ev {
            StoryEv::RootLoginNoMfa { ip } => {
                let c = self.call_as(t_ms, self.acct.pools.root);
                self.console_login(c, Login::Root { mfa: false }, Some(ip))
            }
            StoryEv::SgOpen { actor, group, rule } => {
                let c = self.story_call(t_ms, *actor);
                self.authorize(c, group, 22, "0.0.0.0/0", Some(rule))
            }
            StoryEv::SgRevoke { actor, group } => {
                let c = self.story_call(t_ms, *actor);
                self.revoke(c, group, 22, "0.0.0.0/0")
            }
            StoryEv::StopLogging { actor } => {
                let c = self.story_call(t_ms, *actor);
                self.logging(&STOP_LOGGING, c)
            }
            StoryEv::ReconIdentity { ip } => {
                let mut c = self.call_as(t_ms, self.acct.pools.leaked);
                c.ip = Ip::Text(ip.clone());
                self.emit(&GET_CALLER_IDENTITY, &c, None, None, &Tail::default())
            }
            StoryEv::Denied { ip, call } => {
                let m = RECON[*call % RECON.len()];
                let mut c = self.call_as(t_ms, self.acct.pools.leaked);
                c.ip = Ip::Text(ip.clone());
                self.deny(&mut c, m);
                if let Some(e) = &mut c.err {
                    e.0 = "AccessDenied";
                }
                self.recon_call(m, c)
            }
            StoryEv::KeyForOther { caller, target } => {
                let c = self.story_call(t_ms, *caller);
                let name = self.acct.actors[*target as usize].name.clone();
                self.create_access_key(c, &name)
            }
            StoryEv::BigStack { actor, stack } => {
                let c = self.call_as(t_ms, *actor);
                self.create_stack(c, stack)
            }
        }
    }

    // ---- EC2 ---------------------------------------------------------------------------------

    const EC2_READERS: &'static [(Who, u32)] = &[
        (Who::Auto, 35),
        (Who::Sso, 20),
        (Who::Config, 15),
        (Who::Lambda, 10),
        (Who::Ec2, 10),
        (Who::IamCi, 10),
    ];
    const EC2_WRITERS: &'static [(Who, u32)] =
        &[(Who::Deploy, 50), (Who::Sso, 35), (Who::IamHuman, 15)];

    fn ec2_read_errors(&mut self, c: &mut Call, m: &Meta) {
        self.maybe_denied(c, m, 8);
        self.maybe_fail(
            c,
            3,
            "Client.RequestLimitExceeded",
            "Request limit exceeded.",
        );
    }

    fn filter(j: &mut Json, name: &str, value: &str) {
        j.kobj("filterSet");
        j.karr("items");
        j.obj();
        j.ks("name", name);
        j.kobj("valueSet");
        j.karr("items");
        j.obj();
        j.ks("value", value);
        j.end_obj();
        j.end_arr();
        j.end_obj();
        j.end_obj();
        j.end_arr();
        j.end_obj();
    }

    fn id_set(j: &mut Json, set: &str, field: &str, ids: &[&str]) {
        j.kobj(set);
        j.karr("items");
        for id in ids {
            j.obj();
            j.ks(field, id);
            j.end_obj();
        }
        j.end_arr();
        j.end_obj();
    }

    fn describe_instances(&mut self, t: i64) -> Written {
        let mut c = self.call(t, Self::EC2_READERS);
        self.ec2_read_errors(&mut c, &DESCRIBE_INSTANCES);
        let place = self.place;
        let kind = self.rng.below(10);
        let inst = self.rng.pick(&place.instances).as_str();
        let name = *self
            .rng
            .pick(&["web-*", "batch-*", "bastion", "eks-node-*", "api-*"]);
        let req = move |j: &mut Json| {
            j.obj();
            match kind {
                0..=4 => {
                    Self::id_set(j, "instancesSet", "instanceId", &[inst]);
                    j.kempty("filterSet");
                }
                5..=7 => {
                    j.kempty("instancesSet");
                    Self::filter(j, "tag:Name", name);
                }
                _ => {
                    j.kn("maxResults", 1000);
                    j.kempty("instancesSet");
                    j.kempty("filterSet");
                }
            }
            j.end_obj();
        };
        self.emit(&DESCRIBE_INSTANCES, &c, Some(&req), None, &Tail::default())
    }

    fn describe_sgs(&mut self, t: i64) -> Written {
        let mut c = self.call(t, Self::EC2_READERS);
        self.ec2_read_errors(&mut c, &DESCRIBE_SGS);
        let place = self.place;
        let by_id = self.rng.percent(60);
        let sg = self.rng.pick(&place.sgs).as_str();
        let req = move |j: &mut Json| {
            j.obj();
            j.kempty("securityGroupSet");
            if by_id {
                Self::id_set(j, "securityGroupIdSet", "groupId", &[sg]);
                j.kempty("filterSet");
            } else {
                j.kempty("securityGroupIdSet");
                Self::filter(j, "vpc-id", &place.vpc);
            }
            j.end_obj();
        };
        self.emit(&DESCRIBE_SGS, &c, Some(&req), None, &Tail::default())
    }

    fn describe_volumes(&mut self, t: i64) -> Written {
        let mut c = self.call(t, Self::EC2_READERS);
        self.ec2_read_errors(&mut c, &DESCRIBE_VOLUMES);
        let place = self.place;
        let by_id = self.rng.percent(50);
        let vol = self.rng.pick(&place.volumes).as_str();
        let inst = self.rng.pick(&place.instances).as_str();
        let req = move |j: &mut Json| {
            j.obj();
            if by_id {
                Self::id_set(j, "volumeSet", "volumeId", &[vol]);
                j.kempty("filterSet");
            } else {
                j.kempty("volumeSet");
                Self::filter(j, "attachment.instance-id", inst);
            }
            j.end_obj();
        };
        self.emit(&DESCRIBE_VOLUMES, &c, Some(&req), None, &Tail::default())
    }

    fn describe_regions(&mut self, t: i64) -> Written {
        let mut c = self.call(t, &[(Who::Auto, 50), (Who::Sso, 30), (Who::IamCi, 20)]);
        self.ec2_read_errors(&mut c, &DESCRIBE_REGIONS);
        let all = self.rng.percent(30);
        let req = move |j: &mut Json| {
            j.obj();
            j.kempty("regionSet");
            if all {
                j.kb("allRegions", true);
            }
            j.end_obj();
        };
        self.emit(&DESCRIBE_REGIONS, &c, Some(&req), None, &Tail::default())
    }

    fn run_instances(&mut self, t: i64) -> Written {
        let mut c = self.call(t, &[(Who::Asg, 40), (Who::Deploy, 40), (Who::Sso, 20)]);
        self.maybe_denied(&mut c, &RUN_INSTANCES, 15);
        self.maybe_fail(
            &mut c,
            10,
            "Server.InsufficientInstanceCapacity",
            "We currently do not have sufficient capacity in the Availability Zone you requested.",
        );
        let place = self.place;
        let acct = self.acct;
        let rng = &mut self.rng;
        let ami = rng.pick(&place.amis).clone();
        let count = if rng.percent(80) { 1 } else { rng.range(2, 4) };
        let itype = *rng.pick(&[
            "t3.micro",
            "t3.medium",
            "m6i.large",
            "c6g.xlarge",
            "r6i.2xlarge",
            "t4g.small",
        ]);
        let key = rng.pick(&place.key_pairs).clone();
        let subnet = rng.pick(&place.subnets).clone();
        let sg = rng.pick(&place.sgs).clone();
        let name = format!(
            "{}-{}",
            rng.pick(&["web", "api", "batch", "worker", "etl"]),
            rng.range(1, 40)
        );
        let token = rng.uuid_string();
        let reservation = rng.id("r-0", HEX, 16);
        let az = format!("{}{}", place.region, rng.pick(&["a", "b", "c"]));
        let launch_ms = c.t * 1000;
        struct Inst {
            id: String,
            ip: String,
            eni: String,
            attach: String,
            mac: String,
        }
        let insts: Vec<Inst> = (0..count)
            .map(|_| Inst {
                id: rng.id("i-0", HEX, 16),
                ip: format!("10.0.{}.{}", rng.below(64), rng.range(4, 250)),
                eni: rng.id("eni-0", HEX, 16),
                attach: rng.id("eni-attach-0", HEX, 16),
                mac: format!(
                    "0e:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                    rng.below(256),
                    rng.below(256),
                    rng.below(256),
                    rng.below(256),
                    rng.below(256)
                ),
            })
            .collect();
        let dns_suffix = if place.region == "us-east-1" {
            "ec2.internal".to_string()
        } else {
            format!("{}.compute.internal", place.region)
        };
        let req_id = self.req_id_preview();
        let sg_name = format!("{}-sg", name.split('-').next().unwrap_or("app"));
        let from_asg = acct.actors[c.actor as usize].invoked_by == "autoscaling.amazonaws.com";
        let req = |j: &mut Json| {
            j.obj();
            j.kobj("instancesSet");
            j.karr("items");
            j.obj();
            j.ks("imageId", &ami);
            j.kn("minCount", count as i64);
            j.kn("maxCount", count as i64);
            j.ks("keyName", &key);
            j.end_obj();
            j.end_arr();
            j.end_obj();
            j.ks("instanceType", itype);
            j.kempty("blockDeviceMapping");
            j.kobj("monitoring");
            j.kb("enabled", false);
            j.end_obj();
            j.kb("disableApiTermination", false);
            j.kb("disableApiStop", false);
            j.ks("clientToken", &token);
            j.ks("subnetId", &subnet);
            Self::id_set(j, "groupSet", "groupId", &[&sg]);
            j.kobj("tagSpecificationSet");
            j.karr("items");
            j.obj();
            j.ks("resourceType", "instance");
            j.karr("tags");
            j.obj();
            j.ks("key", "Name");
            j.ks("value", &name);
            j.end_obj();
            j.end_arr();
            j.end_obj();
            j.end_arr();
            j.end_obj();
            j.end_obj();
        };
        let resp = |j: &mut Json| {
            j.obj();
            j.ks("requestId", &req_id);
            j.ks("reservationId", &reservation);
            j.ks("ownerId", &acct.id);
            if from_asg {
                j.ks("requesterId", "940372691376");
            }
            j.kempty("groupSet");
            j.kobj("instancesSet");
            j.karr("items");
            for (n, inst) in insts.iter().enumerate() {
                let dns = format!("ip-{}.{}", inst.ip.replace('.', "-"), dns_suffix);
                j.obj();
                j.ks("instanceId", &inst.id);
                j.ks("imageId", &ami);
                j.ks("currentInstanceBootMode", "legacy-bios");
                j.kobj("instanceState");
                j.kn("code", 0);
                j.ks("name", "pending");
                j.end_obj();
                j.ks("privateDnsName", &dns);
                j.ks("keyName", &key);
                j.kn("amiLaunchIndex", n as i64);
                j.kempty("productCodes");
                j.ks("instanceType", itype);
                j.kn("launchTime", launch_ms);
                j.kobj("placement");
                j.ks("availabilityZone", &az);
                j.ks("tenancy", "default");
                j.end_obj();
                j.kobj("monitoring");
                j.ks("state", "disabled");
                j.end_obj();
                j.ks("subnetId", &subnet);
                j.ks("vpcId", &place.vpc);
                j.ks("privateIpAddress", &inst.ip);
                j.kobj("stateReason");
                j.ks("code", "pending");
                j.ks("message", "pending");
                j.end_obj();
                j.ks(
                    "architecture",
                    if itype.contains('g') {
                        "arm64"
                    } else {
                        "x86_64"
                    },
                );
                j.ks("rootDeviceType", "ebs");
                j.ks("rootDeviceName", "/dev/xvda");
                j.kempty("blockDeviceMapping");
                j.ks("virtualizationType", "hvm");
                j.ks("hypervisor", "xen");
                j.kobj("tagSet");
                j.karr("items");
                j.obj();
                j.ks("key", "Name");
                j.ks("value", &name);
                j.end_obj();
                j.end_arr();
                j.end_obj();
                j.kobj("groupSet");
                j.karr("items");
                j.obj();
                j.ks("groupId", &sg);
                j.ks("groupName", &sg_name);
                j.end_obj();
                j.end_arr();
                j.end_obj();
                j.kb("sourceDestCheck", true);
                j.kobj("networkInterfaceSet");
                j.karr("items");
                j.obj();
                j.ks("networkInterfaceId", &inst.eni);
                j.ks("subnetId", &subnet);
                j.ks("vpcId", &place.vpc);
                j.ks("ownerId", &acct.id);
                j.ks("status", "in-use");
                j.ks("macAddress", &inst.mac);
                j.ks("privateIpAddress", &inst.ip);
                j.ks("privateDnsName", &dns);
                j.kb("sourceDestCheck", true);
                j.ks("interfaceType", "interface");
                j.kobj("groupSet");
                j.karr("items");
                j.obj();
                j.ks("groupId", &sg);
                j.ks("groupName", &sg_name);
                j.end_obj();
                j.end_arr();
                j.end_obj();
                j.kobj("attachment");
                j.ks("attachmentId", &inst.attach);
                j.kn("deviceIndex", 0);
                j.kn("networkCardIndex", 0);
                j.ks("status", "attaching");
                j.kn("attachTime", launch_ms);
                j.kb("deleteOnTermination", true);
                j.end_obj();
                j.kobj("privateIpAddressesSet");
                j.karr("item");
                j.obj();
                j.ks("privateIpAddress", &inst.ip);
                j.ks("privateDnsName", &dns);
                j.kb("primary", true);
                j.end_obj();
                j.end_arr();
                j.end_obj();
                j.kempty("ipv6AddressesSet");
                j.kempty("tagSet");
                j.end_obj();
                j.end_arr();
                j.end_obj();
                j.kb("ebsOptimized", false);
                j.kb("enaSupport", true);
                j.kobj("cpuOptions");
                j.kn("coreCount", 1);
                j.kn("threadsPerCore", 2);
                j.end_obj();
                j.kobj("capacityReservationSpecification");
                j.ks("capacityReservationPreference", "open");
                j.end_obj();
                j.kobj("enclaveOptions");
                j.kb("enabled", false);
                j.end_obj();
                j.kobj("metadataOptions");
                j.ks("state", "pending");
                j.ks("httpTokens", "required");
                j.kn("httpPutResponseHopLimit", 2);
                j.ks("httpEndpoint", "enabled");
                j.ks("httpProtocolIpv4", "enabled");
                j.ks("httpProtocolIpv6", "disabled");
                j.ks("instanceMetadataTags", "disabled");
                j.end_obj();
                j.kobj("maintenanceOptions");
                j.ks("autoRecovery", "default");
                j.end_obj();
                j.kobj("privateDnsNameOptions");
                j.ks("hostnameType", "ip-name");
                j.kb("enableResourceNameDnsARecord", false);
                j.kb("enableResourceNameDnsAAAARecord", false);
                j.end_obj();
                j.end_obj();
            }
            j.end_arr();
            j.end_obj();
            j.end_obj();
        };
        self.emit_keep_id(
            &RUN_INSTANCES,
            &c,
            Some(&req),
            Some(&resp),
            &Tail::default(),
        )
    }

    /// Draws the request id the next record will carry, so a response can repeat it.
    fn req_id_preview(&mut self) -> String {
        let u = self.rng.uuid();
        let s = String::from_utf8_lossy(&u).into_owned();
        self.req_id.clear();
        self.req_id.push_str(&s);
        s
    }

    /// [`Gen::emit`] keeping the request id drawn by [`Gen::req_id_preview`].
    fn emit_keep_id(
        &mut self,
        m: &Meta,
        c: &Call,
        req: Option<&dyn Fn(&mut Json)>,
        resp: Option<&dyn Fn(&mut Json)>,
        tail: &Tail<'_>,
    ) -> Written {
        let keep = std::mem::take(&mut self.req_id);
        self.head(m, c);
        self.req_id = keep;
        self.j.key("requestParameters");
        match req {
            Some(f) => f(&mut self.j),
            None => self.j.null(),
        }
        self.j.key("responseElements");
        match resp {
            Some(f) if c.err.is_none() => f(&mut self.j),
            _ => self.j.null(),
        }
        self.tail1(m);
        self.resources(tail.resources);
        self.tail2(m, c, tail);
        self.written(m, c)
    }

    fn instance_state(&mut self, t: i64, m: &'static Meta) -> Written {
        let mut c = self.call(t, &[(Who::Asg, 30), (Who::Deploy, 40), (Who::Sso, 30)]);
        self.maybe_denied(&mut c, m, 15);
        let place = self.place;
        let n = if self.rng.percent(85) { 1 } else { 2 };
        let ids: Vec<&str> = (0..n)
            .map(|_| self.rng.pick(&place.instances).as_str())
            .collect();
        let ((c0, n0), (c1, n1)) = match m.name {
            "TerminateInstances" => ((32, "shutting-down"), (16, "running")),
            "StartInstances" => ((0, "pending"), (80, "stopped")),
            _ => ((64, "stopping"), (16, "running")),
        };
        let req_id = self.req_id_preview();
        let req = |j: &mut Json| {
            j.obj();
            Self::id_set(j, "instancesSet", "instanceId", &ids);
            if m.name == "StopInstances" {
                j.kb("force", false);
            }
            j.end_obj();
        };
        let resp = |j: &mut Json| {
            j.obj();
            j.ks("requestId", &req_id);
            j.kobj("instancesSet");
            j.karr("items");
            for id in &ids {
                j.obj();
                j.ks("instanceId", id);
                j.kobj("currentState");
                j.kn("code", c0);
                j.ks("name", n0);
                j.end_obj();
                j.kobj("previousState");
                j.kn("code", c1);
                j.ks("name", n1);
                j.end_obj();
                j.end_obj();
            }
            j.end_arr();
            j.end_obj();
            j.end_obj();
        };
        self.emit_keep_id(m, &c, Some(&req), Some(&resp), &Tail::default())
    }

    fn fingerprint(&mut self) -> String {
        let mut s = String::with_capacity(59);
        for i in 0..20 {
            if i > 0 {
                s.push(':');
            }
            self.rng.push_chars(&mut s, HEX, 2);
        }
        s
    }

    fn create_key_pair(&mut self, t: i64) -> Written {
        let mut c = self.call(t, Self::EC2_WRITERS);
        self.maybe_denied(&mut c, &CREATE_KEY_PAIR, 20);
        let name = format!(
            "{}-{}",
            self.rng
                .pick(&["deploy", "bastion", "ops", "jenkins", "debug"]),
            self.rng.range(2020, 2026)
        );
        let fp = self.fingerprint();
        let id = self.rng.id("key-0", HEX, 16);
        let req_id = self.req_id_preview();
        let req = |j: &mut Json| {
            j.obj();
            j.ks("keyName", &name);
            j.ks("keyType", "rsa");
            j.ks("keyFormat", "pem");
            j.end_obj();
        };
        let resp = |j: &mut Json| {
            j.obj();
            j.ks("requestId", &req_id);
            j.ks("keyName", &name);
            j.ks("keyFingerprint", &fp);
            j.ks("keyPairId", &id);
            j.ks("keyMaterial", "<sensitiveDataRemoved>");
            j.end_obj();
        };
        self.emit_keep_id(
            &CREATE_KEY_PAIR,
            &c,
            Some(&req),
            Some(&resp),
            &Tail::default(),
        )
    }

    fn delete_key_pair(&mut self, t: i64) -> Written {
        let mut c = self.call(t, Self::EC2_WRITERS);
        self.maybe_denied(&mut c, &DELETE_KEY_PAIR, 20);
        let place = self.place;
        let name = self.rng.pick(&place.key_pairs).as_str();
        let id = self.rng.id("key-0", HEX, 16);
        let req_id = self.req_id_preview();
        let req = |j: &mut Json| {
            j.obj();
            j.ks("keyName", name);
            j.end_obj();
        };
        let resp = |j: &mut Json| {
            j.obj();
            j.ks("requestId", &req_id);
            j.kb("_return", true);
            j.ks("keyPairId", &id);
            j.end_obj();
        };
        self.emit_keep_id(
            &DELETE_KEY_PAIR,
            &c,
            Some(&req),
            Some(&resp),
            &Tail::default(),
        )
    }

    fn import_key_pair(&mut self, t: i64) -> Written {
        let c = self.call(t, &[(Who::IamHuman, 50), (Who::Sso, 50)]);
        let who = self.acct.actors[c.actor as usize].username.clone();
        let name = format!("{}-laptop", who.split(['@', '.']).next().unwrap_or("key"));
        let material = format!(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{} {}",
            self.rng.chars(BASE64, 43),
            who
        );
        let fp = self.fingerprint();
        let id = self.rng.id("key-0", HEX, 16);
        let req_id = self.req_id_preview();
        let req = |j: &mut Json| {
            j.obj();
            j.ks("keyName", &name);
            j.ks("publicKeyMaterial", &material);
            j.end_obj();
        };
        let resp = |j: &mut Json| {
            j.obj();
            j.ks("requestId", &req_id);
            j.ks("keyName", &name);
            j.ks("keyFingerprint", &fp);
            j.ks("keyPairId", &id);
            j.end_obj();
        };
        self.emit_keep_id(
            &IMPORT_KEY_PAIR,
            &c,
            Some(&req),
            Some(&resp),
            &Tail::default(),
        )
    }

    fn create_sg(&mut self, t: i64) -> Written {
        let mut c = self.call(t, Self::EC2_WRITERS);
        self.maybe_denied(&mut c, &CREATE_SG, 20);
        let place = self.place;
        let acct = self.acct;
        let purpose = *self.rng.pick(&[
            "web",
            "db",
            "cache",
            "lambda",
            "alb",
            "bastion",
            "eks-nodes",
        ]);
        let name = format!("{purpose}-sg-{}", self.rng.chars(LOWER_ALNUM, 4));
        let gid = self.rng.id("sg-0", HEX, 16);
        let req_id = self.req_id_preview();
        let req = |j: &mut Json| {
            j.obj();
            j.ks("groupName", &name);
            j.kss("groupDescription", &["Security group for ", purpose]);
            j.ks("vpcId", &place.vpc);
            j.end_obj();
        };
        let resp = |j: &mut Json| {
            j.obj();
            j.ks("requestId", &req_id);
            j.kb("_return", true);
            j.ks("groupId", &gid);
            j.kss(
                "securityGroupArn",
                &[
                    "arn:aws:ec2:",
                    place.region,
                    ":",
                    &acct.id,
                    ":security-group/",
                    &gid,
                ],
            );
            j.end_obj();
        };
        self.emit_keep_id(&CREATE_SG, &c, Some(&req), Some(&resp), &Tail::default())
    }

    fn ip_permissions(j: &mut Json, port: u16, cidr: &str) {
        j.kobj("ipPermissions");
        j.karr("items");
        j.obj();
        j.ks("ipProtocol", "tcp");
        j.kn("fromPort", i64::from(port));
        j.kn("toPort", i64::from(port));
        j.kempty("groups");
        j.kobj("ipRanges");
        j.karr("items");
        j.obj();
        j.ks("cidrIp", cidr);
        j.end_obj();
        j.end_arr();
        j.end_obj();
        j.kempty("ipv6Ranges");
        j.kempty("prefixListIds");
        j.end_obj();
        j.end_arr();
        j.end_obj();
    }

    fn random_rule(&mut self) -> (u16, String) {
        match self.rng.below(4) {
            0 => (443, "0.0.0.0/0".to_string()),
            1 => (5432, "10.0.0.0/16".to_string()),
            2 => {
                let a = self.acct;
                let human = *self.rng.pick(&a.pools.iam_human);
                let ip = a.actors[human as usize].ips[0].clone();
                let cidr = if ip.contains(':') {
                    "10.20.0.0/16".to_string()
                } else {
                    format!("{ip}/32")
                };
                (22, cidr)
            }
            _ => (6379, "10.0.0.0/8".to_string()),
        }
    }

    fn authorize_random(&mut self, t: i64) -> Written {
        let mut c = self.call(t, Self::EC2_WRITERS);
        self.maybe_denied(&mut c, &AUTHORIZE_SG_INGRESS, 20);
        self.maybe_fail(
            &mut c,
            30,
            "Client.InvalidPermission.Duplicate",
            "the specified rule already exists",
        );
        let place = self.place;
        let group = self.rng.pick(&place.sgs).clone();
        let (port, cidr) = self.random_rule();
        self.authorize(c, &group, port, &cidr, None)
    }

    /// An ingress rule added; `rule` is the new rule's id when it is fixed by a story.
    fn authorize(
        &mut self,
        c: Call,
        group: &str,
        port: u16,
        cidr: &str,
        rule: Option<&str>,
    ) -> Written {
        let acct = self.acct;
        let rule = match rule {
            Some(r) => r.to_string(),
            None => self.rng.id("sgr-0", HEX, 16),
        };
        let req_id = self.req_id_preview();
        let req = |j: &mut Json| {
            j.obj();
            j.ks("groupId", group);
            Self::ip_permissions(j, port, cidr);
            j.end_obj();
        };
        let resp = |j: &mut Json| {
            j.obj();
            j.ks("requestId", &req_id);
            j.kb("_return", true);
            j.kobj("securityGroupRuleSet");
            j.karr("items");
            j.obj();
            j.ks("groupOwnerId", &acct.id);
            j.ks("groupId", group);
            j.ks("securityGroupRuleId", &rule);
            j.kb("isEgress", false);
            j.ks("ipProtocol", "tcp");
            j.kn("fromPort", i64::from(port));
            j.kn("toPort", i64::from(port));
            j.ks("cidrIpv4", cidr);
            j.end_obj();
            j.end_arr();
            j.end_obj();
            j.end_obj();
        };
        self.emit_keep_id(
            &AUTHORIZE_SG_INGRESS,
            &c,
            Some(&req),
            Some(&resp),
            &Tail::default(),
        )
    }

    fn revoke_random(&mut self, t: i64) -> Written {
        let mut c = self.call(t, Self::EC2_WRITERS);
        self.maybe_denied(&mut c, &REVOKE_SG_INGRESS, 20);
        let place = self.place;
        let group = self.rng.pick(&place.sgs).clone();
        let (port, cidr) = self.random_rule();
        self.revoke(c, &group, port, &cidr)
    }

    fn revoke(&mut self, c: Call, group: &str, port: u16, cidr: &str) -> Written {
        let req_id = self.req_id_preview();
        let req = |j: &mut Json| {
            j.obj();
            j.ks("groupId", group);
            Self::ip_permissions(j, port, cidr);
            j.end_obj();
        };
        let resp = |j: &mut Json| {
            j.obj();
            j.ks("requestId", &req_id);
            j.kb("_return", true);
            j.end_obj();
        };
        self.emit_keep_id(
            &REVOKE_SG_INGRESS,
            &c,
            Some(&req),
            Some(&resp),
            &Tail::default(),
        )
    }

    fn delete_sg(&mut self, t: i64) -> Written {
        let mut c = self.call(t, Self::EC2_WRITERS);
        self.maybe_denied(&mut c, &DELETE_SG, 20);
        self.maybe_fail(
            &mut c,
            100,
            "Client.DependencyViolation",
            "resource has a dependent object",
        );
        let place = self.place;
        let group = self.rng.pick(&place.sgs).as_str();
        let req_id = self.req_id_preview();
        let req = |j: &mut Json| {
            j.obj();
            j.ks("groupId", group);
            j.end_obj();
        };
        let resp = |j: &mut Json| {
            j.obj();
            j.ks("requestId", &req_id);
            j.kb("_return", true);
            j.ks("groupId", group);
            j.end_obj();
        };
        self.emit_keep_id(&DELETE_SG, &c, Some(&req), Some(&resp), &Tail::default())
    }

    fn create_nacl_entry(&mut self, t: i64) -> Written {
        let mut c = self.call(t, Self::EC2_WRITERS);
        self.maybe_denied(&mut c, &CREATE_NACL_ENTRY, 20);
        let place = self.place;
        let rule = self.rng.range(1, 33) as i64 * 10;
        let egress = self.rng.percent(30);
        let deny = self.rng.percent(25);
        let (port, cidr) = match self.rng.below(3) {
            0 => (443, "0.0.0.0/0".to_string()),
            1 => (22, "10.0.0.0/8".to_string()),
            _ => (
                3389,
                format!("{}/32", crate::world::public_ipv4(&mut self.rng)),
            ),
        };
        let req_id = self.req_id_preview();
        let req = |j: &mut Json| {
            j.obj();
            j.ks("networkAclId", &place.nacl);
            j.kn("ruleNumber", rule);
            j.kb("egress", egress);
            j.ks("ruleAction", if deny { "deny" } else { "allow" });
            j.kempty("icmpTypeCode");
            j.kobj("portRange");
            j.kn("from", port);
            j.kn("to", port);
            j.end_obj();
            j.ks("aclProtocol", "6");
            j.ks("cidrBlock", &cidr);
            j.end_obj();
        };
        let resp = |j: &mut Json| {
            j.obj();
            j.ks("requestId", &req_id);
            j.kb("_return", true);
            j.end_obj();
        };
        self.emit_keep_id(
            &CREATE_NACL_ENTRY,
            &c,
            Some(&req),
            Some(&resp),
            &Tail::default(),
        )
    }

    // ---- S3 ----------------------------------------------------------------------------------

    fn object_key(&mut self, bucket: &str, t: i64) -> String {
        let tm = clock::split(t);
        let r = &mut self.rng;
        if bucket.contains("data-lake") || bucket.contains("analytics") {
            format!(
                "raw/events/year={}/month={:02}/day={:02}/part-{:05}-{}.snappy.parquet",
                tm.year,
                tm.month,
                tm.day,
                r.below(400),
                r.chars(HEX, 8)
            )
        } else if bucket.contains("backups") {
            format!(
                "postgres/{}-{:02}-{:02}/dump-{}.sql.gz",
                tm.year,
                tm.month,
                tm.day,
                r.below(24)
            )
        } else if bucket.contains("terraform") {
            format!(
                "env/{}/{}/terraform.tfstate",
                r.pick(&["prod", "staging", "dev"]),
                r.pick(&["network", "eks", "rds", "iam"])
            )
        } else if bucket.contains("invoices") {
            format!(
                "{}/{:02}/Invoice {}.pdf",
                tm.year,
                tm.month,
                r.range(10_000, 99_999)
            )
        } else if bucket.contains("uploads") {
            format!(
                "users/{}/{}.{}",
                r.uuid_string(),
                r.pick(&["avatar", "document", "photo", "résumé"]),
                r.pick(&["jpg", "png", "pdf"])
            )
        } else {
            format!(
                "{}/{}/{}.{}",
                r.pick(&["static", "assets", "releases", "models"]),
                r.chars(HEX, 2),
                r.chars(HEX, 12),
                r.pick(&["js", "css", "webp", "tar.gz", "bin"])
            )
        }
    }

    fn s3_additional(&mut self, bytes_in: i64, bytes_out: i64) {
        let id2 = self.rng.chars(BASE64, 75);
        let j = &mut self.j;
        j.kobj("additionalEventData");
        j.ks("SignatureVersion", "SigV4");
        j.ks("CipherSuite", "TLS_AES_128_GCM_SHA256");
        j.kn("bytesTransferredIn", bytes_in);
        j.ks("AuthenticationMethod", "AuthHeader");
        j.kss("x-amz-id-2", &[&id2, "="]);
        j.kn("bytesTransferredOut", bytes_out);
        j.end_obj();
    }

    fn s3_object(&mut self, t: i64, put: bool) -> Written {
        let m = if put { &PUT_OBJECT } else { &GET_OBJECT };
        let mut c = self.call(
            t,
            &[
                (Who::Lambda, 40),
                (Who::Ec2, 30),
                (Who::Auto, 15),
                (Who::IamCi, 10),
                (Who::Sso, 5),
            ],
        );
        let vpce = self.rng.percent(20);
        if vpce {
            c.ip = Ip::Text(format!(
                "10.0.{}.{}",
                self.rng.below(64),
                self.rng.range(4, 250)
            ));
        }
        if self.rng.below(1000) < 6 {
            c.err = Some(("AccessDenied", "Access Denied".to_string()));
        } else if !put {
            self.maybe_fail(&mut c, 10, "NoSuchKey", "The specified key does not exist.");
        }
        let acct = self.acct;
        let bucket = self.rng.pick(&acct.buckets).as_str();
        let key = self.object_key(bucket, c.t);
        let size = 1i64 << self.rng.range(8, 27);
        let size = size + self.rng.below(size as u64) as i64;
        let sse_kms = self.rng.percent(40);
        let host = format!("{bucket}.s3.{}.amazonaws.com", self.place.region);
        self.head(m, &c);
        let j = &mut self.j;
        j.kobj("requestParameters");
        j.ks("bucketName", bucket);
        j.ks("Host", &host);
        j.ks("key", &key);
        if put && sse_kms {
            j.ks("x-amz-server-side-encryption", "aws:kms");
        }
        j.end_obj();
        j.key("responseElements");
        if put && c.err.is_none() {
            j.obj();
            j.ks(
                "x-amz-server-side-encryption",
                if sse_kms { "aws:kms" } else { "AES256" },
            );
            j.end_obj();
        } else {
            j.null();
        }
        let failed = c.err.is_some();
        let (bin, bout) = match (put, failed) {
            (true, false) => (size, 0),
            (false, false) => (0, size),
            _ => (0, 243),
        };
        self.s3_additional(bin, bout);
        self.tail1(m);
        let obj = format!("arn:aws:s3:::{bucket}/{key}");
        let bkt = format!("arn:aws:s3:::{bucket}");
        self.resources(&[
            Res {
                typ: "AWS::S3::Object",
                arn: &obj,
                with_account: false,
            },
            Res {
                typ: "AWS::S3::Bucket",
                arn: &bkt,
                with_account: true,
            },
        ]);
        self.tail2(
            m,
            &c,
            &Tail {
                host: Some(&host),
                vpce,
                ..Tail::default()
            },
        );
        self.written(m, &c)
    }

    fn list_buckets(&mut self, t: i64) -> Written {
        let c = self.call(
            t,
            &[
                (Who::Sso, 30),
                (Who::Auto, 30),
                (Who::IamCi, 20),
                (Who::Config, 20),
                (Who::Root, 1),
            ],
        );
        self.s3_management(&LIST_BUCKETS, c, None)
    }

    fn s3_management(&mut self, m: &Meta, c: Call, bucket: Option<&str>) -> Written {
        let host = match bucket {
            Some(b) => format!("{b}.s3.amazonaws.com"),
            None => format!("s3.{}.amazonaws.com", self.place.region),
        };
        self.head(m, &c);
        let j = &mut self.j;
        j.kobj("requestParameters");
        if let Some(b) = bucket {
            j.ks("bucketName", b);
        }
        j.ks("Host", &host);
        if bucket.is_some() {
            j.ks("acl", "");
        }
        j.end_obj();
        j.knull("responseElements");
        self.s3_additional(0, if c.err.is_some() { 243 } else { 1_024 });
        self.tail1(m);
        let arn = bucket.map(|b| format!("arn:aws:s3:::{b}"));
        if let Some(arn) = &arn {
            self.resources(&[Res {
                typ: "AWS::S3::Bucket",
                arn,
                with_account: true,
            }]);
        }
        self.tail2(
            m,
            &c,
            &Tail {
                host: Some(&host),
                ..Tail::default()
            },
        );
        self.written(m, &c)
    }

    fn get_bucket_acl(&mut self, t: i64) -> Written {
        let c = self.call(t, &[(Who::Config, 70), (Who::Auto, 30)]);
        let acct = self.acct;
        let bucket = self.rng.pick(&acct.buckets).as_str();
        self.s3_management(&GET_BUCKET_ACL, c, Some(bucket))
    }

    // ---- STS, KMS ----------------------------------------------------------------------------

    fn assume_role(&mut self, t: i64) -> Written {
        let mut c = self.call(
            t,
            &[
                (Who::Svc("lambda.amazonaws.com"), 35),
                (Who::Svc("ec2.amazonaws.com"), 15),
                (Who::Svc("ecs-tasks.amazonaws.com"), 5),
                (Who::Auto, 20),
                (Who::Sso, 10),
                (Who::IamCi, 10),
                (Who::Fed, 2),
            ],
        );
        let acct = self.acct;
        let caller = &acct.actors[c.actor as usize];
        let target = match caller.invoked_by {
            "lambda.amazonaws.com" => *self.rng.pick(&acct.pools.lambda),
            "ec2.amazonaws.com" => *self.rng.pick(&acct.pools.ec2),
            _ => *self.rng.pick(&acct.pools.auto),
        };
        let target = &acct.actors[target as usize];
        let session: &str = if caller.kind == Kind::Service {
            &target.session
        } else {
            self.maybe_denied(&mut c, &ASSUME_ROLE, 10);
            const SESSIONS: [&str; 4] = [
                "deploy",
                "cross-account-audit",
                "terraform-run",
                "botocore-session",
            ];
            SESSIONS[self.rng.index(SESSIONS.len())]
        };
        let duration = if caller.kind == Kind::Service {
            43_200
        } else {
            3_600
        };
        let key = self.rng.id("ASIA", UPPER_ALNUM, 16);
        let token = self.rng.id("IQoJb3JpZ2luX2VjE", BASE64, 180);
        let expiration = clock::aws_human(c.t + duration);
        let req = |j: &mut Json| {
            j.obj();
            j.ks("roleArn", &target.issuer_arn);
            j.ks("roleSessionName", session);
            if duration != 3_600 {
                j.kn("durationSeconds", duration);
            }
            j.end_obj();
        };
        let resp = |j: &mut Json| {
            j.obj();
            j.kobj("credentials");
            j.ks("accessKeyId", &key);
            j.ks("sessionToken", &token);
            j.ks("expiration", &expiration);
            j.end_obj();
            j.kobj("assumedRoleUser");
            j.kss("assumedRoleId", &[&target.unique_id, ":", session]);
            j.kss(
                "arn",
                &[
                    "arn:aws:sts::",
                    &acct.id,
                    ":assumed-role/",
                    &target.issuer_name,
                    "/",
                    session,
                ],
            );
            j.end_obj();
            j.end_obj();
        };
        let res = [Res {
            typ: "AWS::IAM::Role",
            arn: &target.issuer_arn,
            with_account: true,
        }];
        self.emit(
            &ASSUME_ROLE,
            &c,
            Some(&req),
            Some(&resp),
            &Tail {
                resources: &res,
                ..Tail::default()
            },
        )
    }

    fn get_caller_identity(&mut self, t: i64) -> Written {
        let c = self.call(
            t,
            &[
                (Who::Auto, 35),
                (Who::IamCi, 20),
                (Who::Sso, 20),
                (Who::IamHuman, 10),
                (Who::Lambda, 10),
                (Who::Fed, 5),
            ],
        );
        self.emit(&GET_CALLER_IDENTITY, &c, None, None, &Tail::default())
    }

    fn kms(&mut self, t: i64, data_key: bool) -> Written {
        let m = if data_key {
            &GENERATE_DATA_KEY
        } else {
            &DECRYPT
        };
        let mut c = self.call(
            t,
            &[
                (Who::Svc("s3.amazonaws.com"), 20),
                (Who::Svc("secretsmanager.amazonaws.com"), 12),
                (Who::Svc("ssm.amazonaws.com"), 8),
                (Who::Svc("lambda.amazonaws.com"), 10),
                (Who::Svc("rds.amazonaws.com"), 5),
                (Who::Svc("cloudtrail.amazonaws.com"), 5),
                (Who::Lambda, 25),
                (Who::Ec2, 15),
            ],
        );
        self.maybe_denied(&mut c, m, 4);
        let acct = self.acct;
        let place = self.place;
        let caller = &acct.actors[c.actor as usize];
        let key_id = self.rng.pick(&place.kms_keys).as_str();
        let key_arn = format!("arn:aws:kms:{}:{}:key/{key_id}", place.region, acct.id);
        // The encryption context says which service's data the key protects.
        let ctx: (&str, String, Option<(&str, String)>) = match caller.invoked_by {
            "s3.amazonaws.com" => {
                let b = self.rng.pick(&acct.buckets).clone();
                let k = self.object_key(&b, c.t);
                ("aws:s3:arn", format!("arn:aws:s3:::{b}/{k}"), None)
            }
            "secretsmanager.amazonaws.com" => (
                "SecretARN",
                format!(
                    "arn:aws:secretsmanager:{}:{}:secret:{}",
                    place.region,
                    acct.id,
                    self.rng.pick(&place.secrets)
                ),
                Some(("SecretVersionId", self.rng.uuid_string())),
            ),
            "ssm.amazonaws.com" => (
                "PARAMETER_ARN",
                format!(
                    "arn:aws:ssm:{}:{}:parameter{}",
                    place.region,
                    acct.id,
                    self.rng.pick(&place.params)
                ),
                None,
            ),
            "rds.amazonaws.com" => (
                "aws:rds:db-id",
                format!("db-{}", self.rng.chars(UPPER_ALNUM, 26)),
                None,
            ),
            "cloudtrail.amazonaws.com" => (
                "aws:cloudtrail:arn",
                acct.trail_arn(),
                Some((
                    "aws:s3:arn",
                    format!(
                        "arn:aws:s3:::{}/AWSLogs/{}/CloudTrail/{}",
                        acct.trail_bucket, acct.id, place.region
                    ),
                )),
            ),
            _ => (
                "aws:lambda:FunctionArn",
                format!(
                    "arn:aws:lambda:{}:{}:function:{}",
                    place.region,
                    acct.id,
                    self.rng.pick(&acct.functions)
                ),
                None,
            ),
        };
        let alias = self.rng.percent(30);
        let req = |j: &mut Json| {
            j.obj();
            if data_key {
                if alias {
                    j.ks("keyId", "alias/aws/s3");
                } else {
                    j.ks("keyId", &key_arn);
                }
            }
            j.kobj("encryptionContext");
            j.ks(ctx.0, &ctx.1);
            if let Some((k, v)) = &ctx.2 {
                j.ks(k, v);
            }
            j.end_obj();
            if data_key {
                j.ks("keySpec", "AES_256");
            } else {
                j.ks("encryptionAlgorithm", "SYMMETRIC_DEFAULT");
            }
            j.end_obj();
        };
        let res = [Res {
            typ: "AWS::KMS::Key",
            arn: &key_arn,
            with_account: true,
        }];
        let shared = caller.kind == Kind::Service && self.rng.percent(30);
        self.emit(
            m,
            &c,
            Some(&req),
            None,
            &Tail {
                resources: &res,
                shared,
                ..Tail::default()
            },
        )
    }

    // ---- IAM -----------------------------------------------------------------------------------

    const IAM_READERS: &'static [(Who, u32)] = &[
        (Who::Config, 30),
        (Who::Auto, 35),
        (Who::Sso, 25),
        (Who::IamCi, 10),
    ];

    fn iam_list(&mut self, t: i64, m: &Meta) -> Written {
        let mut c = self.call(t, Self::IAM_READERS);
        self.maybe_denied(&mut c, m, 10);
        let paged = self.rng.percent(30);
        let req = |j: &mut Json| {
            j.obj();
            j.kn("maxItems", 100);
            j.end_obj();
        };
        self.emit(
            m,
            &c,
            if paged { Some(&req) } else { None },
            None,
            &Tail::default(),
        )
    }

    fn role_name(&mut self) -> String {
        let a = self.acct;
        let pool = match self.rng.below(3) {
            0 => &a.pools.auto,
            1 => &a.pools.lambda,
            _ => &a.pools.ec2,
        };
        let i = *self.rng.pick(pool);
        a.actors[i as usize].issuer_name.clone()
    }

    fn get_role(&mut self, t: i64) -> Written {
        let mut c = self.call(t, Self::IAM_READERS);
        self.maybe_denied(&mut c, &GET_ROLE, 8);
        let missing = self.rng.percent(2);
        let role = if missing {
            format!("{}-old", self.role_name())
        } else {
            self.role_name()
        };
        if missing && c.err.is_none() {
            c.err = Some((
                "NoSuchEntityException",
                format!("The role with name {role} cannot be found."),
            ));
        }
        let req = |j: &mut Json| {
            j.obj();
            j.ks("roleName", &role);
            j.end_obj();
        };
        self.emit(&GET_ROLE, &c, Some(&req), None, &Tail::default())
    }

    fn recon_call(&mut self, m: &Meta, c: Call) -> Written {
        match m.name {
            "ListBuckets" => self.s3_management(m, c, None),
            "ListAccessKeys" | "ListAttachedUserPolicies" => {
                let name = self.acct.actors[c.actor as usize].name.clone();
                let req = |j: &mut Json| {
                    j.obj();
                    j.ks("userName", &name);
                    j.end_obj();
                };
                self.emit(m, &c, Some(&req), None, &Tail::default())
            }
            "GetSecretValue" => {
                let place = self.place;
                let s = self.rng.pick(&place.secrets).clone();
                let req = |j: &mut Json| {
                    j.obj();
                    j.ks("secretId", &s);
                    j.end_obj();
                };
                self.emit(m, &c, Some(&req), None, &Tail::default())
            }
            "GetAccountAuthorizationDetails" => {
                let req = |j: &mut Json| {
                    j.obj();
                    j.karr("filter");
                    for f in ["User", "Role", "Group", "LocalManagedPolicy"] {
                        j.str(f);
                    }
                    j.end_arr();
                    j.end_obj();
                };
                self.emit(m, &c, Some(&req), None, &Tail::default())
            }
            _ => self.emit(m, &c, None, None, &Tail::default()),
        }
    }

    fn new_user_name(&mut self) -> String {
        let r = &mut self.rng;
        if r.percent(50) {
            format!(
                "svc-{}-{:02}",
                r.pick(&["etl", "backup", "export", "sftp", "ci", "metrics"]),
                r.below(100)
            )
        } else {
            format!(
                "{}.{}",
                r.pick(&["anna", "ben", "chloe", "diego", "emma", "femi", "gus"]),
                r.pick(&["ward", "lopez", "sato", "brown", "ali", "novak"])
            )
        }
    }

    fn create_user(&mut self, t: i64) -> Written {
        let mut c = self.call(t, &[(Who::Sso, 50), (Who::Deploy, 40), (Who::IamHuman, 10)]);
        self.maybe_denied(&mut c, &CREATE_USER, 30);
        let acct = self.acct;
        let name = self.new_user_name();
        self.maybe_fail(
            &mut c,
            30,
            "EntityAlreadyExistsException",
            &format!("User with name {name} already exists."),
        );
        let id = self.rng.id("AIDA", UPPER_ALNUM, 17);
        let created = clock::aws_human(c.t);
        let req = |j: &mut Json| {
            j.obj();
            j.ks("userName", &name);
            j.end_obj();
        };
        let resp = |j: &mut Json| {
            j.obj();
            j.kobj("user");
            j.ks("path", "/");
            j.ks("userName", &name);
            j.ks("userId", &id);
            j.kss("arn", &["arn:aws:iam::", &acct.id, ":user/", &name]);
            j.ks("createDate", &created);
            j.end_obj();
            j.end_obj();
        };
        self.emit(&CREATE_USER, &c, Some(&req), Some(&resp), &Tail::default())
    }

    fn create_access_key_random(&mut self, t: i64) -> Written {
        let mut c = self.call(t, &[(Who::IamHuman, 40), (Who::Sso, 40), (Who::Deploy, 20)]);
        self.maybe_denied(&mut c, &CREATE_ACCESS_KEY, 20);
        self.maybe_fail(
            &mut c,
            30,
            "LimitExceededException",
            "Cannot exceed quota for AccessKeysPerUser: 2",
        );
        let acct = self.acct;
        let caller = &acct.actors[c.actor as usize];
        // IAM users create keys for themselves only: the story is the one exception.
        let target = if caller.kind == Kind::IamUser {
            caller.name.clone()
        } else {
            let pool = if self.rng.percent(50) {
                &acct.pools.iam_ci
            } else {
                &acct.pools.iam_human
            };
            let i = *self.rng.pick(pool);
            acct.actors[i as usize].name.clone()
        };
        self.create_access_key(c, &target)
    }

    fn create_access_key(&mut self, c: Call, target: &str) -> Written {
        let key = self.rng.id("AKIA", UPPER_ALNUM, 16);
        let created = clock::aws_human(c.t);
        let req = |j: &mut Json| {
            j.obj();
            j.ks("userName", target);
            j.end_obj();
        };
        let resp = |j: &mut Json| {
            j.obj();
            j.kobj("accessKey");
            j.ks("userName", target);
            j.ks("accessKeyId", &key);
            j.ks("status", "Active");
            j.ks("createDate", &created);
            j.end_obj();
            j.end_obj();
        };
        self.emit(
            &CREATE_ACCESS_KEY,
            &c,
            Some(&req),
            Some(&resp),
            &Tail::default(),
        )
    }

    fn attach_role_policy(&mut self, t: i64) -> Written {
        let mut c = self.call(t, &[(Who::Sso, 50), (Who::Deploy, 50)]);
        self.maybe_denied(&mut c, &ATTACH_ROLE_POLICY, 30);
        let role = self.role_name();
        let acct = self.acct;
        let policy = match self.rng.below(10) {
            0 => "arn:aws:iam::aws:policy/AdministratorAccess".to_string(),
            1..=3 => "arn:aws:iam::aws:policy/ReadOnlyAccess".to_string(),
            4..=5 => "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess".to_string(),
            6..=7 => "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole".to_string(),
            _ => format!(
                "arn:aws:iam::{}:policy/{}",
                acct.id,
                self.rng
                    .pick(&["app-s3-access", "kms-decrypt-app", "ssm-read-params"])
            ),
        };
        let req = |j: &mut Json| {
            j.obj();
            j.ks("roleName", &role);
            j.ks("policyArn", &policy);
            j.end_obj();
        };
        self.emit(&ATTACH_ROLE_POLICY, &c, Some(&req), None, &Tail::default())
    }

    fn put_role_policy(&mut self, t: i64) -> Written {
        let mut c = self.call(t, &[(Who::Sso, 40), (Who::Deploy, 60)]);
        self.maybe_denied(&mut c, &PUT_ROLE_POLICY, 30);
        let role = self.role_name();
        let acct = self.acct;
        let bucket = self.rng.pick(&acct.buckets).clone();
        let policy_name = format!(
            "{}-inline",
            self.rng
                .pick(&["s3-access", "kms-use", "logs-write", "sqs-consume"])
        );
        let doc = format!(
            "{{\n    \"Version\": \"2012-10-17\",\n    \"Statement\": [\n        {{\n            \
             \"Effect\": \"Allow\",\n            \"Action\": [\n                \
             \"s3:GetObject\",\n                \"s3:PutObject\"\n            ],\n            \
             \"Resource\": \"arn:aws:s3:::{bucket}/*\"\n        }},\n        {{\n            \
             \"Effect\": \"Allow\",\n            \"Action\": \"kms:Decrypt\",\n            \
             \"Resource\": \"*\"\n        }}\n    ]\n}}"
        );
        let req = |j: &mut Json| {
            j.obj();
            j.ks("roleName", &role);
            j.ks("policyName", &policy_name);
            j.ks("policyDocument", &doc);
            j.end_obj();
        };
        self.emit(&PUT_ROLE_POLICY, &c, Some(&req), None, &Tail::default())
    }

    // ---- sign-in -------------------------------------------------------------------------------

    fn console_login_random(&mut self, t: i64) -> Written {
        let acct = self.acct;
        match self.rng.below(100) {
            0..=49 => {
                let a = *self.rng.pick(&acct.pools.iam_human);
                let c = self.call_as(t, a);
                let mfa = acct.actors[a as usize].mfa;
                self.console_login(c, Login::Iam { mfa }, None)
            }
            50..=89 => {
                let a = *self.rng.pick(&acct.pools.sso);
                let c = self.call_as(t, a);
                self.console_login(c, Login::Sso, None)
            }
            90..=93 => {
                // Root signs in rarely, and always with MFA: only the story lacks it.
                let c = self.call_as(t, acct.pools.root);
                self.console_login(c, Login::Root { mfa: true }, None)
            }
            _ => {
                let a = *self.rng.pick(&acct.pools.iam_human);
                let c = self.call_as(t, a);
                self.console_login(c, Login::Failed, None)
            }
        }
    }

    fn console_login(&mut self, c: Call, login: Login, ip: Option<&str>) -> Written {
        let m = &CONSOLE_LOGIN;
        self.new_request_id(m);
        let acct = self.acct;
        let a = &acct.actors[c.actor as usize];
        let ip = match ip {
            Some(ip) => ip.to_string(),
            None => a.ips[self.rng.index(a.ips.len())].clone(),
        };
        self.j.obj();
        self.j.ks("eventVersion", m.version);
        self.j.kobj("userIdentity");
        match login {
            Login::Iam { .. } => {
                self.j.ks("type", "IAMUser");
                self.j.ks("principalId", &a.unique_id);
                self.j.ks("arn", &a.arn);
                self.j.ks("accountId", &acct.id);
                self.j.ks("userName", &a.name);
            }
            Login::Failed => {
                self.j.ks("type", "IAMUser");
                self.j.ks("accountId", &acct.id);
                self.j.ks("accessKeyId", "");
                self.j.ks("userName", "HIDDEN_DUE_TO_SECURITY_REASONS");
            }
            Login::Root { .. } => {
                self.j.ks("type", "Root");
                self.j.ks("principalId", &acct.id);
                self.j.ks("arn", &a.arn);
                self.j.ks("accountId", &acct.id);
                self.j.ks("accessKeyId", "");
            }
            Login::Sso => {
                self.j.ks("type", "AssumedRole");
                self.j.kss("principalId", &[&a.unique_id, ":", &a.session]);
                self.j.ks("arn", &a.arn);
                self.j.ks("accountId", &acct.id);
                self.j.ks("accessKeyId", "");
                self.j.kobj("sessionContext");
                self.j.kobj("sessionIssuer");
                self.j.ks("type", "Role");
                self.j.ks("principalId", &a.unique_id);
                self.j.ks("arn", &a.issuer_arn);
                self.j.ks("accountId", &acct.id);
                self.j.ks("userName", &a.issuer_name);
                self.j.end_obj();
                self.j.kempty("webIdFederationData");
                self.session_attributes(c.t, false);
                self.j.end_obj();
            }
        }
        self.j.end_obj();
        let j = &mut self.j;
        j.key("eventTime");
        j.ascii(&clock::rfc3339(c.t));
        j.ks("eventSource", m.svc.source);
        j.ks("eventName", m.name);
        j.ks("awsRegion", self.place.region);
        j.ks("sourceIPAddress", &ip);
        j.ks("userAgent", a.browser);
        let failed = matches!(login, Login::Failed);
        if failed {
            j.ks("errorMessage", "Failed authentication");
        }
        j.knull("requestParameters");
        j.kobj("responseElements");
        j.ks("ConsoleLogin", if failed { "Failure" } else { "Success" });
        j.end_obj();
        j.kobj("additionalEventData");
        match login {
            Login::Sso => {
                j.ks("MobileVersion", "No");
                j.ks("MFAUsed", "No");
            }
            Login::Failed => {
                j.ks(
                    "LoginTo",
                    "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true",
                );
                j.ks("MobileVersion", "No");
                j.ks("MFAUsed", "No");
            }
            Login::Iam { mfa } | Login::Root { mfa } => {
                j.ks(
                    "LoginTo",
                    "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true",
                );
                j.ks("MobileVersion", "No");
                if mfa {
                    let dev = if a.kind == Kind::Root {
                        "root-account-mfa-device"
                    } else {
                        &a.name
                    };
                    j.kss("MFAIdentifier", &["arn:aws:iam::", &acct.id, ":mfa/", dev]);
                }
                j.ks("MFAUsed", if mfa { "Yes" } else { "No" });
            }
        }
        j.end_obj();
        self.tail1(m);
        let mut c = c;
        c.ip = Ip::Text(ip);
        c.console = false;
        self.tail2(m, &c, &Tail::default());
        Written {
            name: m.name,
            user: if failed {
                User::Hidden
            } else {
                User::Actor(c.actor)
            },
            event_id: self.event_id,
        }
    }

    // ---- other services ------------------------------------------------------------------------

    fn list_functions(&mut self, t: i64) -> Written {
        let mut c = self.call(t, &[(Who::Sso, 30), (Who::Auto, 40), (Who::Config, 30)]);
        self.maybe_denied(&mut c, &LIST_FUNCTIONS, 8);
        self.emit(&LIST_FUNCTIONS, &c, None, None, &Tail::default())
    }

    fn create_log_stream(&mut self, t: i64) -> Written {
        let mut c = self.call(t, &[(Who::Lambda, 1)]);
        c.ua = Ua::Fixed("awslambda-worker/1.0 rusoto/0.48.0 rust/1.74.1 linux");
        let acct = self.acct;
        let f = acct.actors[c.actor as usize].session.clone();
        let tm = clock::split(c.t);
        let stream = format!(
            "{}/{:02}/{:02}/[$LATEST]{}",
            tm.year,
            tm.month,
            tm.day,
            self.rng.chars(HEX, 32)
        );
        let req = |j: &mut Json| {
            j.obj();
            j.kss("logGroupName", &["/aws/lambda/", &f]);
            j.ks("logStreamName", &stream);
            j.end_obj();
        };
        self.emit(&CREATE_LOG_STREAM, &c, Some(&req), None, &Tail::default())
    }

    fn describe_log_groups(&mut self, t: i64) -> Written {
        let mut c = self.call(t, &[(Who::Sso, 40), (Who::Auto, 60)]);
        self.maybe_denied(&mut c, &DESCRIBE_LOG_GROUPS, 8);
        let prefix = *self
            .rng
            .pick(&["/aws/lambda/", "/aws/eks/", "/ecs/", "/aws/rds/"]);
        let req = |j: &mut Json| {
            j.obj();
            j.ks("logGroupNamePrefix", prefix);
            j.end_obj();
        };
        self.emit(&DESCRIBE_LOG_GROUPS, &c, Some(&req), None, &Tail::default())
    }

    fn get_trail_status(&mut self, t: i64) -> Written {
        let mut c = self.call(t, &[(Who::Config, 50), (Who::Auto, 30), (Who::Sso, 20)]);
        self.maybe_denied(&mut c, &GET_TRAIL_STATUS, 5);
        let arn = self.acct.trail_arn();
        let req = |j: &mut Json| {
            j.obj();
            j.ks("name", &arn);
            j.end_obj();
        };
        self.emit(&GET_TRAIL_STATUS, &c, Some(&req), None, &Tail::default())
    }

    fn describe_trails(&mut self, t: i64) -> Written {
        let mut c = self.call(t, &[(Who::Config, 40), (Who::Auto, 40), (Who::Sso, 20)]);
        self.maybe_denied(&mut c, &DESCRIBE_TRAILS, 5);
        let req = |j: &mut Json| {
            j.obj();
            j.karr("trailNameList");
            j.end_arr();
            j.kb("includeShadowTrails", true);
            j.end_obj();
        };
        self.emit(&DESCRIBE_TRAILS, &c, Some(&req), None, &Tail::default())
    }

    fn logging(&mut self, m: &Meta, c: Call) -> Written {
        let arn = self.acct.trail_arn();
        let req = |j: &mut Json| {
            j.obj();
            j.ks("name", &arn);
            j.end_obj();
        };
        self.emit(m, &c, Some(&req), None, &Tail::default())
    }

    fn update_trail(&mut self, t: i64) -> Written {
        let c = self.call(t, &[(Who::Deploy, 70), (Who::Sso, 30)]);
        let acct = self.acct;
        let arn = acct.trail_arn();
        let req = |j: &mut Json| {
            j.obj();
            j.ks("name", &arn);
            j.ks("s3BucketName", &acct.trail_bucket);
            j.kb("isMultiRegionTrail", true);
            j.kb("enableLogFileValidation", true);
            j.end_obj();
        };
        let resp = |j: &mut Json| {
            j.obj();
            j.ks("name", &acct.trail_name);
            j.ks("s3BucketName", &acct.trail_bucket);
            j.kb("includeGlobalServiceEvents", true);
            j.kb("isMultiRegionTrail", true);
            j.ks("trailARN", &arn);
            j.kb("logFileValidationEnabled", true);
            j.kb("isOrganizationTrail", false);
            j.end_obj();
        };
        self.emit(&UPDATE_TRAIL, &c, Some(&req), Some(&resp), &Tail::default())
    }

    fn put_event_selectors(&mut self, t: i64) -> Written {
        let c = self.call(t, &[(Who::Deploy, 70), (Who::Sso, 30)]);
        let arn = self.acct.trail_arn();
        let selectors = |j: &mut Json| {
            j.karr("eventSelectors");
            j.obj();
            j.ks("readWriteType", "All");
            j.kb("includeManagementEvents", true);
            j.karr("dataResources");
            j.obj();
            j.ks("type", "AWS::S3::Object");
            j.karr("values");
            j.str("arn:aws:s3");
            j.end_arr();
            j.end_obj();
            j.end_arr();
            j.karr("excludeManagementEventSources");
            j.end_arr();
            j.end_obj();
            j.end_arr();
        };
        let req = |j: &mut Json| {
            j.obj();
            j.ks("trailName", &arn);
            selectors(j);
            j.end_obj();
        };
        let resp = |j: &mut Json| {
            j.obj();
            j.ks("trailARN", &arn);
            selectors(j);
            j.end_obj();
        };
        self.emit(
            &PUT_EVENT_SELECTORS,
            &c,
            Some(&req),
            Some(&resp),
            &Tail::default(),
        )
    }

    fn describe_alarms(&mut self, t: i64) -> Written {
        let mut c = self.call(t, &[(Who::Sso, 30), (Who::Auto, 50), (Who::Ec2, 20)]);
        self.maybe_denied(&mut c, &DESCRIBE_ALARMS, 5);
        let named = self.rng.percent(40);
        let alarm = format!(
            "{}-{}",
            self.rng.pick(&[
                "HighCPU",
                "5xxErrors",
                "QueueDepth",
                "DiskSpace",
                "Latency-p99"
            ]),
            self.rng.pick(&["prod", "staging"])
        );
        let req = |j: &mut Json| {
            j.obj();
            if named {
                j.karr("alarmNames");
                j.str(&alarm);
                j.end_arr();
            } else {
                j.kn("maxRecords", 100);
            }
            j.end_obj();
        };
        self.emit(&DESCRIBE_ALARMS, &c, Some(&req), None, &Tail::default())
    }

    fn describe_table(&mut self, t: i64) -> Written {
        let mut c = self.call(t, &[(Who::Lambda, 50), (Who::Ec2, 20), (Who::Auto, 30)]);
        self.maybe_denied(&mut c, &DESCRIBE_TABLE, 5);
        let place = self.place;
        let acct = self.acct;
        let table = *self.rng.pick(&place.tables);
        let arn = format!(
            "arn:aws:dynamodb:{}:{}:table/{table}",
            place.region, acct.id
        );
        let req = |j: &mut Json| {
            j.obj();
            j.ks("tableName", table);
            j.end_obj();
        };
        let res = [Res {
            typ: "AWS::DynamoDB::Table",
            arn: &arn,
            with_account: true,
        }];
        self.emit(
            &DESCRIBE_TABLE,
            &c,
            Some(&req),
            None,
            &Tail {
                resources: &res,
                ..Tail::default()
            },
        )
    }

    fn describe_db_instances(&mut self, t: i64) -> Written {
        let mut c = self.call(t, &[(Who::Auto, 50), (Who::Sso, 30), (Who::Config, 20)]);
        self.maybe_denied(&mut c, &DESCRIBE_DB_INSTANCES, 5);
        let place = self.place;
        let one = self.rng.percent(50);
        let db = *self.rng.pick(&place.dbs);
        let req = |j: &mut Json| {
            j.obj();
            if one {
                j.ks("dBInstanceIdentifier", db);
            } else {
                j.kn("maxRecords", 100);
            }
            j.end_obj();
        };
        self.emit(
            &DESCRIBE_DB_INSTANCES,
            &c,
            Some(&req),
            None,
            &Tail::default(),
        )
    }

    fn db_change(&mut self, t: i64, delete: bool) -> Written {
        let m = if delete {
            &DELETE_DB_INSTANCE
        } else {
            &STOP_DB_INSTANCE
        };
        let mut c = self.call(t, &[(Who::Sso, 50), (Who::Deploy, 50)]);
        self.maybe_denied(&mut c, m, 30);
        let place = self.place;
        let acct = self.acct;
        let db = *self.rng.pick(&place.dbs);
        let (engine, version, port) = if db.contains("mysql") {
            ("mysql", "8.0.36", 3306)
        } else if db.contains("aurora") {
            ("aurora-postgresql", "15.4", 5432)
        } else {
            ("postgres", "15.5", 5432)
        };
        let sg = self.rng.pick(&place.sgs).clone();
        let resource_id = self.rng.id("db-", UPPER_ALNUM, 26);
        let key = self.rng.pick(&place.kms_keys).clone();
        let created = clock::aws_human(c.t - 86_400 * self.rng.range(30, 700) as i64);
        let snapshot = format!("{db}-final-{}", self.rng.chars(LOWER_ALNUM, 6));
        let req = |j: &mut Json| {
            j.obj();
            j.ks("dBInstanceIdentifier", db);
            if delete {
                j.kb("skipFinalSnapshot", false);
                j.ks("finalDBSnapshotIdentifier", &snapshot);
                j.kb("deleteAutomatedBackups", false);
            }
            j.end_obj();
        };
        let resp = |j: &mut Json| {
            j.obj();
            j.ks("dBInstanceIdentifier", db);
            j.ks("dBInstanceClass", "db.t3.medium");
            j.ks("engine", engine);
            j.ks(
                "dBInstanceStatus",
                if delete { "deleting" } else { "stopping" },
            );
            j.ks("masterUsername", "dbadmin");
            j.ks("dBName", "app");
            j.kobj("endpoint");
            j.kss(
                "address",
                &[
                    db,
                    ".",
                    &place.rds_suffix,
                    ".",
                    place.region,
                    ".rds.amazonaws.com",
                ],
            );
            j.kn("port", port);
            j.ks("hostedZoneId", "Z2R2ITUGPM61AM");
            j.end_obj();
            j.kn("allocatedStorage", 100);
            j.ks("instanceCreateTime", &created);
            j.ks("preferredBackupWindow", "03:00-03:30");
            j.kn("backupRetentionPeriod", 7);
            j.karr("dBSecurityGroups");
            j.end_arr();
            j.karr("vpcSecurityGroups");
            j.obj();
            j.ks("vpcSecurityGroupId", &sg);
            j.ks("status", "active");
            j.end_obj();
            j.end_arr();
            j.kss("availabilityZone", &[place.region, "a"]);
            j.kb("multiAZ", false);
            j.ks("engineVersion", version);
            j.kb("autoMinorVersionUpgrade", true);
            j.kb("publiclyAccessible", false);
            j.ks("storageType", "gp3");
            j.kb("storageEncrypted", true);
            j.kss(
                "kmsKeyId",
                &["arn:aws:kms:", place.region, ":", &acct.id, ":key/", &key],
            );
            j.ks("dbiResourceId", &resource_id);
            j.kss(
                "dBInstanceArn",
                &["arn:aws:rds:", place.region, ":", &acct.id, ":db:", db],
            );
            j.kb("deletionProtection", false);
            j.end_obj();
        };
        self.emit(m, &c, Some(&req), Some(&resp), &Tail::default())
    }

    fn get_secret_value(&mut self, t: i64) -> Written {
        let mut c = self.call(t, &[(Who::Lambda, 50), (Who::Ec2, 30), (Who::Auto, 20)]);
        self.maybe_denied(&mut c, &GET_SECRET_VALUE, 5);
        self.maybe_fail(
            &mut c,
            8,
            "ResourceNotFoundException",
            "Secrets Manager can't find the specified secret.",
        );
        let place = self.place;
        let acct = self.acct;
        let s = self.rng.pick(&place.secrets).as_str();
        let by_arn = self.rng.percent(50);
        let name = s.rsplit_once('-').map_or(s, |(n, _)| n);
        let req = |j: &mut Json| {
            j.obj();
            if by_arn {
                j.kss(
                    "secretId",
                    &[
                        "arn:aws:secretsmanager:",
                        place.region,
                        ":",
                        &acct.id,
                        ":secret:",
                        s,
                    ],
                );
            } else {
                j.ks("secretId", name);
            }
            j.end_obj();
        };
        self.emit(&GET_SECRET_VALUE, &c, Some(&req), None, &Tail::default())
    }

    fn get_parameter(&mut self, t: i64) -> Written {
        let mut c = self.call(t, &[(Who::Lambda, 40), (Who::Ec2, 40), (Who::Auto, 20)]);
        self.maybe_denied(&mut c, &GET_PARAMETER, 5);
        let place = self.place;
        let p = *self.rng.pick(&place.params);
        let decrypt = self.rng.percent(60);
        self.maybe_fail(&mut c, 5, "ParameterNotFound", "");
        if let Some((code, msg)) = &mut c.err
            && *code == "ParameterNotFound"
        {
            *msg = format!("Parameter {p} not found.");
        }
        let req = |j: &mut Json| {
            j.obj();
            j.ks("name", p);
            j.kb("withDecryption", decrypt);
            j.end_obj();
        };
        self.emit(&GET_PARAMETER, &c, Some(&req), None, &Tail::default())
    }

    // ---- CloudFormation: the huge record -------------------------------------------------------

    fn create_stack(&mut self, c: Call, stack: &str) -> Written {
        let target = 40_000 + self.rng.index(18_000);
        let body = self.cfn_template(target);
        let acct = self.acct;
        let place = self.place;
        let stack_id = format!(
            "arn:aws:cloudformation:{}:{}:stack/{stack}/{}",
            place.region,
            acct.id,
            self.rng.uuid_string()
        );
        let env = stack
            .rsplit('-')
            .next()
            .filter(|e| matches!(*e, "prod" | "staging" | "dev"))
            .unwrap_or("prod");
        let req = |j: &mut Json| {
            j.obj();
            j.ks("stackName", stack);
            j.ks("templateBody", &body);
            j.karr("parameters");
            j.obj();
            j.ks("parameterKey", "Environment");
            j.ks("parameterValue", env);
            j.end_obj();
            j.end_arr();
            j.karr("capabilities");
            j.str("CAPABILITY_NAMED_IAM");
            j.end_arr();
            j.karr("tags");
            j.obj();
            j.ks("key", "owner");
            j.ks("value", "platform-team");
            j.end_obj();
            j.end_arr();
            j.end_obj();
        };
        let resp = |j: &mut Json| {
            j.obj();
            j.ks("stackId", &stack_id);
            j.end_obj();
        };
        self.emit(&CREATE_STACK, &c, Some(&req), Some(&resp), &Tail::default())
    }

    /// A CloudFormation template (JSON text) of about `target` bytes.
    fn cfn_template(&mut self, target: usize) -> String {
        use std::fmt::Write as _;
        let mut s = String::with_capacity(target + 2048);
        s.push_str(
            "{\n  \"AWSTemplateFormatVersion\": \"2010-09-09\",\n  \"Description\": \
             \"Platform stack: network, security groups, roles and functions\",\n  \
             \"Parameters\": {\n    \"Environment\": {\n      \"Type\": \"String\",\n      \
             \"AllowedValues\": [\"dev\", \"staging\", \"prod\"]\n    }\n  },\n  \
             \"Resources\": {\n",
        );
        let mut i = 0u32;
        while s.len() + 200 < target {
            if i > 0 {
                s.push_str(",\n");
            }
            let n = i / 4;
            let cidr3 = self.rng.below(250);
            let _ = match i % 4 {
                0 => write!(
                    s,
                    "    \"Subnet{n}\": {{\n      \"Type\": \"AWS::EC2::Subnet\",\n      \
                     \"Properties\": {{\n        \"VpcId\": {{ \"Ref\": \"Vpc\" }},\n        \
                     \"CidrBlock\": \"10.{n}.{cidr3}.0/24\",\n        \"AvailabilityZone\": {{ \
                     \"Fn::Select\": [\"{}\", {{ \"Fn::GetAZs\": \"\" }}] }},\n        \
                     \"Tags\": [{{ \"Key\": \"Name\", \"Value\": {{ \"Fn::Sub\": \
                     \"${{Environment}}-subnet-{n}\" }} }}]\n      }}\n    }}",
                    n % 3
                ),
                1 => write!(
                    s,
                    "    \"AppSecurityGroup{n}\": {{\n      \"Type\": \
                     \"AWS::EC2::SecurityGroup\",\n      \"Properties\": {{\n        \
                     \"GroupDescription\": \"App tier {n}\",\n        \"VpcId\": {{ \"Ref\": \
                     \"Vpc\" }},\n        \"SecurityGroupIngress\": [\n          {{ \
                     \"IpProtocol\": \"tcp\", \"FromPort\": 443, \"ToPort\": 443, \"CidrIp\": \
                     \"10.0.0.0/8\" }},\n          {{ \"IpProtocol\": \"tcp\", \"FromPort\": \
                     {}, \"ToPort\": {}, \"SourceSecurityGroupId\": {{ \"Ref\": \
                     \"AppSecurityGroup{n}\" }} }}\n        ]\n      }}\n    }}",
                    8000 + n,
                    8000 + n
                ),
                2 => write!(
                    s,
                    "    \"WorkerRole{n}\": {{\n      \"Type\": \"AWS::IAM::Role\",\n      \
                     \"Properties\": {{\n        \"AssumeRolePolicyDocument\": {{\n          \
                     \"Version\": \"2012-10-17\",\n          \"Statement\": [{{ \"Effect\": \
                     \"Allow\", \"Principal\": {{ \"Service\": \"lambda.amazonaws.com\" }}, \
                     \"Action\": \"sts:AssumeRole\" }}]\n        }},\n        \"Policies\": \
                     [{{\n          \"PolicyName\": \"worker-{n}\",\n          \
                     \"PolicyDocument\": {{\n            \"Version\": \"2012-10-17\",\n            \
                     \"Statement\": [\n              {{ \"Effect\": \"Allow\", \"Action\": \
                     [\"sqs:ReceiveMessage\", \"sqs:DeleteMessage\"], \"Resource\": \
                     \"arn:aws:sqs:*:*:queue-{n}\" }},\n              {{ \"Effect\": \"Allow\", \
                     \"Action\": [\"logs:CreateLogStream\", \"logs:PutLogEvents\"], \
                     \"Resource\": \"*\" }}\n            ]\n          }}\n        }}]\n      \
                     }}\n    }}"
                ),
                _ => write!(
                    s,
                    "    \"WorkerFunction{n}\": {{\n      \"Type\": \"AWS::Lambda::Function\",\n      \
                     \"Properties\": {{\n        \"Runtime\": \"python3.12\",\n        \
                     \"Handler\": \"index.handler\",\n        \"Role\": {{ \"Fn::GetAtt\": \
                     [\"WorkerRole{n}\", \"Arn\"] }},\n        \"Timeout\": {},\n        \
                     \"Code\": {{\n          \"ZipFile\": \"import json\\nimport boto3\\n\\n\
                     def handler(event, context):\\n    for record in event.get('Records', \
                     []):\\n        body = json.loads(record['body'])\\n        print(body.get(\
                     'id'), {n})\\n    return {{'ok': True}}\\n\"\n        }}\n      }}\n    }}",
                    30 + self.rng.below(270)
                ),
            };
            i += 1;
        }
        s.push_str(
            "\n  },\n  \"Outputs\": {\n    \"StackEnvironment\": {\n      \"Value\": { \"Ref\": \
             \"Environment\" }\n    }\n  }\n}\n",
        );
        s
    }
}

#[derive(Debug, Clone, Copy)]
enum Login {
    Iam { mfa: bool },
    Root { mfa: bool },
    Sso,
    Failed,
}

/// Every event name the generator can write (mix and stories), for documentation and tests.
pub(crate) fn all_event_names() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = [
        &DESCRIBE_INSTANCES,
        &DESCRIBE_SGS,
        &DESCRIBE_VOLUMES,
        &DESCRIBE_REGIONS,
        &GET_OBJECT,
        &PUT_OBJECT,
        &LIST_BUCKETS,
        &GET_BUCKET_ACL,
        &ASSUME_ROLE,
        &GET_CALLER_IDENTITY,
        &DECRYPT,
        &GENERATE_DATA_KEY,
        &LIST_KEYS,
        &LIST_ROLES,
        &GET_ROLE,
        &LIST_USERS,
        &LIST_POLICIES,
        &LIST_GROUPS,
        &GET_USER,
        &LIST_ACCESS_KEYS,
        &GET_ACCOUNT_AUTH,
        &LIST_ATTACHED_USER_POLICIES,
        &LIST_FUNCTIONS,
        &CREATE_LOG_STREAM,
        &DESCRIBE_LOG_GROUPS,
        &GET_TRAIL_STATUS,
        &DESCRIBE_TRAILS,
        &STOP_LOGGING,
        &START_LOGGING,
        &UPDATE_TRAIL,
        &PUT_EVENT_SELECTORS,
        &DESCRIBE_ALARMS,
        &DESCRIBE_TABLE,
        &LIST_TABLES,
        &DESCRIBE_DB_INSTANCES,
        &STOP_DB_INSTANCE,
        &DELETE_DB_INSTANCE,
        &GET_SECRET_VALUE,
        &GET_PARAMETER,
        &CONSOLE_LOGIN,
        &CREATE_USER,
        &CREATE_ACCESS_KEY,
        &ATTACH_ROLE_POLICY,
        &PUT_ROLE_POLICY,
        &RUN_INSTANCES,
        &TERMINATE_INSTANCES,
        &START_INSTANCES,
        &STOP_INSTANCES,
        &CREATE_KEY_PAIR,
        &DELETE_KEY_PAIR,
        &IMPORT_KEY_PAIR,
        &CREATE_SG,
        &AUTHORIZE_SG_INGRESS,
        &REVOKE_SG_INGRESS,
        &DELETE_SG,
        &CREATE_NACL_ENTRY,
        &CREATE_STACK,
    ]
    .iter()
    .map(|m| m.name)
    .collect();
    v.sort_unstable();
    v
}

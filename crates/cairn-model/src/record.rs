//! Attributes derived from a record: the actor people search for, and the names the
//! CloudTrail console's Event history uses.

use serde_json::Value;

/// Looks up a dotted path (`userIdentity.sessionContext.sessionIssuer.userName`) in a record.
pub fn get<'a>(record: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(record, |v, k| v.as_object()?.get(k))
}

/// A dotted path as a non-empty string.
pub fn get_str<'a>(record: &'a Value, path: &str) -> Option<&'a str> {
    get(record, path)?.as_str().filter(|s| !s.is_empty())
}

/// The last `/`-separated part of an ARN (`.../assumed-role/Role/session` → `session`).
fn arn_tail(arn: &str) -> Option<&str> {
    arn.rsplit_once('/')
        .map(|(_, t)| t)
        .filter(|t| !t.is_empty())
}

/// The human-meaningful actor of a record:
/// - `IAMUser`: the user name;
/// - `Root`: `root`;
/// - `AssumedRole`: `<role name>/<session name>` (the role from `sessionIssuer.userName`,
///   the session from the last part of the `arn`), as people name an assumed-role session;
/// - `FederatedUser`: the federated user name from the `arn`;
/// - `AWSService`: the service that acted (`invokedBy`);
/// - `AWSAccount`: the calling account id;
/// - anything else: `userName`, else the `principalId`;
/// - no `userIdentity` at all (some `AwsServiceEvent` records): the `eventSource`.
pub fn principal(record: &Value) -> Option<String> {
    let Some(identity) = get(record, "userIdentity") else {
        return get_str(record, "eventSource").map(str::to_string);
    };
    let s = |p: &str| get_str(identity, p);
    let kind = s("type").unwrap_or("");
    let found = match kind {
        "Root" => Some("root".to_string()),
        "IAMUser" => s("userName")
            .or_else(|| s("arn").and_then(arn_tail))
            .map(str::to_string),
        "AssumedRole" => {
            let role = s("sessionContext.sessionIssuer.userName");
            let session = s("arn").and_then(arn_tail);
            match (role, session) {
                (Some(r), Some(sess)) => Some(format!("{r}/{sess}")),
                (Some(r), None) => Some(r.to_string()),
                (None, Some(sess)) => s("arn")
                    .and_then(|a| a.rsplit('/').nth(1))
                    .map(|r| format!("{r}/{sess}"))
                    .or_else(|| Some(sess.to_string())),
                (None, None) => None,
            }
        }
        "FederatedUser" => s("arn")
            .and_then(|a| a.split_once("federated-user/").map(|(_, n)| n))
            .map(str::to_string)
            .or_else(|| s("sessionContext.sessionIssuer.userName").map(str::to_string)),
        "AWSService" => s("invokedBy").map(str::to_string),
        "AWSAccount" => s("accountId").map(str::to_string),
        _ => None,
    };
    found
        .or_else(|| s("userName").map(str::to_string))
        .or_else(|| s("invokedBy").map(str::to_string))
        .or_else(|| s("principalId").map(str::to_string))
}

/// The user name the CloudTrail console's Event history (and the `Username` lookup attribute of
/// `LookupEvents`) shows for a record, or `None` when the record names nobody.
///
/// Rules, by `userIdentity.type`:
/// - `IAMUser`: `userName` (the IAM user's name; a failed console sign-in of an unknown user
///   carries `HIDDEN_DUE_TO_SECURITY_REASONS`, which Event history shows as is). Without
///   `userName`, the name after `user/` in `arn`.
/// - `Root`: `root`. Event history does not show the account alias or `userName` for the
///   root user.
/// - `AssumedRole`: the role-session name, which is the part of `arn` after its last `/`
///   (`arn:aws:sts::111122223333:assumed-role/Admin/alice@example.com` gives
///   `alice@example.com`); without `arn`, the part of `principalId` after `:`.
/// - `FederatedUser`: the federated user's name, after `federated-user/` in `arn`; without it,
///   the part of `principalId` after `:`.
/// - `AWSService`: `invokedBy`, the service principal (`lambda.amazonaws.com`).
/// - any other type (`IdentityCenterUser`, `SAMLUser`, `WebIdentityUser`, `AWSAccount`,
///   `Directory`, `Unknown`): `userName` when present; otherwise the part of `principalId` after
///   its last `:` (the whole `principalId` when it has none); otherwise `onBehalfOf.userId`
///   (Identity Center); otherwise `invokedBy`.
///
/// A record without `userIdentity`, or whose rule finds no non-empty string, gives `None`.
pub fn event_history_username(record: &Value) -> Option<String> {
    let id = record.get("userIdentity")?;
    let s = |field: &str| {
        id.get(field)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let after_colon = |v: &str| v.rsplit(':').next().unwrap_or(v).to_string();
    let found = match s("type").unwrap_or("") {
        "IAMUser" => s("userName")
            .map(str::to_string)
            .or_else(|| s("arn").and_then(|a| a.split_once(":user/").map(|(_, n)| last(n)))),
        "Root" => Some("root".to_string()),
        "AssumedRole" => s("arn")
            .map(last)
            .or_else(|| s("principalId").map(after_colon)),
        "FederatedUser" => s("arn")
            .and_then(|a| a.split_once("federated-user/").map(|(_, n)| n.to_string()))
            .or_else(|| s("principalId").map(after_colon)),
        "AWSService" => s("invokedBy").map(str::to_string),
        _ => s("userName")
            .map(str::to_string)
            .or_else(|| s("principalId").map(after_colon))
            .or_else(|| {
                id.get("onBehalfOf")
                    .and_then(|o| o.get("userId"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .or_else(|| s("invokedBy").map(str::to_string)),
    };
    found.filter(|n| !n.is_empty())
}

/// The part after the last `/` (IAM paths put `/` between path segments and the name).
fn last(s: &str) -> String {
    s.rsplit('/').next().unwrap_or(s).to_string()
}

/// The resources of a record as `(type, name)` pairs, from `resources[].type` and `.ARN`.
pub fn resources(record: &Value) -> impl Iterator<Item = (Option<&str>, Option<&str>)> {
    record
        .get("resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|r| {
            (
                r.get("type").and_then(Value::as_str),
                r.get("ARN").and_then(Value::as_str),
            )
        })
}

/// The access key id of the caller, if any.
pub fn access_key_id(record: &Value) -> Option<&str> {
    get_str(record, "userIdentity.accessKeyId")
}

/// The AWS account the event belongs to: `recipientAccountId`, else the caller's account.
pub fn account(record: &Value) -> Option<&str> {
    get_str(record, "recipientAccountId").or_else(|| get_str(record, "userIdentity.accountId"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn principal_and_username_per_identity_type() {
        let cases = [
            (
                json!({"userIdentity":{"type":"IAMUser","userName":"alice","arn":"arn:aws:iam::1:user/alice"}}),
                "alice",
                "alice",
            ),
            (
                json!({"userIdentity":{"type":"Root","arn":"arn:aws:iam::1:root","principalId":"1"}}),
                "root",
                "root",
            ),
            (
                json!({"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/Admin/bob@example.com",
                    "principalId":"AROAX:bob@example.com","sessionContext":{"sessionIssuer":{"type":"Role","userName":"Admin"}}}}),
                "Admin/bob@example.com",
                "bob@example.com",
            ),
            (
                json!({"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/ops/team/Deploy/i-0abc"}}),
                "Deploy/i-0abc",
                "i-0abc",
            ),
            (
                json!({"userIdentity":{"type":"FederatedUser","arn":"arn:aws:sts::1:federated-user/carol"}}),
                "carol",
                "carol",
            ),
            (
                json!({"userIdentity":{"type":"AWSService","invokedBy":"ec2.amazonaws.com"}}),
                "ec2.amazonaws.com",
                "ec2.amazonaws.com",
            ),
            (
                json!({"userIdentity":{"type":"AWSAccount","accountId":"222233334444","principalId":"AIDAX"}}),
                "222233334444",
                "AIDAX",
            ),
            (
                json!({"userIdentity":{"type":"IdentityCenterUser","principalId":"arn:x:dave","userName":"dave"}}),
                "dave",
                "dave",
            ),
            (
                json!({"userIdentity":{"type":"SAMLUser","principalId":"SAML:erin"}}),
                "SAML:erin",
                "erin",
            ),
        ];
        for (rec, p, u) in cases {
            assert_eq!(principal(&rec).as_deref(), Some(p), "{rec}");
            assert_eq!(event_history_username(&rec).as_deref(), Some(u), "{rec}");
        }
        let service_event =
            json!({"eventType":"AwsServiceEvent","eventSource":"kms.amazonaws.com"});
        assert_eq!(
            principal(&service_event).as_deref(),
            Some("kms.amazonaws.com")
        );
        assert_eq!(event_history_username(&service_event), None);
    }

    #[test]
    fn paths_and_resources() {
        let rec = json!({"a":{"b":{"c":"x"}},"resources":[{"type":"AWS::EC2::Instance","ARN":"arn:i"},{"ARN":"arn:j"}],
            "recipientAccountId":"111122223333"});
        assert_eq!(get_str(&rec, "a.b.c"), Some("x"));
        assert_eq!(get(&rec, "a.x"), None);
        let r: Vec<_> = resources(&rec).collect();
        assert_eq!(
            r,
            vec![
                (Some("AWS::EC2::Instance"), Some("arn:i")),
                (None, Some("arn:j"))
            ]
        );
        assert_eq!(account(&rec), Some("111122223333"));
    }
}

#[cfg(test)]
mod username_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rules_by_identity_type() {
        let cases = [
            (
                json!({"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/ops/alice","accountId":"111122223333","userName":"alice"}),
                Some("alice"),
            ),
            (
                json!({"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/ops/bob"}),
                Some("bob"),
            ),
            (
                json!({"type":"IAMUser","accountId":"111122223333","userName":"HIDDEN_DUE_TO_SECURITY_REASONS"}),
                Some("HIDDEN_DUE_TO_SECURITY_REASONS"),
            ),
            (
                json!({"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","userName":"my-alias"}),
                Some("root"),
            ),
            (
                json!({"type":"AssumedRole","principalId":"AROAEXAMPLE:alice@example.com","arn":"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123/alice@example.com","sessionContext":{"sessionIssuer":{"userName":"AWSReservedSSO_Admin_0123"}}}),
                Some("alice@example.com"),
            ),
            (
                json!({"type":"AssumedRole","principalId":"AROAEXAMPLE:i-0abc"}),
                Some("i-0abc"),
            ),
            (
                json!({"type":"FederatedUser","principalId":"111122223333:carol","arn":"arn:aws:sts::111122223333:federated-user/carol"}),
                Some("carol"),
            ),
            (
                json!({"type":"FederatedUser","principalId":"111122223333:dan"}),
                Some("dan"),
            ),
            (
                json!({"type":"AWSService","invokedBy":"lambda.amazonaws.com"}),
                Some("lambda.amazonaws.com"),
            ),
            (
                json!({"type":"SAMLUser","principalId":"SAMPLE:erin","userName":"erin"}),
                Some("erin"),
            ),
            (
                json!({"type":"AWSAccount","principalId":"AIDAOTHERACCOUNT","accountId":"444455556666"}),
                Some("AIDAOTHERACCOUNT"),
            ),
            (
                json!({"type":"IdentityCenterUser","accountId":"111122223333","onBehalfOf":{"userId":"94482488-3041-7026-18f3-be45837cd0e4","identityStoreArn":"arn:aws:identitystore::111122223333:identitystore/d-9067230a0b"},"credentialId":"EXAMPLE"}),
                Some("94482488-3041-7026-18f3-be45837cd0e4"),
            ),
            (json!({"type":"AWSService"}), None),
        ];
        for (identity, want) in cases {
            let record = json!({"eventName":"X","userIdentity": identity});
            assert_eq!(
                event_history_username(&record).as_deref(),
                want,
                "{identity}"
            );
        }
        assert_eq!(event_history_username(&json!({"eventName":"X"})), None);
    }
}

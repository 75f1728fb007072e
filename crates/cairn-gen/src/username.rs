//! The "User name" of the CloudTrail console's Event history.

use serde_json::Value;

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

#[cfg(test)]
mod tests {
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

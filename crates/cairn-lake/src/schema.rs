//! The table: CloudTrail's fields typed, the free-form ones as JSON text, and what cairn adds.
//!
//! Partition columns (`account`, `region`, `date`) are in the path only, Hive style.

use std::sync::{Arc, OnceLock};

use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

/// Top-level string fields, typed as they are in CloudTrail.
pub const STRINGS: &[&str] = &[
    "eventVersion",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "errorCode",
    "errorMessage",
    "requestID",
    "eventID",
    "eventType",
    "apiVersion",
    "recipientAccountId",
    "sharedEventID",
    "vpcEndpointId",
    "vpcEndpointAccountId",
    "eventCategory",
    "sessionCredentialFromConsole",
];

/// Top-level booleans.
pub const BOOLS: &[&str] = &["readOnly", "managementEvent"];

/// Free-form objects, kept as JSON text: their shape differs per service and API call.
pub const JSON: &[&str] = &[
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "serviceEventDetails",
    "tlsDetails",
    "insightDetails",
    "edgeDeviceDetails",
    "addendum",
];

/// `userIdentity`'s scalar fields; `sessionContext` and `onBehalfOf` are JSON text.
pub const IDENTITY_STRINGS: &[&str] = &[
    "type",
    "principalId",
    "arn",
    "accountId",
    "accessKeyId",
    "userName",
    "invokedBy",
    "identityProvider",
    "credentialId",
];
pub const IDENTITY_JSON: &[&str] = &["sessionContext", "onBehalfOf"];

/// `resources[]`' fields.
pub const RESOURCE_STRINGS: &[&str] = &["ARN", "accountId", "type"];

/// Columns cairn adds: the principal as cairn derives it, the object the event was read from,
/// unknown top-level fields (JSON text, for fields CloudTrail adds later), and the whole
/// original record.
pub const PRINCIPAL: &str = "principal";
pub const OBJECT: &str = "cairn_object";
pub const EXTRA: &str = "extra";
pub const RECORD: &str = "record";

/// Every top-level name the typed columns take from a record.
pub fn known(name: &str) -> bool {
    name == "eventTime"
        || name == "userIdentity"
        || name == "resources"
        || STRINGS.contains(&name)
        || BOOLS.contains(&name)
        || JSON.contains(&name)
}

fn text(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

pub fn identity_fields() -> Fields {
    IDENTITY_STRINGS
        .iter()
        .chain(IDENTITY_JSON)
        .map(|n| text(n))
        .collect()
}

pub fn resource_fields() -> Fields {
    RESOURCE_STRINGS.iter().map(|n| text(n)).collect()
}

pub fn resource_item() -> Arc<Field> {
    Arc::new(Field::new(
        "item",
        DataType::Struct(resource_fields()),
        true,
    ))
}

/// The Arrow schema of every file.
pub fn schema() -> SchemaRef {
    static S: OnceLock<SchemaRef> = OnceLock::new();
    S.get_or_init(|| {
        let mut fields = vec![Field::new(
            "eventTime",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        )];
        fields.extend(STRINGS.iter().map(|n| text(n)));
        fields.extend(
            BOOLS
                .iter()
                .map(|n| Field::new(*n, DataType::Boolean, true)),
        );
        fields.push(Field::new(
            "userIdentity",
            DataType::Struct(identity_fields()),
            true,
        ));
        fields.push(Field::new(
            "resources",
            DataType::List(resource_item()),
            true,
        ));
        fields.extend(JSON.iter().map(|n| text(n)));
        fields.extend([text(PRINCIPAL), text(OBJECT), text(EXTRA), text(RECORD)]);
        Arc::new(Schema::new(fields))
    })
    .clone()
}

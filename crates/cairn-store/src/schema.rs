//! The index schema: one JSON field that makes every path of every record searchable, a
//! full-text field over all values, typed fast fields for the attributes people filter, sort
//! and count on, and the original bytes.

use tantivy::schema::{
    BytesOptions, DateOptions, DateTimePrecision, FAST, Field, INDEXED, IndexRecordOption,
    IpAddrOptions, JsonObjectOptions, NumericOptions, STORED, Schema, TextFieldIndexing,
    TextOptions,
};
use tantivy::tokenizer::{LowerCaser, RawTokenizer, RemoveLongFilter, TextAnalyzer};

/// Tokenizer of the JSON and full-text fields ([`crate::tokenizer::IdTokenizer`]). Tokens
/// longer than 100 bytes (base64 blobs, session tokens) are left out of the index; the record
/// itself is kept whole.
pub const TEXT_TOKENIZER: &str = "cairn_text";
/// Tokenizer of the full-text field ([`crate::tokenizer::FullTextTokenizer`]): the words of
/// [`TEXT_TOKENIZER`] and their dotted pairs. (Stores from before the pairs name
/// `cairn_text` here, so they are told apart as a different schema.)
pub const FULL_TEXT_TOKENIZER: &str = "cairn_full_text";
/// Tokenizer of keyword fields: the whole value as one lowercased token.
pub const KEYWORD_TOKENIZER: &str = "cairn_keyword";

/// How a query path maps to a typed field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string attribute: exact (case-insensitive) whole-value term, wildcard on the whole
    /// value, and a raw fast column for top-N.
    Keyword,
    Date,
    Bool,
}

/// Where a typed attribute's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The string at this JSON path of the record.
    Path,
    /// Computed by the document builder (`crate::doc`): derived names, provenance, types other
    /// than strings, arrays.
    Computed,
}

/// The typed attributes: (query path, field name in the index, kind, source). The query path is
/// how users write it (CloudTrail's JSON path, or a derived name); the text of every path is
/// also in the JSON field, so phrase and token matches work there as for any other path.
pub const HOT: &[(&str, &str, Kind, Source)] = &[
    ("eventTime", "eventTime", Kind::Date, Source::Computed),
    ("eventName", "eventName", Kind::Keyword, Source::Path),
    ("eventSource", "eventSource", Kind::Keyword, Source::Path),
    ("awsRegion", "awsRegion", Kind::Keyword, Source::Path),
    (
        "recipientAccountId",
        "account",
        Kind::Keyword,
        Source::Computed,
    ),
    (
        "userIdentity.type",
        "userIdentity.type",
        Kind::Keyword,
        Source::Path,
    ),
    (
        "userIdentity.arn",
        "userIdentity.arn",
        Kind::Keyword,
        Source::Path,
    ),
    (
        "userIdentity.userName",
        "userIdentity.userName",
        Kind::Keyword,
        Source::Path,
    ),
    (
        "userIdentity.accessKeyId",
        "userIdentity.accessKeyId",
        Kind::Keyword,
        Source::Path,
    ),
    (
        "userIdentity.principalId",
        "userIdentity.principalId",
        Kind::Keyword,
        Source::Path,
    ),
    (
        "userIdentity.accountId",
        "userIdentity.accountId",
        Kind::Keyword,
        Source::Path,
    ),
    (
        "sourceIPAddress",
        "sourceIPAddress",
        Kind::Keyword,
        Source::Computed,
    ),
    ("userAgent", "userAgent", Kind::Keyword, Source::Path),
    ("errorCode", "errorCode", Kind::Keyword, Source::Path),
    ("readOnly", "readOnly", Kind::Bool, Source::Computed),
    ("eventType", "eventType", Kind::Keyword, Source::Path),
    (
        "eventCategory",
        "eventCategory",
        Kind::Keyword,
        Source::Path,
    ),
    (
        "resources.type",
        "resources.type",
        Kind::Keyword,
        Source::Computed,
    ),
    (
        "resources.ARN",
        "resources.ARN",
        Kind::Keyword,
        Source::Computed,
    ),
    ("principal", "principal", Kind::Keyword, Source::Computed),
    ("username", "username", Kind::Keyword, Source::Computed),
    (
        "cairn.object",
        "cairn.object",
        Kind::Keyword,
        Source::Computed,
    ),
    (
        "cairn.ingestTime",
        "cairn.ingestTime",
        Kind::Date,
        Source::Computed,
    ),
];

/// The fields of the index, resolved once.
#[derive(Debug, Clone)]
pub struct Fields {
    pub schema: Schema,
    /// The whole record as a JSON object, tokenized, with positions.
    pub json: Field,
    /// Every string value of the record, for bare words.
    pub all: Field,
    /// The JSON paths a record has (leaves and the objects above them), for `field:*` and for
    /// knowing which fields the store has seen.
    pub paths: Field,
    /// The original record bytes.
    pub raw: Field,
    /// `sourceIPAddress` when it is an IP address.
    pub ip: Field,
    /// `eventID` as 128 bits (the UUID, or a hash of another id), for deduplication.
    pub eid: Field,
    /// Typed attributes, in the order of [`HOT`].
    pub hot: Vec<Field>,
    /// The typed attributes the document builder fills itself, resolved once rather than
    /// looked up by name for every event.
    pub computed: Computed,
}

/// Typed fields with [`Source::Computed`] values.
#[derive(Debug, Clone, Copy)]
pub struct Computed {
    pub event_time: Field,
    pub ingest_time: Field,
    pub object: Field,
    pub account: Field,
    pub source_ip: Field,
    pub read_only: Field,
    pub resource_type: Field,
    pub resource_arn: Field,
    pub principal: Field,
    pub username: Field,
}

impl Fields {
    pub fn build() -> Fields {
        let mut b = Schema::builder();
        let text_indexing = TextFieldIndexing::default()
            .set_tokenizer(TEXT_TOKENIZER)
            .set_fieldnorms(false)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions);
        let json = b.add_json_field(
            "json",
            JsonObjectOptions::default().set_indexing_options(text_indexing.clone()),
        );
        // Docs only: bare phrases are checked against the stored record instead (see
        // `lower::phrase_check`), which keeps positions out of the largest field.
        let all = b.add_text_field(
            "all",
            TextOptions::default().set_indexing_options(
                text_indexing
                    .set_tokenizer(FULL_TEXT_TOKENIZER)
                    .set_index_option(IndexRecordOption::Basic),
            ),
        );
        let keyword_indexing = TextFieldIndexing::default()
            .set_tokenizer(KEYWORD_TOKENIZER)
            .set_fieldnorms(false)
            .set_index_option(IndexRecordOption::Basic);
        let paths = b.add_text_field(
            "paths",
            TextOptions::default().set_indexing_options(keyword_indexing.clone()),
        );
        let raw = b.add_bytes_field("raw", BytesOptions::default() | STORED);
        let ip = b.add_ip_addr_field("ip", IpAddrOptions::default() | INDEXED | FAST);
        let eid = b.add_ip_addr_field("eid", IpAddrOptions::default() | FAST);
        let mut hot = Vec::new();
        for (_, name, kind, _) in HOT {
            let field = match kind {
                Kind::Keyword => {
                    let mut opts = TextOptions::default()
                        .set_indexing_options(keyword_indexing.clone())
                        .set_fast("raw");
                    if *name == "cairn.object" {
                        opts = opts.set_stored();
                    }
                    b.add_text_field(name, opts)
                }
                Kind::Date => b.add_date_field(
                    name,
                    DateOptions::default()
                        .set_indexed()
                        .set_fast()
                        .set_stored()
                        .set_precision(DateTimePrecision::Seconds),
                ),
                Kind::Bool => b.add_bool_field(name, NumericOptions::default() | INDEXED | FAST),
            };
            hot.push(field);
        }
        Fields {
            schema: b.build(),
            json,
            all,
            paths,
            raw,
            ip,
            eid,
            computed: Computed {
                event_time: by_name(&hot, "eventTime"),
                ingest_time: by_name(&hot, "cairn.ingestTime"),
                object: by_name(&hot, "cairn.object"),
                account: by_name(&hot, "account"),
                source_ip: by_name(&hot, "sourceIPAddress"),
                read_only: by_name(&hot, "readOnly"),
                resource_type: by_name(&hot, "resources.type"),
                resource_arn: by_name(&hot, "resources.ARN"),
                principal: by_name(&hot, "principal"),
                username: by_name(&hot, "username"),
            },
            hot,
        }
    }

    /// The typed field for a query path, if it has one.
    pub fn hot(&self, path: &str) -> Option<(Field, Kind, &'static str)> {
        HOT.iter()
            .position(|(p, _, _, _)| *p == path)
            .map(|i| (self.hot[i], HOT[i].2, HOT[i].1))
    }

    /// The typed field by its index name.
    pub fn hot_by_name(&self, name: &str) -> Field {
        by_name(&self.hot, name)
    }
}

fn by_name(hot: &[Field], name: &str) -> Field {
    let i = HOT
        .iter()
        .position(|(_, n, _, _)| *n == name)
        .expect("known hot field");
    hot[i]
}

/// Registers cairn's tokenizers on an index.
pub fn register_tokenizers(index: &tantivy::Index) {
    let text = TextAnalyzer::builder(crate::tokenizer::IdTokenizer::default())
        .filter(RemoveLongFilter::limit(100))
        .build();
    let keyword = TextAnalyzer::builder(RawTokenizer::default())
        .filter(RemoveLongFilter::limit(4096))
        .filter(LowerCaser)
        .build();
    let full_text = TextAnalyzer::builder(crate::tokenizer::FullTextTokenizer::default())
        .filter(RemoveLongFilter::limit(100))
        .build();
    index.tokenizers().register(TEXT_TOKENIZER, text);
    index.tokenizers().register(FULL_TEXT_TOKENIZER, full_text);
    index.tokenizers().register(KEYWORD_TOKENIZER, keyword);
}

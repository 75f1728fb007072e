//! The CREATE TABLE (or view) each engine needs to read a lake.

use arrow_schema::{DataType, Field};

use crate::schema::schema;

/// The engines cairn prints DDL for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Athena,
    Trino,
    Spark,
    DuckDb,
}

impl Engine {
    pub fn parse(s: &str) -> Option<Engine> {
        match s {
            "athena" => Some(Engine::Athena),
            "trino" => Some(Engine::Trino),
            "spark" => Some(Engine::Spark),
            "duckdb" => Some(Engine::DuckDb),
            _ => None,
        }
    }
}

fn ty(e: Engine, t: &DataType) -> String {
    match (e, t) {
        (Engine::Trino, DataType::Utf8) => "varchar".into(),
        (Engine::Trino, DataType::Boolean) => "boolean".into(),
        (Engine::Trino, DataType::Timestamp(..)) => "timestamp(6) with time zone".into(),
        (Engine::Trino, DataType::Struct(fields)) => format!(
            "row({})",
            fields
                .iter()
                .map(|f| format!("\"{}\" {}", f.name().to_lowercase(), ty(e, f.data_type())))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        (Engine::Trino, DataType::List(item)) => format!("array({})", ty(e, item.data_type())),
        (Engine::Spark, DataType::Utf8) => "STRING".into(),
        (Engine::Spark, DataType::Boolean) => "BOOLEAN".into(),
        (Engine::Spark, DataType::Timestamp(..)) => "TIMESTAMP".into(),
        (Engine::Spark, DataType::Struct(fields)) => format!(
            "STRUCT<{}>",
            fields
                .iter()
                .map(|f| format!("`{}`: {}", f.name(), ty(e, f.data_type())))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        (Engine::Spark, DataType::List(item)) => format!("ARRAY<{}>", ty(e, item.data_type())),
        (_, DataType::Utf8) => "string".into(),
        (_, DataType::Boolean) => "boolean".into(),
        (_, DataType::Timestamp(..)) => "timestamp".into(),
        (_, DataType::Struct(fields)) => format!(
            "struct<{}>",
            fields
                .iter()
                .map(|f| format!("{}:{}", f.name().to_lowercase(), ty(e, f.data_type())))
                .collect::<Vec<_>>()
                .join(",")
        ),
        (_, DataType::List(item)) => format!("array<{}>", ty(e, item.data_type())),
        (_, other) => format!("{other:?}").to_lowercase(),
    }
}

fn columns(e: Engine, quote: &dyn Fn(&str) -> String) -> String {
    schema()
        .fields()
        .iter()
        .map(|f: &std::sync::Arc<Field>| format!("  {} {}", quote(f.name()), ty(e, f.data_type())))
        .collect::<Vec<_>>()
        .join(",\n")
}

/// What the Athena table's partition projection enumerates.
#[derive(Debug, Clone, Default)]
pub struct Partitions {
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    /// The first date, `YYYY-MM-DD`.
    pub first_date: Option<String>,
}

/// The statements for one engine over the lake at `location` (a path or `s3://` URL).
pub fn ddl(e: Engine, location: &str, table: &str, p: &Partitions) -> String {
    let loc = location.trim_end_matches('/');
    match e {
        Engine::DuckDb => format!(
            "CREATE OR REPLACE VIEW {table} AS\n  SELECT * FROM read_parquet('{loc}/*/*/*/*.parquet', hive_partitioning = true, hive_types = {{'account': VARCHAR, 'region': VARCHAR, 'date': DATE}});\n"
        ),
        Engine::Spark => format!(
            "CREATE TABLE IF NOT EXISTS {table} (\n{},\n  `account` STRING,\n  `region` STRING,\n  `date` STRING\n)\nUSING parquet\nPARTITIONED BY (`account`, `region`, `date`)\nLOCATION '{loc}';\nMSCK REPAIR TABLE {table};\n",
            columns(e, &|n| format!("`{n}`"))
        ),
        Engine::Trino => format!(
            "CREATE TABLE {table} (\n{},\n  \"account\" varchar,\n  \"region\" varchar,\n  \"date\" varchar\n)\nWITH (\n  format = 'PARQUET',\n  external_location = '{loc}',\n  partitioned_by = ARRAY['account', 'region', 'date']\n);\nCALL system.sync_partition_metadata(CURRENT_SCHEMA, '{table}', 'ADD');\n",
            columns(e, &|n| format!("\"{}\"", n.to_lowercase()))
        ),
        Engine::Athena => {
            let list = |v: &[String]| v.join(",");
            let first = p.first_date.clone().unwrap_or_else(|| "2013-11-01".into());
            format!(
                "CREATE EXTERNAL TABLE IF NOT EXISTS {table} (\n{}\n)\nPARTITIONED BY (\n  `account` string,\n  `region` string,\n  `date` string\n)\nSTORED AS PARQUET\nLOCATION '{loc}/'\nTBLPROPERTIES (\n  'parquet.compression' = 'ZSTD',\n  'projection.enabled' = 'true',\n  'projection.account.type' = 'enum',\n  'projection.account.values' = '{}',\n  'projection.region.type' = 'enum',\n  'projection.region.values' = '{}',\n  'projection.date.type' = 'date',\n  'projection.date.format' = 'yyyy-MM-dd',\n  'projection.date.range' = '{first},NOW',\n  'projection.date.interval' = '1',\n  'projection.date.interval.unit' = 'DAYS',\n  'storage.location.template' = '{loc}/account=${{account}}/region=${{region}}/date=${{date}}/'\n);\n",
                columns(e, &|n| format!("`{}`", n.to_lowercase())),
                list(&p.accounts),
                list(&p.regions),
            )
        }
    }
}

//! Prints the bytes each index field takes, by kind (terms, postings, positions, columns,
//! stored records): `cargo run --release -p cairn-store --example space -- DATA_DIR`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: space DATA_DIR")?;
    let store = cairn_store::Store::open(std::path::Path::new(&dir))?;
    let usage = store.searcher()?.space_usage()?;
    let mut rows: std::collections::BTreeMap<String, [u64; 5]> = Default::default();
    for seg in usage.segments() {
        for (i, part) in [
            seg.termdict(),
            seg.postings(),
            seg.positions(),
            seg.fast_fields(),
        ]
        .iter()
        .enumerate()
        {
            for f in part.fields() {
                rows.entry(f.field_name().to_string()).or_default()[i] += f.total().get_bytes();
            }
        }
        rows.entry("(stored records)".into()).or_default()[4] += seg.store().total().get_bytes();
    }
    println!(
        "{:<28} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "field", "terms", "postings", "positions", "columns", "store"
    );
    for (name, r) in rows {
        let mb = |b: u64| format!("{:.1}M", b as f64 / 1e6);
        println!(
            "{name:<28} {:>10} {:>10} {:>10} {:>10} {:>10}",
            mb(r[0]),
            mb(r[1]),
            mb(r[2]),
            mb(r[3]),
            mb(r[4])
        );
    }
    Ok(())
}

//! Builds `assets/portal-directory.json.gz` from a folder of the vendors' published lists
//! (`cargo xtask directory` runs it on `../shared/data/directory`).
//!
//! Usage: build_directory LISTS_DIR OUT.json.gz

use std::collections::BTreeMap;
use std::io::Write;

use ownrecord_core::portal::directory::brands::{VendorList, build};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [lists_dir, out] = args.as_slice() else {
        eprintln!("usage: build_directory LISTS_DIR OUT.json.gz");
        std::process::exit(2);
    };
    let mut lists = BTreeMap::new();
    for list in VendorList::ALL {
        let path = std::path::Path::new(lists_dir).join(list.file_name());
        let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        lists.insert(list, text);
    }
    let extra: serde_json::Value =
        serde_json::from_str(ownrecord_core::portal::directory::EXTRA).expect("extra is JSON");
    let generated =
        std::env::var("OWNRECORD_DIRECTORY_DATE").unwrap_or_else(|_| "2026-12-01T00:00:00Z".into());
    let (bundle, counts) = build(&lists, &extra, &generated).unwrap_or_else(|e| panic!("{e}"));
    let json = serde_json::to_vec(&bundle).expect("serializes");
    let file = std::fs::File::create(out).unwrap_or_else(|e| panic!("{out}: {e}"));
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::best());
    gz.write_all(&json).unwrap();
    gz.finish().unwrap();
    for (list, count) in counts {
        println!("{:<48} {count:>6}", list.file_name());
    }
    println!(
        "wrote {out}: {} resources, {} KB of JSON",
        bundle["entry"].as_array().map_or(0, Vec::len),
        json.len() / 1024
    );
}

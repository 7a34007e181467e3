//! Converts a C-CDA file and prints the FHIR Bundle (for looking at what the converter makes).
fn main() {
    let path = std::env::args().nth(1).expect("usage: convert FILE");
    let bytes = std::fs::read(path).expect("readable file");
    match ownrecord_ccda::convert(&bytes) {
        Ok(c) => println!(
            "{}",
            serde_json::to_string_pretty(&c.bundle()).expect("json")
        ),
        Err(e) => eprintln!("it {e}"),
    }
}

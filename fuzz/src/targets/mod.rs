//! One module per target; each has `run(&[u8]) -> String`.

pub mod ccda;
pub mod device;
pub mod fhir_import;
pub mod fhir_model;
pub mod loopback;
pub mod search_page;
pub mod share_host_api;
pub mod shl;
pub mod smart;
pub mod token;

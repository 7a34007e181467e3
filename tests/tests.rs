//! Cross-crate tests of the whole workspace (one test binary; modules below).

mod a11y;
mod bindings;
mod boundaries;
mod e2e;
mod e2e_chart;
mod e2e_documents;
mod e2e_home;
mod e2e_lock;
mod e2e_own;
mod readme;

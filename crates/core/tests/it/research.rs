//! The de-identified research copy (issue 16).

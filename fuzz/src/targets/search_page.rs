//! `search-page`: a searchset page as sync reads it: the Bundle (entries kept raw, search
//! outcomes left out), its `next` link (same origin only), each resource checked and read (facts,
//! entry, subject) with the references and attachment URLs it names; and the same bytes as a
//! downloaded attachment (a Binary unwrapped).

use ownrecord_core::sync;

pub fn run(data: &[u8]) -> String {
    let base = super::smart::base();
    let page = match sync::fuzzing::read_page(data, &base) {
        Ok((resources, referenced, attachments, next)) => format!(
            "{resources} resource(s), {referenced} reference(s), {attachments} attachment(s), \
             next {:?}",
            next.map(String::from)
        ),
        Err(e) => e.to_string(),
    };
    let (content_type, len) = sync::fuzzing::read_attachment(data);
    format!("page: {page}; as an attachment: {content_type:?}, {len} bytes")
}

//! `device`: a portal's answers about this computer's registration (RFC 7591 / RFC 7523), read
//! as a sign-in reads them: the registration endpoint's answer (the client id it gave), and the
//! token endpoint's answer to a JWT-bearer renewal (the lifetime, the patient kept).

use ownrecord_core::portal::device;

const NOW: i64 = 1_700_000_000;

pub fn run(data: &[u8]) -> String {
    let registered = match device::read_registration_answer(data, "fuzz portal") {
        Ok(client_id) => format!(
            "registered: client id of {} chars",
            client_id.chars().count()
        ),
        Err(e) => format!("registered: {e}"),
    };
    let renewed = match device::read_renewal_answer(data, NOW, "p-1") {
        Ok(t) => format!(
            "renewed: patient {:?}, expires_at {:?}",
            t.patient, t.expires_at
        ),
        Err(e) => format!("renewed: {e}"),
    };
    format!("{registered}; {renewed}")
}

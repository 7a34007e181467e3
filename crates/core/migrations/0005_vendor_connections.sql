-- Schema version 5: what a connection needs from its vendor's profile (assets/vendors/), and how
-- it last went.
-- vendor: the directory's vendor code (or the one the patient chose); NULL: the spec as written.
-- practice: the practice at a portal that serves many from one base (athenahealth).
-- device_client_id / device_key: a dynamic client registration (RFC 7591) and its private key
-- (a JWK, made on this computer, kept only here), for the JWT-bearer grant (RFC 7523).
-- last_error: the error code of the last failed sync, cleared by a good one.
ALTER TABLE connections ADD COLUMN vendor TEXT;
ALTER TABLE connections ADD COLUMN practice TEXT;
ALTER TABLE connections ADD COLUMN device_client_id TEXT;
ALTER TABLE connections ADD COLUMN device_key TEXT;
ALTER TABLE connections ADD COLUMN last_error TEXT;

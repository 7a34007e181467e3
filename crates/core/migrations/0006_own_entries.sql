-- Schema version 6: what the patient adds themselves (a note, a medicine they buy, a scanned
-- letter) lives in a source of its own per person, kind 'self' ("Added by me"), whose Patient
-- is `me-<person id>`.
CREATE TABLE sources_v6 (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('file', 'portal', 'self')),
    name        TEXT NOT NULL,
    patient_id  TEXT NOT NULL DEFAULT '',
    added_at    TEXT NOT NULL,
    UNIQUE (kind, name, patient_id)
) STRICT;
INSERT INTO sources_v6 (id, kind, name, patient_id, added_at)
    SELECT id, kind, name, patient_id, added_at FROM sources;
DROP TABLE sources;
ALTER TABLE sources_v6 RENAME TO sources;

-- The visit each entry happened at (the id of an Encounter of the same source), for the
-- visits view; filled for the resources already stored by the Rust hook after this SQL
-- (vault/schema.rs), with the same reader as new ones.
ALTER TABLE entries ADD COLUMN encounter TEXT;
CREATE INDEX entries_by_encounter ON entries (person_id, encounter) WHERE encounter IS NOT NULL;

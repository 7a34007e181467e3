-- Schema version 3: people, portal sources per patient, and the clinical entry index.
-- Runs with foreign keys off (tables are rebuilt); the migration checks them before it commits.
-- The Rust hook after this SQL (vault/schema.rs) reads every stored resource into `entries`
-- and makes people of the Patients already in the vault.

-- The search index, rebuilt by the hook: each resource's text now carries its Patient's word
-- (vault/entries.rs `subject_token`), so one person's search runs inside the index.
DROP TABLE resource_text;
CREATE VIRTUAL TABLE resource_text USING fts5 (
    text,
    content = '',
    contentless_delete = 1,
    detail = none,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- A portal source is one patient at one FHIR base (two family members on one portal are two
-- sources); a file source has patient_id ''.
CREATE TABLE sources_v3 (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('file', 'portal')),
    name        TEXT NOT NULL,
    patient_id  TEXT NOT NULL DEFAULT '',
    added_at    TEXT NOT NULL,
    UNIQUE (kind, name, patient_id)
) STRICT;
INSERT INTO sources_v3 (id, kind, name, patient_id, added_at)
    SELECT s.id, s.kind, s.name, coalesce(c.patient_id, ''), s.added_at
    FROM sources s LEFT JOIN connections c ON s.kind = 'portal' AND c.fhir_base = s.name;
DROP TABLE sources;
ALTER TABLE sources_v3 RENAME TO sources;

-- One connection per patient at a portal (a parent may connect their own and their child's).
CREATE TABLE connections_v3 (
    id                      INTEGER PRIMARY KEY,
    fhir_base               TEXT NOT NULL,
    name                    TEXT NOT NULL,
    client_id               TEXT NOT NULL,
    client_secret           TEXT,
    authorization_endpoint  TEXT NOT NULL,
    token_endpoint          TEXT NOT NULL,
    revocation_endpoint     TEXT,
    scopes                  TEXT NOT NULL,
    patient_id              TEXT NOT NULL,
    access_token            TEXT,
    access_expires_at       INTEGER,
    refresh_token           TEXT,
    status                  TEXT NOT NULL CHECK (status IN ('connected', 'needs_sign_in')),
    connected_at            TEXT NOT NULL,
    last_sync_at            TEXT,
    UNIQUE (fhir_base, patient_id)
) STRICT;
INSERT INTO connections_v3 SELECT * FROM connections;
DROP TABLE connections;
ALTER TABLE connections_v3 RENAME TO connections;

-- The humans whose records the vault holds. `name` is set only when the patient renamed them;
-- otherwise the name is read from their Patient resources.
CREATE TABLE people (
    id          INTEGER PRIMARY KEY,
    name        TEXT,
    created_at  TEXT NOT NULL
) STRICT;

-- Which Patient of which source is which person: a person is one or more of these.
CREATE TABLE person_patients (
    source_id   INTEGER NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    patient_id  TEXT NOT NULL,
    person_id   INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    linked_at   TEXT NOT NULL,
    PRIMARY KEY (source_id, patient_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX person_patients_by_person ON person_patients (person_id);

-- What the clinical model (crates/fhir) read from each resource, written with the resource.
-- Every view and export reads these rows; nothing else interprets FHIR JSON for meaning.
CREATE TABLE entries (
    resource_id   INTEGER PRIMARY KEY REFERENCES resources (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    -- The person the resource belongs to; NULL for shared resources (Organization, Practitioner, ...).
    person_id     INTEGER REFERENCES people (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    -- The id of the Patient (in the resource's source) it belongs to.
    subject       TEXT,
    kind          TEXT NOT NULL,
    -- The clinical date as received when it is a valid FHIR date ('' when none or invalid).
    date          TEXT NOT NULL,
    status        TEXT,
    display       TEXT NOT NULL,
    detail        TEXT,
    -- The main concept's first code (lab trends) and every system|code of it (one per line).
    code          TEXT,
    codes         TEXT NOT NULL,
    value         REAL,
    unit          TEXT,
    low           REAL,
    high          REAL,
    -- The entry this one repeats from another source of the same person (NULL: it is shown).
    duplicate_of  INTEGER
) STRICT;

CREATE INDEX entries_timeline ON entries (person_id, date DESC, resource_id DESC) WHERE duplicate_of IS NULL;
-- Not partial: the duplicate rule reads a person's entries, duplicates included.
CREATE INDEX entries_by_kind ON entries (person_id, kind, date DESC, resource_id DESC);
CREATE INDEX entries_by_code ON entries (person_id, code) WHERE code IS NOT NULL;
CREATE INDEX entries_duplicates ON entries (duplicate_of) WHERE duplicate_of IS NOT NULL;
CREATE INDEX entries_unlinked ON entries (subject) WHERE person_id IS NULL AND subject IS NOT NULL;

-- Schema version 1: sources, resources (+ history, identifiers, full-text), audit log.

CREATE TABLE sources (
    id        INTEGER PRIMARY KEY,
    kind      TEXT NOT NULL CHECK (kind IN ('file', 'portal')),
    name      TEXT NOT NULL,
    added_at  TEXT NOT NULL,
    UNIQUE (kind, name)
) STRICT;

-- One row per (source, resourceType, id): the current version, byte-exact as received.
CREATE TABLE resources (
    id             INTEGER PRIMARY KEY,
    source_id      INTEGER NOT NULL REFERENCES sources (id) DEFERRABLE INITIALLY DEFERRED,
    resource_type  TEXT NOT NULL,
    fhir_id        TEXT NOT NULL,
    version_id     TEXT,
    last_updated   TEXT,
    clinical_date  TEXT,
    sha256         BLOB NOT NULL,
    json           TEXT NOT NULL,
    imported_at    TEXT NOT NULL,
    UNIQUE (source_id, resource_type, fhir_id)
) STRICT;

-- Earlier versions, kept whole when a newer one replaces them.
CREATE TABLE resource_history (
    id            INTEGER PRIMARY KEY,
    resource_id   INTEGER NOT NULL REFERENCES resources (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    version_id    TEXT,
    last_updated  TEXT,
    sha256        BLOB NOT NULL,
    json          TEXT NOT NULL,
    replaced_at   TEXT NOT NULL
) STRICT;

CREATE INDEX resource_history_by_resource ON resource_history (resource_id);

-- Business identifiers, to resolve conditional references such as Organization?identifier=system|value.
CREATE TABLE identifiers (
    system       TEXT NOT NULL,
    value        TEXT NOT NULL,
    resource_id  INTEGER NOT NULL REFERENCES resources (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    PRIMARY KEY (system, value, resource_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX identifiers_by_resource ON identifiers (resource_id);

-- Human-readable text of each resource (rowid = resources.id). Contentless: the text lives only in the
-- index. detail=none: search matches words and prefixes, never phrases, so positions are not stored.
CREATE VIRTUAL TABLE resource_text USING fts5 (
    text,
    content = '',
    contentless_delete = 1,
    detail = none,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- The append-only, hash-chained audit & disclosure log. Never holds clinical content.
CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    kind       TEXT NOT NULL,
    details    TEXT NOT NULL,
    prev_hash  BLOB NOT NULL,
    hash       BLOB NOT NULL
) STRICT;

CREATE TRIGGER audit_log_refuses_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_log_refuses_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- Schema version 2: portal connections (tokens live only here, encrypted with the vault) and sync state.

CREATE TABLE connections (
    id                      INTEGER PRIMARY KEY,
    fhir_base               TEXT NOT NULL UNIQUE,
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
    last_sync_at            TEXT
) STRICT;

-- Per connection and resource type: the newest meta.lastUpdated fully synced (for _lastUpdated=gt...).
CREATE TABLE sync_watermarks (
    connection_id  INTEGER NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    resource_type  TEXT NOT NULL,
    last_updated   TEXT NOT NULL,
    PRIMARY KEY (connection_id, resource_type)
) STRICT, WITHOUT ROWID;

-- Attachments (DocumentReference / DiagnosticReport.presentedForm) downloaded by URL.
CREATE TABLE attachments (
    url           TEXT PRIMARY KEY,
    source_id     INTEGER NOT NULL REFERENCES sources (id),
    content_type  TEXT,
    sha256        BLOB NOT NULL,
    data          BLOB NOT NULL,
    fetched_at    TEXT NOT NULL
) STRICT;

-- References (Organization/Practitioner/Location/Medication/...) seen in synced pages and not yet
-- fetched: written with the page, cleared once fetched, so an interrupted sync resumes them.
CREATE TABLE sync_references (
    connection_id  INTEGER NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    resource_type  TEXT NOT NULL,
    fhir_id        TEXT NOT NULL,
    PRIMARY KEY (connection_id, resource_type, fhir_id)
) STRICT, WITHOUT ROWID;

-- Attachment URLs seen in synced pages and not yet downloaded (cleared once stored).
CREATE TABLE sync_attachments (
    connection_id  INTEGER NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    url            TEXT NOT NULL,
    PRIMARY KEY (connection_id, url)
) STRICT, WITHOUT ROWID;

-- Schema version 4: the patient's preferences kept inside the encrypted vault (not in the plain
-- vault.json), e.g. the folder automatic backups go to.
CREATE TABLE preferences (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

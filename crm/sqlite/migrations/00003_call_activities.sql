-- +goose Up
-- Every call becomes an activity, including calls from nobody in the CRM:
-- contact_id may be NULL. SQLite cannot drop NOT NULL in place, so the
-- table is rebuilt.
CREATE TABLE activities_v3 (
    id          INTEGER PRIMARY KEY,
    contact_id  INTEGER REFERENCES contacts (id),
    kind        TEXT    NOT NULL CHECK (kind IN ('call', 'note')),
    call_id     TEXT    NOT NULL DEFAULT '',
    direction   TEXT    NOT NULL DEFAULT '',
    number      TEXT    NOT NULL DEFAULT '',
    agent       TEXT    NOT NULL DEFAULT '',
    subject     TEXT    NOT NULL DEFAULT '',
    body        TEXT    NOT NULL DEFAULT '',
    disposition TEXT    NOT NULL DEFAULT '',
    at          INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    outcome     TEXT    NOT NULL DEFAULT '',
    queue       TEXT    NOT NULL DEFAULT '',
    line        TEXT    NOT NULL DEFAULT '',
    details     TEXT
);
INSERT INTO activities_v3 (id, contact_id, kind, call_id, direction, number, agent, subject, body, disposition,
    at, duration_ms, created_at)
SELECT id, contact_id, kind, call_id, direction, number, agent, subject, body, disposition, at, duration_ms,
    created_at FROM activities;
DROP TABLE activities;
ALTER TABLE activities_v3 RENAME TO activities;
CREATE UNIQUE INDEX activities_call ON activities (call_id) WHERE kind = 'call' AND call_id <> '';
CREATE INDEX activities_contact ON activities (contact_id, at DESC, id DESC);
CREATE INDEX activities_at ON activities (at);
CREATE INDEX activities_agent ON activities (agent, at);

-- +goose Down
DELETE FROM activities WHERE contact_id IS NULL;
CREATE TABLE activities_v2 (
    id          INTEGER PRIMARY KEY,
    contact_id  INTEGER NOT NULL REFERENCES contacts (id),
    kind        TEXT    NOT NULL CHECK (kind IN ('call', 'note')),
    call_id     TEXT    NOT NULL DEFAULT '',
    direction   TEXT    NOT NULL DEFAULT '',
    number      TEXT    NOT NULL DEFAULT '',
    agent       TEXT    NOT NULL DEFAULT '',
    subject     TEXT    NOT NULL DEFAULT '',
    body        TEXT    NOT NULL DEFAULT '',
    disposition TEXT    NOT NULL DEFAULT '',
    at          INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);
INSERT INTO activities_v2 SELECT id, contact_id, kind, call_id, direction, number, agent, subject, body,
    disposition, at, duration_ms, created_at FROM activities;
DROP TABLE activities;
ALTER TABLE activities_v2 RENAME TO activities;
CREATE UNIQUE INDEX activities_call ON activities (call_id) WHERE kind = 'call' AND call_id <> '';
CREATE INDEX activities_contact ON activities (contact_id, at DESC, id DESC);

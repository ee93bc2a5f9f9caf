-- +goose Up
CREATE TABLE activities (
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
-- One activity per call, however often its events are replayed.
CREATE UNIQUE INDEX activities_call ON activities (call_id) WHERE kind = 'call' AND call_id <> '';
CREATE INDEX activities_contact ON activities (contact_id, at DESC, id DESC);

CREATE TABLE tasks (
    id         INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL REFERENCES contacts (id),
    title      TEXT    NOT NULL,
    due_at     INTEGER NOT NULL,
    assignee   TEXT    NOT NULL DEFAULT '',
    done_at    INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX tasks_open ON tasks (contact_id, due_at) WHERE done_at IS NULL;

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL,
    display_name  TEXT    NOT NULL DEFAULT '',
    role          TEXT    NOT NULL CHECK (role IN ('agent', 'supervisor', 'admin')),
    lang          TEXT    NOT NULL DEFAULT 'en',
    endpoint      TEXT    NOT NULL DEFAULT '',
    password_hash BLOB    NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_username ON users (lower(username));

-- Only a hash of each session token is kept.
CREATE TABLE sessions (
    token_hash BLOB    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- +goose Down
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE tasks;
DROP TABLE activities;

-- +goose Up
CREATE TABLE activities (
    id          bigserial   PRIMARY KEY,
    contact_id  bigint      NOT NULL REFERENCES contacts (id),
    kind        text        NOT NULL CHECK (kind IN ('call', 'note')),
    call_id     text        NOT NULL DEFAULT '',
    direction   text        NOT NULL DEFAULT '',
    number      text        NOT NULL DEFAULT '',
    agent       text        NOT NULL DEFAULT '',
    subject     text        NOT NULL DEFAULT '',
    body        text        NOT NULL DEFAULT '',
    disposition text        NOT NULL DEFAULT '',
    at          timestamptz NOT NULL,
    duration_ms bigint      NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL
);
-- One activity per call, however often its events are replayed.
CREATE UNIQUE INDEX activities_call ON activities (call_id) WHERE kind = 'call' AND call_id <> '';
CREATE INDEX activities_contact ON activities (contact_id, at DESC, id DESC);

CREATE TABLE tasks (
    id         bigserial   PRIMARY KEY,
    contact_id bigint      NOT NULL REFERENCES contacts (id),
    title      text        NOT NULL,
    due_at     timestamptz NOT NULL,
    assignee   text        NOT NULL DEFAULT '',
    done_at    timestamptz,
    created_at timestamptz NOT NULL
);
CREATE INDEX tasks_open ON tasks (contact_id, due_at) WHERE done_at IS NULL;

CREATE TABLE users (
    id            bigserial   PRIMARY KEY,
    username      text        NOT NULL,
    display_name  text        NOT NULL DEFAULT '',
    role          text        NOT NULL CHECK (role IN ('agent', 'supervisor', 'admin')),
    lang          text        NOT NULL DEFAULT 'en',
    endpoint      text        NOT NULL DEFAULT '',
    password_hash bytea       NOT NULL,
    disabled      boolean     NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL
);
CREATE UNIQUE INDEX users_username ON users (lower(username));

-- Only a hash of each session token is kept.
CREATE TABLE sessions (
    token_hash bytea       PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- +goose Down
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE tasks;
DROP TABLE activities;

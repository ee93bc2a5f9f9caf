-- +goose Up
-- The agent's wrap-up of a call (script answers, disposition, notes), saved
-- at every answer and finished once.
CREATE TABLE wrapups (
    call_id    TEXT    PRIMARY KEY,
    agent      TEXT    NOT NULL DEFAULT '',
    data       TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    done_at    INTEGER,
    -- Raised by every save: a save from a stale copy is refused.
    rev        INTEGER NOT NULL DEFAULT 0
);
ALTER TABLE activities ADD COLUMN wrapup TEXT;
CREATE INDEX activities_queue ON activities (queue, at) WHERE queue <> '';
ALTER TABLE tasks ADD COLUMN call_id TEXT NOT NULL DEFAULT '';
-- A due follow-up is announced once: notified_at marks it taken.
ALTER TABLE tasks ADD COLUMN notified_at INTEGER;
CREATE INDEX tasks_due ON tasks (due_at) WHERE done_at IS NULL AND notified_at IS NULL;

-- +goose Down
DROP INDEX tasks_due;
ALTER TABLE tasks DROP COLUMN notified_at;
ALTER TABLE tasks DROP COLUMN call_id;
DROP INDEX activities_queue;
ALTER TABLE activities DROP COLUMN wrapup;
DROP TABLE wrapups;

-- +goose Up
-- The agent's wrap-up of a call (script answers, disposition, notes), saved
-- at every answer and finished once.
CREATE TABLE wrapups (
    call_id    text        PRIMARY KEY,
    agent      text        NOT NULL DEFAULT '',
    data       jsonb       NOT NULL,
    updated_at timestamptz NOT NULL,
    done_at    timestamptz,
    -- Raised by every save: a save from a stale copy is refused.
    rev        bigint      NOT NULL DEFAULT 0
);
ALTER TABLE activities ADD COLUMN wrapup jsonb;
CREATE INDEX activities_queue ON activities (queue, at) WHERE queue <> '';
ALTER TABLE tasks
    ADD COLUMN call_id     text NOT NULL DEFAULT '',
    -- A due follow-up is announced once: notified_at marks it taken.
    ADD COLUMN notified_at timestamptz;
CREATE INDEX tasks_due ON tasks (due_at) WHERE done_at IS NULL AND notified_at IS NULL;

-- +goose Down
DROP INDEX tasks_due;
ALTER TABLE tasks DROP COLUMN notified_at, DROP COLUMN call_id;
DROP INDEX activities_queue;
ALTER TABLE activities DROP COLUMN wrapup;
DROP TABLE wrapups;

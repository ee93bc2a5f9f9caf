-- +goose Up
-- Every call becomes an activity, including calls from nobody in the CRM.
ALTER TABLE activities ALTER COLUMN contact_id DROP NOT NULL;
ALTER TABLE activities
    ADD COLUMN outcome text NOT NULL DEFAULT '',
    ADD COLUMN queue   text NOT NULL DEFAULT '',
    ADD COLUMN line    text NOT NULL DEFAULT '',
    ADD COLUMN details jsonb;
CREATE INDEX activities_at ON activities (at);
CREATE INDEX activities_agent ON activities (agent, at);

-- +goose Down
DROP INDEX activities_agent;
DROP INDEX activities_at;
ALTER TABLE activities DROP COLUMN details, DROP COLUMN line, DROP COLUMN queue, DROP COLUMN outcome;
DELETE FROM activities WHERE contact_id IS NULL;
ALTER TABLE activities ALTER COLUMN contact_id SET NOT NULL;

-- +goose Up
-- A call's number normalised to E.164 beside the number as the network gave
-- it ('' when it was not a valid number, and for calls written before).
ALTER TABLE activities ADD COLUMN number_e164 TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE activities DROP COLUMN number_e164;

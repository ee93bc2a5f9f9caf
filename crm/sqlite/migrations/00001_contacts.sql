-- +goose Up
-- Times are Unix milliseconds. Tags and emails are kept as JSON on the
-- contact for reads (a lookup returns them without a join); contact_tags
-- indexes tags for filtering.
CREATE TABLE contacts (
    id                  INTEGER PRIMARY KEY,
    kind                TEXT    NOT NULL CHECK (kind IN ('person', 'organization')),
    first_name          TEXT    NOT NULL DEFAULT '',
    last_name           TEXT    NOT NULL DEFAULT '',
    name                TEXT    NOT NULL DEFAULT '',
    display_name        TEXT    NOT NULL,
    search_name         TEXT    NOT NULL,
    search_last         TEXT    NOT NULL,
    status              TEXT    NOT NULL CHECK (status IN ('lead', 'qualified', 'customer', 'inactive')),
    owner               TEXT    NOT NULL DEFAULT '',
    tags                TEXT    NOT NULL DEFAULT '[]',
    emails              TEXT    NOT NULL DEFAULT '[]',
    custom              TEXT,
    notes               TEXT    NOT NULL DEFAULT '',
    last_interaction_at INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    deleted_at          INTEGER
);
CREATE INDEX contacts_search_name ON contacts (search_name) WHERE deleted_at IS NULL;
CREATE INDEX contacts_search_last ON contacts (search_last) WHERE deleted_at IS NULL;

CREATE TABLE contact_tags (
    tag        TEXT    NOT NULL,
    contact_id INTEGER NOT NULL REFERENCES contacts (id),
    PRIMARY KEY (tag, contact_id)
) WITHOUT ROWID;
CREATE INDEX contact_tags_contact ON contact_tags (contact_id);

CREATE TABLE memberships (
    person_id INTEGER NOT NULL REFERENCES contacts (id),
    org_id    INTEGER NOT NULL REFERENCES contacts (id),
    PRIMARY KEY (person_id, org_id)
) WITHOUT ROWID;
CREATE INDEX memberships_org ON memberships (org_id, person_id);

-- Each number is indexed three ways, one per match tier: e164 (exact),
-- national where it was stored without a country code, and tail (suffix).
CREATE TABLE phones (
    id         INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL REFERENCES contacts (id),
    pos        INTEGER NOT NULL,
    label      TEXT    NOT NULL,
    raw        TEXT    NOT NULL,
    e164       TEXT,
    national   TEXT    NOT NULL,
    has_cc     INTEGER NOT NULL,
    ext        TEXT    NOT NULL DEFAULT '',
    tail       TEXT    NOT NULL
);
CREATE INDEX phones_contact  ON phones (contact_id);
CREATE INDEX phones_e164     ON phones (e164) WHERE e164 IS NOT NULL;
CREATE INDEX phones_national ON phones (national) WHERE has_cc = 0;
CREATE INDEX phones_tail     ON phones (tail);

-- +goose Down
DROP TABLE phones;
DROP TABLE memberships;
DROP TABLE contact_tags;
DROP TABLE contacts;

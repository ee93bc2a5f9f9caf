-- +goose Up
-- Tags live on the contact as text[] (a lookup returns them without a join)
-- and a GIN index serves the tag filter. search_name and search_last are
-- compared byte-wise (COLLATE "C") so a prefix is an index range scan.
CREATE TABLE contacts (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind                text        NOT NULL CHECK (kind IN ('person', 'organization')),
    first_name          text        NOT NULL DEFAULT '',
    last_name           text        NOT NULL DEFAULT '',
    name                text        NOT NULL DEFAULT '',
    display_name        text        NOT NULL,
    search_name         text        COLLATE "C" NOT NULL,
    search_last         text        COLLATE "C" NOT NULL,
    status              text        NOT NULL CHECK (status IN ('lead', 'qualified', 'customer', 'inactive')),
    owner               text        NOT NULL DEFAULT '',
    tags                text[]      NOT NULL DEFAULT '{}',
    emails              jsonb       NOT NULL DEFAULT '[]',
    custom              jsonb,
    notes               text        NOT NULL DEFAULT '',
    last_interaction_at timestamptz,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    deleted_at          timestamptz
);
CREATE INDEX contacts_search_name ON contacts (search_name) WHERE deleted_at IS NULL;
CREATE INDEX contacts_search_last ON contacts (search_last) WHERE deleted_at IS NULL;
CREATE INDEX contacts_tags ON contacts USING gin (tags) WHERE deleted_at IS NULL;

CREATE TABLE memberships (
    person_id bigint NOT NULL REFERENCES contacts (id),
    org_id    bigint NOT NULL REFERENCES contacts (id),
    PRIMARY KEY (person_id, org_id)
);
CREATE INDEX memberships_org ON memberships (org_id, person_id);

-- Each number is indexed three ways, one per match tier: e164 (exact),
-- national where it was stored without a country code, and tail (suffix).
CREATE TABLE phones (
    id         bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contact_id bigint  NOT NULL REFERENCES contacts (id),
    pos        integer NOT NULL,
    label      text    NOT NULL,
    raw        text    NOT NULL,
    e164       text,
    national   text    NOT NULL,
    has_cc     boolean NOT NULL,
    ext        text    NOT NULL DEFAULT '',
    tail       text    NOT NULL
);
CREATE INDEX phones_contact  ON phones (contact_id, pos);
CREATE INDEX phones_e164     ON phones (e164) WHERE e164 IS NOT NULL;
CREATE INDEX phones_national ON phones (national) WHERE NOT has_cc;
CREATE INDEX phones_tail     ON phones (tail);

-- +goose Down
DROP TABLE phones;
DROP TABLE memberships;
DROP TABLE contacts;

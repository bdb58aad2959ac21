-- +goose Up
-- The vendor's own id for a customer (its CRM or billing id), so its systems
-- can name an account without knowing Entitle's slug; and the country the
-- account is in (ISO 3166-1 alpha-2), which regional catalog rules read.
ALTER TABLE account ADD COLUMN external_id text;
ALTER TABLE account ADD COLUMN country text;
ALTER TABLE account ADD CONSTRAINT account_external_id_format
    CHECK (external_id IS NULL OR (length(external_id) BETWEEN 1 AND 200));
ALTER TABLE account ADD CONSTRAINT account_country_format
    CHECK (country IS NULL OR country ~ '^[A-Z]{2}$');
CREATE UNIQUE INDEX account_external_id_key ON account (external_id) WHERE external_id IS NOT NULL;

-- +goose Down
DROP INDEX account_external_id_key;
ALTER TABLE account DROP CONSTRAINT account_country_format;
ALTER TABLE account DROP CONSTRAINT account_external_id_format;
ALTER TABLE account DROP COLUMN country;
ALTER TABLE account DROP COLUMN external_id;

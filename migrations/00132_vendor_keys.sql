-- +goose Up
-- Vendor API keys: a key of the vendor's own backend, reaching every
-- account (named by slug or by the vendor's external id). They live beside
-- account keys, without an account, and may carry the vendor's scopes too.
ALTER TABLE api_key ALTER COLUMN account_id DROP NOT NULL;
ALTER TABLE api_key DROP CONSTRAINT api_key_scopes_check;
ALTER TABLE api_key ADD CONSTRAINT api_key_scopes_check CHECK (cardinality(scopes) > 0 AND (
    scopes <@ ARRAY['check', 'usage', 'license']
    OR (account_id IS NULL AND scopes <@ ARRAY['check', 'usage', 'license', 'accounts:read', 'accounts:write', 'webhooks'])));
CREATE INDEX api_key_vendor_idx ON api_key (created_at DESC) WHERE account_id IS NULL;

-- +goose Down
DROP INDEX api_key_vendor_idx;
ALTER TABLE api_key DROP CONSTRAINT api_key_scopes_check;
ALTER TABLE api_key ADD CONSTRAINT api_key_scopes_check CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['check', 'usage', 'license']);
ALTER TABLE api_key ALTER COLUMN account_id SET NOT NULL;

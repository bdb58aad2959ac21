-- +goose Up
-- The W3C trace context of the request that delivered a webhook event, so
-- the worker's apply continues the same trace (empty when not traced).
ALTER TABLE stripe_event ADD COLUMN trace_parent text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE stripe_event DROP COLUMN trace_parent;

-- +goose Up
-- A machines feature may require a heartbeat: a machine not heard from
-- within the window is dead, and with on_dead 'deactivate' a sweep frees
-- its place. 0 seconds: no heartbeat required.
ALTER TABLE feature ADD COLUMN machine_heartbeat_seconds int NOT NULL DEFAULT 0 CHECK (machine_heartbeat_seconds >= 0);
ALTER TABLE feature ADD COLUMN machine_on_dead text NOT NULL DEFAULT '' CHECK (machine_on_dead IN ('', 'keep', 'deactivate'));
-- Why a machine was deactivated: by a person or key, or by the sweep
-- because it missed its heartbeat window (the application is told so).
ALTER TABLE machine ADD COLUMN deactivated_reason text NOT NULL DEFAULT ''
    CHECK (deactivated_reason IN ('', 'manual', 'dead'));
CREATE INDEX machine_last_seen_idx ON machine (feature_id, last_seen_at) WHERE deactivated_at IS NULL;

-- +goose Down
DROP INDEX machine_last_seen_idx;
ALTER TABLE machine DROP COLUMN deactivated_reason;
ALTER TABLE feature DROP COLUMN machine_on_dead;
ALTER TABLE feature DROP COLUMN machine_heartbeat_seconds;

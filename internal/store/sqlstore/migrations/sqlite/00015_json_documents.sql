-- PostgreSQL's documents become json instead of jsonb in this version;
-- SQLite has always stored them as text, so there is nothing to change.
-- The migration exists so that both dialects share their numbering.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;

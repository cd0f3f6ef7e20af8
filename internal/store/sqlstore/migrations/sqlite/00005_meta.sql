-- Facts about the database itself rather than about a workspace: the
-- fingerprint of the key that seals sensitive values, and the row the write
-- probe writes and rolls back.

-- +goose Up
CREATE TABLE "gatehouse_meta" (
    "key" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    CONSTRAINT "gatehouse_meta_pkey" PRIMARY KEY ("key")
);

-- +goose Down
DROP TABLE "gatehouse_meta";

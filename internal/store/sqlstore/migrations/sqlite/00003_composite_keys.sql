-- Composite identities (resource variables, approvals, system links) are
-- keys that no other combination of parts shares: each part's backslashes
-- and slashes are escaped with a backslash and the parts are joined with
-- "/" (model.CompositeKey). They were joined with "-", which ids containing
-- dashes made ambiguous. This rewrites the stored ids in the new form.

-- +goose Up
UPDATE "resource_variable" SET "id" =
    replace(replace("resource_id", '\', '\\'), '/', '\/') || '/' ||
    replace(replace(json_extract("data", '$.key'), '\', '\\'), '/', '\/');

UPDATE "user_approval_record" SET "id" =
    replace(replace("version_id", '\', '\\'), '/', '\/') || '/' ||
    replace(replace(json_extract("data", '$.userId'), '\', '\\'), '/', '\/') || '/' ||
    replace(replace("environment_id", '\', '\\'), '/', '\/');

UPDATE "system_deployment" SET "id" =
    replace(replace("system_id", '\', '\\'), '/', '\/') || '/' ||
    replace(replace("deployment_id", '\', '\\'), '/', '\/');

UPDATE "system_environment" SET "id" =
    replace(replace("system_id", '\', '\\'), '/', '\/') || '/' ||
    replace(replace("environment_id", '\', '\\'), '/', '\/');

-- +goose Down
UPDATE "resource_variable" SET "id" = "resource_id" || '-' || json_extract("data", '$.key');
UPDATE "user_approval_record" SET "id" = "version_id" || '-' || json_extract("data", '$.userId') || '-' || "environment_id";
UPDATE "system_deployment" SET "id" = "system_id" || '-' || "deployment_id";
UPDATE "system_environment" SET "id" = "system_id" || '-' || "environment_id";

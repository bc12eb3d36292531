-- User search reads two generated columns, each with one trigram index, instead of lowering five
-- columns on every row (ILIKE) with five indexes. Hand-written: Prisma cannot express generated
-- columns (schema.prisma declares them @ignore with these expressions as their defaults).

-- The name, and the given and family names unless the name holds them already; in lower case.
CREATE FUNCTION roster_user_search_names(name TEXT, given_name TEXT, family_name TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT lower(coalesce(name, '')
    || CASE WHEN given_name IS NULL OR strpos(lower(coalesce(name, '')), lower(given_name)) > 0 THEN '' ELSE ' ' || given_name END
    || CASE WHEN family_name IS NULL OR strpos(lower(coalesce(name, '')), lower(family_name)) > 0 THEN '' ELSE ' ' || family_name END)
$$;

-- The same names, then email, username, unique id and phone, in lower case and separated by
-- U+001F so that a substring match stays within one field. (No call to the function above: a
-- restore evaluates generated columns with an empty search_path.)
CREATE FUNCTION roster_user_search_text(
  name TEXT, given_name TEXT, family_name TEXT, email TEXT, username TEXT, unique_id TEXT, phone TEXT
) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT lower(coalesce(name, '')
    || CASE WHEN given_name IS NULL OR strpos(lower(coalesce(name, '')), lower(given_name)) > 0 THEN '' ELSE ' ' || given_name END
    || CASE WHEN family_name IS NULL OR strpos(lower(coalesce(name, '')), lower(family_name)) > 0 THEN '' ELSE ' ' || family_name END
    || E'\x1f' || coalesce(email, '') || E'\x1f' || coalesce(username, '') || E'\x1f' || coalesce(unique_id, '')
    || E'\x1f' || coalesce(phone, ''))
$$;

-- DropIndex
DROP INDEX "User_email_trgm_idx";

-- DropIndex
DROP INDEX "User_name_trgm_idx";

-- DropIndex
DROP INDEX "User_phone_trgm_idx";

-- DropIndex
DROP INDEX "User_uniqueId_trgm_idx";

-- DropIndex
DROP INDEX "User_username_trgm_idx";

-- AlterTable
ALTER TABLE "User"
ADD COLUMN "searchNames" TEXT GENERATED ALWAYS AS (roster_user_search_names("name", "givenName", "familyName")) STORED,
ADD COLUMN "searchText" TEXT GENERATED ALWAYS AS (roster_user_search_text(
  "name", "givenName", "familyName", "email"::TEXT, "username"::TEXT, "uniqueId", "phone")) STORED;

-- CreateIndex
CREATE INDEX "User_searchNames_trgm_idx" ON "User" USING GIN ("searchNames" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "User_searchText_trgm_idx" ON "User" USING GIN ("searchText" gin_trgm_ops);

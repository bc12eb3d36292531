-- userStats and totalCount filtered by country (and status) read this index alone: it holds
-- every column they count by, so they no longer visit a heap page per matching user.
-- DropIndex
DROP INDEX "User_realmId_country_status_live_idx";

-- CreateIndex
CREATE INDEX "User_realmId_country_status_live_idx" ON "User"("realmId", "country", "status", "emailVerified", "phoneVerified", "mfaFactorCount", "createdAt", "lastActiveAt", "lastLoginAt") WHERE ("deletedAt" IS NULL);

-- DropIndex
DROP INDEX "User_realmId_country_status_live_idx";

-- CreateIndex
CREATE INDEX "User_realmId_country_status_live_idx" ON "User"("realmId", "country", "status", "emailVerified", "phoneVerified", "mfaFactorCount", "createdAt", "lastActiveAt", "lastLoginAt", "id", "mfaSince") WHERE ("deletedAt" IS NULL);

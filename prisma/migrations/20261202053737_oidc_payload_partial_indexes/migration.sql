-- DropIndex
DROP INDEX "OidcPayload_realmId_expiresAt_idx";

-- DropIndex
DROP INDEX "OidcPayload_realmId_model_grantId_idx";

-- DropIndex
DROP INDEX "OidcPayload_realmId_model_uid_createdAt_idx";

-- DropIndex
DROP INDEX "OidcPayload_realmId_model_userCode_key";

-- CreateIndex
CREATE INDEX "OidcPayload_realmId_model_uid_createdAt_idx" ON "OidcPayload"("realmId", "model", "uid", "createdAt") WHERE (uid IS NOT NULL);

-- CreateIndex
CREATE INDEX "OidcPayload_realmId_model_grantId_idx" ON "OidcPayload"("realmId", "model", "grantId") WHERE ("grantId" IS NOT NULL);

-- CreateIndex
CREATE INDEX "OidcPayload_realmId_expiresAt_idx" ON "OidcPayload"("realmId", "expiresAt") WHERE ("expiresAt" IS NOT NULL);

-- CreateIndex
CREATE UNIQUE INDEX "OidcPayload_realmId_model_userCode_key" ON "OidcPayload"("realmId", "model", "userCode") WHERE ("userCode" IS NOT NULL);

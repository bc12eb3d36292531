-- DropIndex
DROP INDEX "OidcPayload_realmId_model_uid_key";

-- CreateIndex
CREATE INDEX "OidcPayload_realmId_model_uid_createdAt_idx" ON "OidcPayload"("realmId", "model", "uid", "createdAt");

-- CreateIndex
CREATE INDEX "RecoveryRequest_status_expiresAt_idx" ON "RecoveryRequest"("status", "expiresAt");

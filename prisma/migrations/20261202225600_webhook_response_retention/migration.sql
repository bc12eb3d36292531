-- CreateIndex
CREATE INDEX "OutboxMessage_response_kept_idx" ON "OutboxMessage"("updatedAt") WHERE ("responseBody" IS NOT NULL);

-- CreateIndex
CREATE INDEX "UserCountDelta_realmId_metric_bucket_idx" ON "UserCountDelta"("realmId", "metric", "bucket");

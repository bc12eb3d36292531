-- CreateTable
CREATE TABLE "OidcPayload" (
    "realmId" UUID NOT NULL,
    "model" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "grantId" TEXT,
    "userCode" TEXT,
    "uid" TEXT,
    "expiresAt" TIMESTAMPTZ(3),
    "consumedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "OidcPayload_pkey" PRIMARY KEY ("realmId","model","id")
);

-- CreateIndex
CREATE INDEX "OidcPayload_realmId_model_grantId_idx" ON "OidcPayload"("realmId", "model", "grantId");

-- CreateIndex
CREATE INDEX "OidcPayload_realmId_expiresAt_idx" ON "OidcPayload"("realmId", "expiresAt");

-- CreateIndex
CREATE UNIQUE INDEX "OidcPayload_realmId_model_uid_key" ON "OidcPayload"("realmId", "model", "uid");

-- CreateIndex
CREATE UNIQUE INDEX "OidcPayload_realmId_model_userCode_key" ON "OidcPayload"("realmId", "model", "userCode");

-- AddForeignKey
ALTER TABLE "OidcPayload" ADD CONSTRAINT "OidcPayload_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

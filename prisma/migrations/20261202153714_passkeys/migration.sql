-- AlterTable
ALTER TABLE "MfaFactor" ADD COLUMN     "backedUp" BOOLEAN,
ADD COLUMN     "signCount" BIGINT,
ADD COLUMN     "transports" TEXT[];

-- CreateTable
CREATE TABLE "PasskeyChallenge" (
    "id" UUID NOT NULL,
    "realmId" UUID NOT NULL,
    "interactionUid" TEXT NOT NULL,
    "purpose" TEXT NOT NULL,
    "userId" UUID,
    "challenge" TEXT NOT NULL,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "PasskeyChallenge_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "PasskeyChallenge_realmId_interactionUid_idx" ON "PasskeyChallenge"("realmId", "interactionUid");

-- CreateIndex
CREATE INDEX "PasskeyChallenge_realmId_expiresAt_idx" ON "PasskeyChallenge"("realmId", "expiresAt");

-- CreateIndex
CREATE UNIQUE INDEX "PasskeyChallenge_realmId_challenge_key" ON "PasskeyChallenge"("realmId", "challenge");

-- CreateIndex
CREATE UNIQUE INDEX "MfaFactor_realmId_credentialId_key" ON "MfaFactor"("realmId", "credentialId");

-- AddForeignKey
ALTER TABLE "PasskeyChallenge" ADD CONSTRAINT "PasskeyChallenge_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

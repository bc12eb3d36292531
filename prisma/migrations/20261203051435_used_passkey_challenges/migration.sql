-- DropForeignKey
ALTER TABLE "PasskeyChallenge" DROP CONSTRAINT "PasskeyChallenge_realmId_fkey";

-- DropTable
DROP TABLE "PasskeyChallenge";

-- CreateTable
CREATE TABLE "UsedPasskeyChallenge" (
    "realmId" UUID NOT NULL,
    "digest" TEXT NOT NULL,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "UsedPasskeyChallenge_pkey" PRIMARY KEY ("realmId","digest")
);

-- CreateIndex
CREATE INDEX "UsedPasskeyChallenge_expiresAt_idx" ON "UsedPasskeyChallenge"("expiresAt");

-- AddForeignKey
ALTER TABLE "UsedPasskeyChallenge" ADD CONSTRAINT "UsedPasskeyChallenge_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

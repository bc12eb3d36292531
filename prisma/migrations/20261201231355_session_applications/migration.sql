-- CreateTable
CREATE TABLE "SessionApplication" (
    "realmId" UUID NOT NULL,
    "sessionId" UUID NOT NULL,
    "applicationId" UUID NOT NULL,
    "firstSignInAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSignInAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SessionApplication_pkey" PRIMARY KEY ("realmId","sessionId","applicationId")
);

-- CreateIndex
CREATE INDEX "SessionApplication_realmId_applicationId_idx" ON "SessionApplication"("realmId", "applicationId");

-- AddForeignKey
ALTER TABLE "SessionApplication" ADD CONSTRAINT "SessionApplication_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SessionApplication" ADD CONSTRAINT "SessionApplication_realmId_sessionId_fkey" FOREIGN KEY ("realmId", "sessionId") REFERENCES "Session"("realmId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SessionApplication" ADD CONSTRAINT "SessionApplication_realmId_applicationId_fkey" FOREIGN KEY ("realmId", "applicationId") REFERENCES "Application"("realmId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Backfill: each existing session's own application, and the users' applications from their sessions.
INSERT INTO "SessionApplication" ("realmId", "sessionId", "applicationId", "firstSignInAt", "lastSignInAt")
SELECT "realmId", "id", "applicationId", "createdAt", "createdAt" FROM "Session" WHERE "applicationId" IS NOT NULL;

INSERT INTO "UserApplication" ("realmId", "userId", "applicationId", "createdAt", "lastUsedAt")
SELECT "realmId", "userId", "applicationId", min("createdAt"), max("createdAt")
FROM "Session" WHERE "applicationId" IS NOT NULL
GROUP BY "realmId", "userId", "applicationId"
ON CONFLICT ("realmId", "userId", "applicationId") DO UPDATE
SET "lastUsedAt" = GREATEST("UserApplication"."lastUsedAt", EXCLUDED."lastUsedAt");

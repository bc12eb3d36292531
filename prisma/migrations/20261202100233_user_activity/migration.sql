-- Who was active when, one row per user and quarter hour (UTC), for the active users of
-- userGrowth and userOverview in any time zone. Written from now on by the statement that notes a
-- session's activity and by the transaction of a sign-in; filled here with the activity the
-- database already holds: successful sign-ins, and each session's and user's last activity.

-- CreateTable
CREATE TABLE "UserActivity" (
    "realmId" UUID NOT NULL,
    "period" TIMESTAMPTZ(3) NOT NULL,
    "userId" UUID NOT NULL,

    CONSTRAINT "UserActivity_pkey" PRIMARY KEY ("realmId","period","userId")
);

-- CreateIndex
CREATE INDEX "UserActivity_realmId_userId_idx" ON "UserActivity"("realmId", "userId");

-- AddForeignKey
ALTER TABLE "UserActivity" ADD CONSTRAINT "UserActivity_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "UserActivity" ADD CONSTRAINT "UserActivity_realmId_userId_fkey" FOREIGN KEY ("realmId", "userId") REFERENCES "User"("realmId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

INSERT INTO "UserActivity" ("realmId", period, "userId")
SELECT "realmId", date_bin('15 minutes', at, timestamptz '1970-01-01 00:00:00+00'), "userId"
FROM "LoginEvent" WHERE success AND "userId" IS NOT NULL
UNION
SELECT "realmId", date_bin('15 minutes', "lastActiveAt", timestamptz '1970-01-01 00:00:00+00'), "userId"
FROM "Session"
UNION
SELECT "realmId", date_bin('15 minutes', "lastActiveAt", timestamptz '1970-01-01 00:00:00+00'), id
FROM "User" WHERE "lastActiveAt" IS NOT NULL
ON CONFLICT DO NOTHING;

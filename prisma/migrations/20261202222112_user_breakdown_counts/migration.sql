-- CreateTable
CREATE TABLE "UserBreakdownState" (
    "realmId" UUID NOT NULL,
    "userId" UUID NOT NULL,
    "live" BOOLEAN NOT NULL,
    "status" TEXT NOT NULL,
    "country" TEXT,
    "password" BOOLEAN NOT NULL,
    "emailCode" BOOLEAN NOT NULL,
    "phone" BOOLEAN NOT NULL,
    "roles" JSONB NOT NULL DEFAULT '{}',
    "tenants" JSONB NOT NULL DEFAULT '{}',
    "mfaTypes" JSONB NOT NULL DEFAULT '{}',
    "identities" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "UserBreakdownState_pkey" PRIMARY KEY ("realmId","userId")
);

-- CreateTable
CREATE TABLE "UserBreakdownCount" (
    "realmId" UUID NOT NULL,
    "dimension" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "count" BIGINT NOT NULL,

    CONSTRAINT "UserBreakdownCount_pkey" PRIMARY KEY ("realmId","dimension","value")
);

-- CreateTable
CREATE TABLE "UserBreakdownCountDelta" (
    "id" BIGSERIAL NOT NULL,
    "realmId" UUID NOT NULL,
    "dimension" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "delta" BIGINT NOT NULL,

    CONSTRAINT "UserBreakdownCountDelta_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "UserBreakdownCountDelta_realmId_dimension_idx" ON "UserBreakdownCountDelta"("realmId", "dimension");

-- AddForeignKey
ALTER TABLE "UserBreakdownState" ADD CONSTRAINT "UserBreakdownState_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "UserBreakdownCount" ADD CONSTRAINT "UserBreakdownCount_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "UserBreakdownCountDelta" ADD CONSTRAINT "UserBreakdownCountDelta_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

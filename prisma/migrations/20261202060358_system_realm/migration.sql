-- AlterTable
ALTER TABLE "Realm" ADD COLUMN     "system" BOOLEAN NOT NULL DEFAULT false;

-- CreateIndex
CREATE UNIQUE INDEX "Realm_system_key" ON "Realm"("system") WHERE (system);

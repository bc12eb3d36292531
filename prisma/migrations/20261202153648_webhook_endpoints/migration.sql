-- AlterTable
ALTER TABLE "OutboxMessage" ADD COLUMN     "durationMs" INTEGER,
ADD COLUMN     "orderingKey" TEXT,
ADD COLUMN     "payload" TEXT,
ADD COLUMN     "responseBody" TEXT,
ADD COLUMN     "responseStatus" INTEGER,
ADD COLUMN     "webhookEndpointId" UUID,
ADD COLUMN     "webhookId" TEXT;

-- CreateTable
CREATE TABLE "WebhookEndpoint" (
    "id" UUID NOT NULL,
    "realmId" UUID NOT NULL,
    "url" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "eventTypes" TEXT[],
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "sealedSecret" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "WebhookEndpoint_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "WebhookEndpoint_realmId_id_key" ON "WebhookEndpoint"("realmId", "id");

-- CreateIndex
CREATE UNIQUE INDEX "WebhookEndpoint_realmId_url_key" ON "WebhookEndpoint"("realmId", "url");

-- CreateIndex
CREATE INDEX "OutboxMessage_realmId_webhookEndpointId_id_idx" ON "OutboxMessage"("realmId", "webhookEndpointId", "id");

-- CreateIndex
CREATE INDEX "OutboxMessage_realmId_ordering_idx" ON "OutboxMessage"("realmId", "orderingKey", "id") WHERE (status = 'PENDING');

-- AddForeignKey
ALTER TABLE "OutboxMessage" ADD CONSTRAINT "OutboxMessage_realmId_webhookEndpointId_fkey" FOREIGN KEY ("realmId", "webhookEndpointId") REFERENCES "WebhookEndpoint"("realmId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "WebhookEndpoint" ADD CONSTRAINT "WebhookEndpoint_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- CreateExtension
CREATE EXTENSION IF NOT EXISTS "citext";

-- CreateExtension
CREATE EXTENSION IF NOT EXISTS "pg_trgm";

-- CreateEnum
CREATE TYPE "TenancyMode" AS ENUM ('SHARED_POOL', 'ISOLATED_POOL');

-- CreateEnum
CREATE TYPE "MfaPolicy" AS ENUM ('OFF', 'OPTIONAL', 'REQUIRED');

-- CreateEnum
CREATE TYPE "ProfileField" AS ENUM ('NAME', 'PHONE', 'PICTURE', 'BIRTHDATE', 'COUNTRY');

-- CreateEnum
CREATE TYPE "UserStatus" AS ENUM ('INVITED', 'PENDING_VERIFICATION', 'ACTIVE', 'INACTIVE', 'SUSPENDED', 'DELETED');

-- CreateEnum
CREATE TYPE "PasswordHashAlgorithm" AS ENUM ('ARGON2ID', 'BCRYPT');

-- CreateEnum
CREATE TYPE "MfaFactorType" AS ENUM ('TOTP', 'WEBAUTHN', 'RECOVERY_CODES');

-- CreateEnum
CREATE TYPE "ApplicationType" AS ENUM ('SPA', 'WEB', 'NATIVE', 'M2M');

-- CreateEnum
CREATE TYPE "CustomAttributeType" AS ENUM ('STRING', 'NUMBER', 'BOOLEAN', 'DATE', 'ENUM');

-- CreateEnum
CREATE TYPE "SigningKeyStatus" AS ENUM ('ACTIVE', 'RETIRED');

-- CreateTable
CREATE TABLE "Realm" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "displayName" TEXT,
    "tenancyMode" "TenancyMode" NOT NULL DEFAULT 'SHARED_POOL',
    "requireEmailVerification" BOOLEAN NOT NULL DEFAULT false,
    "mfaPolicy" "MfaPolicy" NOT NULL DEFAULT 'OPTIONAL',
    "requiredProfileFields" "ProfileField"[] DEFAULT ARRAY[]::"ProfileField"[],
    "accessTokenTtlSeconds" INTEGER NOT NULL DEFAULT 3600,
    "passwordMinLength" INTEGER NOT NULL DEFAULT 8,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Realm_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SigningKey" (
    "id" UUID NOT NULL,
    "realmId" UUID NOT NULL,
    "kid" TEXT NOT NULL,
    "algorithm" TEXT NOT NULL,
    "publicJwk" JSONB NOT NULL,
    "privateKeyEncrypted" TEXT NOT NULL,
    "status" "SigningKeyStatus" NOT NULL DEFAULT 'ACTIVE',
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "retiredAt" TIMESTAMPTZ(3),

    CONSTRAINT "SigningKey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "User" (
    "id" UUID NOT NULL,
    "realmId" UUID NOT NULL,
    "email" CITEXT,
    "emailVerified" BOOLEAN NOT NULL DEFAULT false,
    "phone" TEXT,
    "phoneVerified" BOOLEAN NOT NULL DEFAULT false,
    "username" CITEXT,
    "uniqueId" TEXT,
    "name" TEXT,
    "givenName" TEXT,
    "familyName" TEXT,
    "nickname" TEXT,
    "picture" TEXT,
    "bio" TEXT,
    "gender" TEXT,
    "birthdate" DATE,
    "locale" TEXT,
    "timezone" TEXT,
    "country" CHAR(2),
    "region" TEXT,
    "city" TEXT,
    "status" "UserStatus" NOT NULL DEFAULT 'ACTIVE',
    "suspendedReason" TEXT,
    "suspendedAt" TIMESTAMPTZ(3),
    "passwordHash" TEXT,
    "passwordAlgorithm" "PasswordHashAlgorithm",
    "passwordChangedAt" TIMESTAMPTZ(3),
    "passwordExpired" BOOLEAN NOT NULL DEFAULT false,
    "lockedUntil" TIMESTAMPTZ(3),
    "failedLoginAttempts" INTEGER NOT NULL DEFAULT 0,
    "customAttributes" JSONB NOT NULL DEFAULT '{}',
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,
    "lastLoginAt" TIMESTAMPTZ(3),
    "lastActiveAt" TIMESTAMPTZ(3),
    "deletedAt" TIMESTAMPTZ(3),
    "version" INTEGER NOT NULL DEFAULT 1,

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Identity" (
    "id" UUID NOT NULL,
    "realmId" UUID NOT NULL,
    "userId" UUID NOT NULL,
    "provider" TEXT NOT NULL,
    "providerUserId" TEXT NOT NULL,
    "email" TEXT,
    "profile" JSONB NOT NULL DEFAULT '{}',
    "linkedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Identity_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "MfaFactor" (
    "id" UUID NOT NULL,
    "realmId" UUID NOT NULL,
    "userId" UUID NOT NULL,
    "type" "MfaFactorType" NOT NULL,
    "name" TEXT,
    "secretEncrypted" TEXT,
    "credentialId" TEXT,
    "publicKey" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastUsedAt" TIMESTAMPTZ(3),

    CONSTRAINT "MfaFactor_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Role" (
    "id" UUID NOT NULL,
    "realmId" UUID NOT NULL,
    "tenantId" UUID,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "builtIn" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Role_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RoleScope" (
    "realmId" UUID NOT NULL,
    "roleId" UUID NOT NULL,
    "scopeId" UUID NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "RoleScope_pkey" PRIMARY KEY ("realmId","roleId","scopeId")
);

-- CreateTable
CREATE TABLE "UserRole" (
    "id" UUID NOT NULL,
    "realmId" UUID NOT NULL,
    "userId" UUID NOT NULL,
    "roleId" UUID NOT NULL,
    "tenantId" UUID,
    "assignedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "UserRole_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "UserPermission" (
    "realmId" UUID NOT NULL,
    "userId" UUID NOT NULL,
    "scopeId" UUID NOT NULL,
    "grantedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "UserPermission_pkey" PRIMARY KEY ("realmId","userId","scopeId")
);

-- CreateTable
CREATE TABLE "Application" (
    "id" UUID NOT NULL,
    "realmId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "type" "ApplicationType" NOT NULL,
    "clientId" TEXT NOT NULL,
    "redirectUris" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "builtIn" BOOLEAN NOT NULL DEFAULT false,
    "disabledAt" TIMESTAMPTZ(3),
    "secretLastRotatedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Application_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApplicationSecret" (
    "id" UUID NOT NULL,
    "realmId" UUID NOT NULL,
    "applicationId" UUID NOT NULL,
    "secretHash" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMPTZ(3),

    CONSTRAINT "ApplicationSecret_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApplicationRole" (
    "realmId" UUID NOT NULL,
    "applicationId" UUID NOT NULL,
    "roleId" UUID NOT NULL,
    "assignedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ApplicationRole_pkey" PRIMARY KEY ("realmId","applicationId","roleId")
);

-- CreateTable
CREATE TABLE "UserApplication" (
    "realmId" UUID NOT NULL,
    "userId" UUID NOT NULL,
    "applicationId" UUID NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastUsedAt" TIMESTAMPTZ(3),

    CONSTRAINT "UserApplication_pkey" PRIMARY KEY ("realmId","userId","applicationId")
);

-- CreateTable
CREATE TABLE "Resource" (
    "id" UUID NOT NULL,
    "realmId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "indicator" TEXT NOT NULL,
    "builtIn" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Resource_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ResourceScope" (
    "id" UUID NOT NULL,
    "realmId" UUID NOT NULL,
    "resourceId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ResourceScope_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Session" (
    "id" UUID NOT NULL,
    "realmId" UUID NOT NULL,
    "userId" UUID NOT NULL,
    "applicationId" UUID,
    "ipAddress" TEXT,
    "userAgent" TEXT,
    "device" TEXT,
    "location" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastActiveAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "revokedAt" TIMESTAMPTZ(3),
    "revokedReason" TEXT,

    CONSTRAINT "Session_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RefreshToken" (
    "id" UUID NOT NULL,
    "realmId" UUID NOT NULL,
    "sessionId" UUID NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "rotatedAt" TIMESTAMPTZ(3),
    "revokedAt" TIMESTAMPTZ(3),

    CONSTRAINT "RefreshToken_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "LoginEvent" (
    "id" UUID NOT NULL,
    "realmId" UUID NOT NULL,
    "userId" UUID,
    "applicationId" UUID,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "success" BOOLEAN NOT NULL,
    "method" TEXT NOT NULL,
    "failureReason" TEXT,
    "ipAddress" TEXT,
    "userAgent" TEXT,

    CONSTRAINT "LoginEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Tenant" (
    "id" UUID NOT NULL,
    "realmId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "slug" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Tenant_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TenantMembership" (
    "id" UUID NOT NULL,
    "realmId" UUID NOT NULL,
    "tenantId" UUID NOT NULL,
    "userId" UUID NOT NULL,
    "joinedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "TenantMembership_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AuditEvent" (
    "id" UUID NOT NULL,
    "realmId" UUID NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "action" TEXT NOT NULL,
    "actorType" TEXT NOT NULL,
    "actorId" TEXT NOT NULL,
    "targetType" TEXT NOT NULL,
    "targetId" TEXT,
    "outcome" TEXT NOT NULL DEFAULT 'success',
    "changes" JSONB,
    "requestId" TEXT,
    "ipAddress" TEXT,

    CONSTRAINT "AuditEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AdminNote" (
    "id" UUID NOT NULL,
    "realmId" UUID NOT NULL,
    "userId" UUID NOT NULL,
    "body" TEXT NOT NULL,
    "author" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AdminNote_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "CustomAttributeDefinition" (
    "id" UUID NOT NULL,
    "realmId" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "displayName" TEXT NOT NULL,
    "type" "CustomAttributeType" NOT NULL,
    "options" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "CustomAttributeDefinition_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Realm_name_key" ON "Realm"("name");

-- CreateIndex
CREATE UNIQUE INDEX "SigningKey_kid_key" ON "SigningKey"("kid");

-- CreateIndex
CREATE INDEX "SigningKey_realmId_status_idx" ON "SigningKey"("realmId", "status");

-- CreateIndex
CREATE INDEX "User_realmId_createdAt_id_idx" ON "User"("realmId", "createdAt" DESC, "id");

-- CreateIndex
CREATE INDEX "User_realmId_status_idx" ON "User"("realmId", "status");

-- CreateIndex
CREATE INDEX "User_realmId_lastLoginAt_idx" ON "User"("realmId", "lastLoginAt");

-- CreateIndex
CREATE INDEX "User_realmId_lastActiveAt_idx" ON "User"("realmId", "lastActiveAt");

-- CreateIndex
CREATE INDEX "User_realmId_country_region_city_idx" ON "User"("realmId", "country", "region", "city");

-- CreateIndex
CREATE INDEX "User_realmId_phone_idx" ON "User"("realmId", "phone");

-- CreateIndex
CREATE INDEX "User_name_trgm_idx" ON "User" USING GIN ("name" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "User_email_trgm_idx" ON "User" USING GIN ("email" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "User_username_trgm_idx" ON "User" USING GIN ("username" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "User_phone_trgm_idx" ON "User" USING GIN ("phone" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "User_uniqueId_trgm_idx" ON "User" USING GIN ("uniqueId" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "User_customAttributes_idx" ON "User" USING GIN ("customAttributes" jsonb_path_ops);

-- CreateIndex
CREATE UNIQUE INDEX "User_realmId_id_key" ON "User"("realmId", "id");

-- CreateIndex
CREATE UNIQUE INDEX "User_realmId_email_active_key" ON "User"("realmId", "email") WHERE ("deletedAt" IS NULL);

-- CreateIndex
CREATE UNIQUE INDEX "User_realmId_username_active_key" ON "User"("realmId", "username") WHERE ("deletedAt" IS NULL);

-- CreateIndex
CREATE UNIQUE INDEX "User_realmId_uniqueId_key" ON "User"("realmId", "uniqueId");

-- CreateIndex
CREATE INDEX "Identity_realmId_userId_idx" ON "Identity"("realmId", "userId");

-- CreateIndex
CREATE INDEX "Identity_realmId_provider_idx" ON "Identity"("realmId", "provider");

-- CreateIndex
CREATE UNIQUE INDEX "Identity_realmId_provider_providerUserId_key" ON "Identity"("realmId", "provider", "providerUserId");

-- CreateIndex
CREATE INDEX "MfaFactor_realmId_userId_idx" ON "MfaFactor"("realmId", "userId");

-- CreateIndex
CREATE INDEX "MfaFactor_realmId_type_idx" ON "MfaFactor"("realmId", "type");

-- CreateIndex
CREATE UNIQUE INDEX "Role_realmId_id_key" ON "Role"("realmId", "id");

-- CreateIndex
CREATE UNIQUE INDEX "Role_realmId_name_global_key" ON "Role"("realmId", "name") WHERE ("tenantId" IS NULL);

-- CreateIndex
CREATE UNIQUE INDEX "Role_realmId_tenantId_name_key" ON "Role"("realmId", "tenantId", "name");

-- CreateIndex
CREATE INDEX "RoleScope_realmId_scopeId_idx" ON "RoleScope"("realmId", "scopeId");

-- CreateIndex
CREATE INDEX "UserRole_realmId_roleId_idx" ON "UserRole"("realmId", "roleId");

-- CreateIndex
CREATE INDEX "UserRole_realmId_tenantId_idx" ON "UserRole"("realmId", "tenantId");

-- CreateIndex
CREATE UNIQUE INDEX "UserRole_global_key" ON "UserRole"("realmId", "userId", "roleId") WHERE ("tenantId" IS NULL);

-- CreateIndex
CREATE UNIQUE INDEX "UserRole_realmId_userId_roleId_tenantId_key" ON "UserRole"("realmId", "userId", "roleId", "tenantId");

-- CreateIndex
CREATE INDEX "UserPermission_realmId_scopeId_idx" ON "UserPermission"("realmId", "scopeId");

-- CreateIndex
CREATE UNIQUE INDEX "Application_clientId_key" ON "Application"("clientId");

-- CreateIndex
CREATE INDEX "Application_realmId_type_idx" ON "Application"("realmId", "type");

-- CreateIndex
CREATE INDEX "Application_realmId_name_idx" ON "Application"("realmId", "name");

-- CreateIndex
CREATE UNIQUE INDEX "Application_realmId_id_key" ON "Application"("realmId", "id");

-- CreateIndex
CREATE INDEX "ApplicationSecret_realmId_applicationId_idx" ON "ApplicationSecret"("realmId", "applicationId");

-- CreateIndex
CREATE INDEX "ApplicationRole_realmId_roleId_idx" ON "ApplicationRole"("realmId", "roleId");

-- CreateIndex
CREATE INDEX "UserApplication_realmId_applicationId_idx" ON "UserApplication"("realmId", "applicationId");

-- CreateIndex
CREATE UNIQUE INDEX "Resource_realmId_id_key" ON "Resource"("realmId", "id");

-- CreateIndex
CREATE UNIQUE INDEX "Resource_realmId_indicator_key" ON "Resource"("realmId", "indicator");

-- CreateIndex
CREATE UNIQUE INDEX "ResourceScope_realmId_id_key" ON "ResourceScope"("realmId", "id");

-- CreateIndex
CREATE UNIQUE INDEX "ResourceScope_realmId_resourceId_name_key" ON "ResourceScope"("realmId", "resourceId", "name");

-- CreateIndex
CREATE INDEX "Session_realmId_userId_revokedAt_idx" ON "Session"("realmId", "userId", "revokedAt");

-- CreateIndex
CREATE INDEX "Session_realmId_applicationId_idx" ON "Session"("realmId", "applicationId");

-- CreateIndex
CREATE UNIQUE INDEX "Session_realmId_id_key" ON "Session"("realmId", "id");

-- CreateIndex
CREATE UNIQUE INDEX "RefreshToken_tokenHash_key" ON "RefreshToken"("tokenHash");

-- CreateIndex
CREATE INDEX "RefreshToken_realmId_sessionId_idx" ON "RefreshToken"("realmId", "sessionId");

-- CreateIndex
CREATE INDEX "LoginEvent_realmId_userId_at_idx" ON "LoginEvent"("realmId", "userId", "at" DESC);

-- CreateIndex
CREATE INDEX "LoginEvent_realmId_at_idx" ON "LoginEvent"("realmId", "at" DESC);

-- CreateIndex
CREATE INDEX "Tenant_realmId_name_idx" ON "Tenant"("realmId", "name");

-- CreateIndex
CREATE UNIQUE INDEX "Tenant_realmId_id_key" ON "Tenant"("realmId", "id");

-- CreateIndex
CREATE UNIQUE INDEX "Tenant_realmId_slug_key" ON "Tenant"("realmId", "slug");

-- CreateIndex
CREATE INDEX "TenantMembership_realmId_userId_idx" ON "TenantMembership"("realmId", "userId");

-- CreateIndex
CREATE UNIQUE INDEX "TenantMembership_realmId_tenantId_userId_key" ON "TenantMembership"("realmId", "tenantId", "userId");

-- CreateIndex
CREATE INDEX "AuditEvent_realmId_at_id_idx" ON "AuditEvent"("realmId", "at" DESC, "id");

-- CreateIndex
CREATE INDEX "AuditEvent_realmId_targetId_at_idx" ON "AuditEvent"("realmId", "targetId", "at" DESC);

-- CreateIndex
CREATE INDEX "AuditEvent_realmId_actorId_at_idx" ON "AuditEvent"("realmId", "actorId", "at" DESC);

-- CreateIndex
CREATE INDEX "AuditEvent_realmId_action_at_idx" ON "AuditEvent"("realmId", "action", "at" DESC);

-- CreateIndex
CREATE INDEX "AdminNote_realmId_userId_createdAt_idx" ON "AdminNote"("realmId", "userId", "createdAt" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "CustomAttributeDefinition_realmId_key_key" ON "CustomAttributeDefinition"("realmId", "key");

-- AddForeignKey
ALTER TABLE "SigningKey" ADD CONSTRAINT "SigningKey_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "User" ADD CONSTRAINT "User_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Identity" ADD CONSTRAINT "Identity_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Identity" ADD CONSTRAINT "Identity_realmId_userId_fkey" FOREIGN KEY ("realmId", "userId") REFERENCES "User"("realmId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "MfaFactor" ADD CONSTRAINT "MfaFactor_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "MfaFactor" ADD CONSTRAINT "MfaFactor_realmId_userId_fkey" FOREIGN KEY ("realmId", "userId") REFERENCES "User"("realmId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Role" ADD CONSTRAINT "Role_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Role" ADD CONSTRAINT "Role_realmId_tenantId_fkey" FOREIGN KEY ("realmId", "tenantId") REFERENCES "Tenant"("realmId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RoleScope" ADD CONSTRAINT "RoleScope_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RoleScope" ADD CONSTRAINT "RoleScope_realmId_roleId_fkey" FOREIGN KEY ("realmId", "roleId") REFERENCES "Role"("realmId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RoleScope" ADD CONSTRAINT "RoleScope_realmId_scopeId_fkey" FOREIGN KEY ("realmId", "scopeId") REFERENCES "ResourceScope"("realmId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "UserRole" ADD CONSTRAINT "UserRole_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "UserRole" ADD CONSTRAINT "UserRole_realmId_userId_fkey" FOREIGN KEY ("realmId", "userId") REFERENCES "User"("realmId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "UserRole" ADD CONSTRAINT "UserRole_realmId_roleId_fkey" FOREIGN KEY ("realmId", "roleId") REFERENCES "Role"("realmId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "UserRole" ADD CONSTRAINT "UserRole_realmId_tenantId_fkey" FOREIGN KEY ("realmId", "tenantId") REFERENCES "Tenant"("realmId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "UserRole" ADD CONSTRAINT "UserRole_realmId_tenantId_userId_fkey" FOREIGN KEY ("realmId", "tenantId", "userId") REFERENCES "TenantMembership"("realmId", "tenantId", "userId") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "UserPermission" ADD CONSTRAINT "UserPermission_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "UserPermission" ADD CONSTRAINT "UserPermission_realmId_userId_fkey" FOREIGN KEY ("realmId", "userId") REFERENCES "User"("realmId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "UserPermission" ADD CONSTRAINT "UserPermission_realmId_scopeId_fkey" FOREIGN KEY ("realmId", "scopeId") REFERENCES "ResourceScope"("realmId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Application" ADD CONSTRAINT "Application_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApplicationSecret" ADD CONSTRAINT "ApplicationSecret_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApplicationSecret" ADD CONSTRAINT "ApplicationSecret_realmId_applicationId_fkey" FOREIGN KEY ("realmId", "applicationId") REFERENCES "Application"("realmId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApplicationRole" ADD CONSTRAINT "ApplicationRole_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApplicationRole" ADD CONSTRAINT "ApplicationRole_realmId_applicationId_fkey" FOREIGN KEY ("realmId", "applicationId") REFERENCES "Application"("realmId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApplicationRole" ADD CONSTRAINT "ApplicationRole_realmId_roleId_fkey" FOREIGN KEY ("realmId", "roleId") REFERENCES "Role"("realmId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "UserApplication" ADD CONSTRAINT "UserApplication_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "UserApplication" ADD CONSTRAINT "UserApplication_realmId_userId_fkey" FOREIGN KEY ("realmId", "userId") REFERENCES "User"("realmId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "UserApplication" ADD CONSTRAINT "UserApplication_realmId_applicationId_fkey" FOREIGN KEY ("realmId", "applicationId") REFERENCES "Application"("realmId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Resource" ADD CONSTRAINT "Resource_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ResourceScope" ADD CONSTRAINT "ResourceScope_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ResourceScope" ADD CONSTRAINT "ResourceScope_realmId_resourceId_fkey" FOREIGN KEY ("realmId", "resourceId") REFERENCES "Resource"("realmId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Session" ADD CONSTRAINT "Session_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Session" ADD CONSTRAINT "Session_realmId_userId_fkey" FOREIGN KEY ("realmId", "userId") REFERENCES "User"("realmId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Session" ADD CONSTRAINT "Session_realmId_applicationId_fkey" FOREIGN KEY ("realmId", "applicationId") REFERENCES "Application"("realmId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RefreshToken" ADD CONSTRAINT "RefreshToken_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RefreshToken" ADD CONSTRAINT "RefreshToken_realmId_sessionId_fkey" FOREIGN KEY ("realmId", "sessionId") REFERENCES "Session"("realmId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LoginEvent" ADD CONSTRAINT "LoginEvent_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LoginEvent" ADD CONSTRAINT "LoginEvent_realmId_userId_fkey" FOREIGN KEY ("realmId", "userId") REFERENCES "User"("realmId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Tenant" ADD CONSTRAINT "Tenant_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TenantMembership" ADD CONSTRAINT "TenantMembership_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TenantMembership" ADD CONSTRAINT "TenantMembership_realmId_tenantId_fkey" FOREIGN KEY ("realmId", "tenantId") REFERENCES "Tenant"("realmId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TenantMembership" ADD CONSTRAINT "TenantMembership_realmId_userId_fkey" FOREIGN KEY ("realmId", "userId") REFERENCES "User"("realmId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AuditEvent" ADD CONSTRAINT "AuditEvent_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AdminNote" ADD CONSTRAINT "AdminNote_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AdminNote" ADD CONSTRAINT "AdminNote_realmId_userId_fkey" FOREIGN KEY ("realmId", "userId") REFERENCES "User"("realmId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CustomAttributeDefinition" ADD CONSTRAINT "CustomAttributeDefinition_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

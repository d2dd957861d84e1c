// Key Vault (RBAC mode) holding driftkeeper's secrets: the Teams Workflows URL and the SMTP
// password. The function app reads them through Key Vault references with its user-assigned
// identity; a secret never appears in an app setting, a deployment output or the deployment
// history (the parameters are @secure). Purge protection and 90-day soft delete are on.

@description('Key Vault name (3-24 letters, digits and hyphens, globally unique).')
@minLength(3)
@maxLength(24)
param name string

@description('Region of the vault.')
param location string

@description('Tags applied to the vault.')
param tags object = {}

@description('Principal (object) id allowed to read secrets: the function app identity.')
param readerPrincipalId string

@description('Name of the secret that holds the Teams Workflows (incoming webhook) URL.')
param teamsWebhookSecretName string = 'teams-webhook-url'

@description('Teams Workflows URL. Empty: no secret is written.')
@secure()
param teamsWebhookUrl string = ''

@description('Name of the secret that holds the SMTP password.')
param smtpPasswordSecretName string = 'smtp-password'

@description('SMTP password. Empty: no secret is written.')
@secure()
param smtpPassword string = ''

@description('Days a deleted vault or secret stays recoverable.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 90

// Built-in role: Key Vault Secrets User.
var secretsUserRoleId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4633458b-17de-408a-b874-0445c86b69e6')

var baseProperties = {
  tenantId: tenant().tenantId
  sku: {
    family: 'A'
    name: 'standard'
  }
  enableRbacAuthorization: true
  enableSoftDelete: true
  softDeleteRetentionInDays: softDeleteRetentionInDays
  // irreversible: `azd down --purge` cannot purge the vault, its name stays reserved for the retention days
  enablePurgeProtection: true
  publicNetworkAccess: 'Enabled'
  networkAcls: {
    bypass: 'AzureServices'
    defaultAction: 'Allow'
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109: App Service resolves Key Vault references from the app's outbound addresses, which are not a trusted service; without VNet integration a deny-by-default firewall breaks the references. Access is RBAC only (Key Vault Secrets User for one identity).
  // checkov:skip=CKV_AZURE_189: same reason as CKV_AZURE_109: public network access is needed by the Key Vault references of an app without VNet integration (docs/deployment.md, "Network isolation").
  name: name
  location: location
  tags: tags
  properties: baseProperties
}

module teamsWebhook 'keyvault-secret.bicep' = if (!empty(teamsWebhookUrl)) {
  name: 'driftkeeper-secret-teams'
  params: {
    vaultName: vault.name
    secretName: teamsWebhookSecretName
    value: teamsWebhookUrl
    contentType: 'text/uri-list'
  }
}

module smtpPasswordSecret 'keyvault-secret.bicep' = if (!empty(smtpPassword)) {
  name: 'driftkeeper-secret-smtp'
  params: {
    vaultName: vault.name
    secretName: smtpPasswordSecretName
    value: smtpPassword
    contentType: 'text/plain'
  }
}

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, readerPrincipalId, secretsUserRoleId)
  scope: vault
  properties: {
    roleDefinitionId: secretsUserRoleId
    principalId: readerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri

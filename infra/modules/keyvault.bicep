// Key Vault (RBAC mode) holding the Teams webhook URL. The function app reads it through a
// Key Vault reference with its user-assigned identity; the URL never appears in an app
// setting, a deployment output or the deployment history (the parameter is @secure).

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

@description('Name of the secret that holds the Teams webhook URL.')
param teamsWebhookSecretName string

@description('Teams incoming-webhook URL. Empty: no secret is written.')
@secure()
param teamsWebhookUrl string = ''

@description('Turn on purge protection (irreversible; blocks `azd down --purge`).')
param enablePurgeProtection bool = false

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
  softDeleteRetentionInDays: 7
  publicNetworkAccess: 'Enabled'
}

// enablePurgeProtection accepts only true; leave it out otherwise.
resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: union(baseProperties, enablePurgeProtection ? { enablePurgeProtection: true } : {})
}

resource teamsWebhook 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(teamsWebhookUrl)) {
  parent: vault
  name: teamsWebhookSecretName
  properties: {
    value: teamsWebhookUrl
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

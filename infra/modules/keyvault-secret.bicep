// One Key Vault secret, with a content type. Called once per secret that has a
// value (keyvault.bicep), so an empty parameter writes nothing.

@description('Name of the Key Vault in this resource group.')
param vaultName string

@description('Secret name.')
param secretName string

@description('Secret value.')
@secure()
param value string

@description('Content type recorded with the secret.')
param contentType string = 'text/plain'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: vaultName
}

resource secret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  // checkov:skip=CKV_AZURE_41: a webhook URL or SMTP password has no natural end of life, and an expired secret leaves the app's Key Vault reference unresolved, which turns alerting off with nothing but /api/health to show it; rotation is by `azd env set` + `azd provision` (docs/deployment.md).
  parent: vault
  name: secretName
  properties: {
    value: value
    contentType: contentType
    attributes: {
      enabled: true
    }
  }
}

// The secret's URI without a version: the app's Key Vault reference follows rotations.
output name string = secret.name

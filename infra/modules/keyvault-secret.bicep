// One Key Vault secret, with a content type and an expiry. Called once per secret that has a
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

@description('Expiry, in seconds since 1970-01-01 UTC.')
param expiresOn int

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: vaultName
}

resource secret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: secretName
  properties: {
    value: value
    contentType: contentType
    attributes: {
      enabled: true
      exp: expiresOn
    }
  }
}

// The secret's URI without a version: the app's Key Vault reference follows rotations.
output name string = secret.name

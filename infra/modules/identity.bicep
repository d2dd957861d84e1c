// User-assigned managed identity the function app runs as. Every permission driftkeeper
// holds (storage data roles, Key Vault secret read, ARM read, Graph app roles) is granted to
// this one principal, so it can be audited, and recognised in events as "the monitor itself".

@description('Name of the user-assigned identity.')
param name string

@description('Region of the identity.')
param location string

@description('Tags applied to the identity.')
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId

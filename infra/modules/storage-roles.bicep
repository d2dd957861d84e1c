// Data-plane roles for one principal on one storage account. Names are
// guid(scope, principalId, roleDefinitionId), so redeploying is idempotent.

@description('Name of an existing storage account in this resource group.')
param storageAccountName string

@description('Principal (object) id of the managed identity.')
param principalId string

@description('Built-in role definition GUIDs to assign on the account.')
param roleDefinitionGuids array = [
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' // Storage Table Data Contributor: driftkeeper tables
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b' // Storage Blob Data Owner: host leases, deployment package
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88' // Storage Queue Data Contributor: host internal queues
]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource assignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleGuid in roleDefinitionGuids: {
    name: guid(storage.id, principalId, subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleGuid))
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleGuid)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]

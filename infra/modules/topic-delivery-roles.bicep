// What one watched subscription's system topic may do in driftkeeper's resource group, with
// its system-assigned identity: write dead-lettered events to the dead-letter container, and,
// on the Event Hubs path, send to the hub. Nothing else.

@description('Principal (object) id of the system topic\'s identity.')
param topicPrincipalId string

@description('Storage account of the dead-letter container.')
param storageAccountName string

@description('Dead-letter blob container.')
param deadLetterContainerName string

@description('Event Hubs namespace (empty: no Event Hubs path).')
param eventHubNamespaceName string = ''

@description('Event Hub in that namespace.')
param eventHubName string = ''

// Built-in roles: Storage Blob Data Contributor, Azure Event Hubs Data Sender.
var blobContributorRoleId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'ba92f5b4-2d11-453d-a403-e96b0029c9fe')
var hubSenderRoleId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '2b629674-e913-4c01-ae53-ef4638d8f975')

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobService
  name: deadLetterContainerName
}

resource deadLetterWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(container.id, topicPrincipalId, blobContributorRoleId)
  scope: container
  properties: {
    roleDefinitionId: blobContributorRoleId
    principalId: topicPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource namespace 'Microsoft.EventHub/namespaces@2024-01-01' existing = if (!empty(eventHubNamespaceName)) {
  name: empty(eventHubNamespaceName) ? 'unused' : eventHubNamespaceName
}

resource hub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' existing = if (!empty(eventHubNamespaceName)) {
  parent: namespace
  name: empty(eventHubName) ? 'unused' : eventHubName
}

resource hubSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(eventHubNamespaceName)) {
  name: guid(hub.id, topicPrincipalId, hubSenderRoleId)
  scope: hub
  properties: {
    roleDefinitionId: hubSenderRoleId
    principalId: topicPrincipalId
    principalType: 'ServicePrincipal'
  }
}

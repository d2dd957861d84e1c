// The optional Event Hubs ingestion path for large estates: one namespace and one hub that
// takes both the Event Grid deliveries of every watched subscription (eventgrid.bicep with
// delivery=eventhub) and the Entra audit log streamed by a diagnostic setting
// (entra-diagnostics.bicep). driftkeeper's Event Hubs trigger reads it with its identity
// (Azure Event Hubs Data Receiver); the app settings are DRIFTKEEPER_EVENT_HUB__* and
// DRIFTKEEPER_EVENT_HUB_NAME (main.bicep).

@description('Event Hubs namespace name (globally unique).')
param namespaceName string

@description('Event Hub name.')
param hubName string = 'driftkeeper-events'

@description('Region of the namespace.')
param location string

@description('Tags applied to the namespace.')
param tags object = {}

@description('Principal (object) id that reads the hub: driftkeeper\'s identity.')
param receiverPrincipalId string

@description('Partitions of the hub (parallel readers).')
@minValue(1)
@maxValue(32)
param partitionCount int = 4

@description('Days a message is kept (Standard: up to 7), so the app can be down that long without losing one.')
@minValue(1)
@maxValue(7)
param messageRetentionInDays int = 7

@description('Create the send-only shared access rule an Entra diagnostic setting needs (it cannot use Entra ID); local (SAS) auth then stays on for that rule alone.')
param enableDiagnosticsRule bool = false

@description('Spread the namespace over availability zones (regions with zones only).')
param zoneRedundant bool = false

// Built-in role: Azure Event Hubs Data Receiver.
var receiverRoleId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'a638d3c7-ab3a-418d-83e6-5f17a39d4fde')

resource namespace 'Microsoft.EventHub/namespaces@2024-01-01' = {
  name: namespaceName
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
    capacity: 1
  }
  properties: {
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    disableLocalAuth: !enableDiagnosticsRule
    zoneRedundant: zoneRedundant
  }
}

resource hub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = {
  parent: namespace
  name: hubName
  properties: {
    partitionCount: partitionCount
    messageRetentionInDays: messageRetentionInDays
  }
}

// Entra diagnostic settings stream with a namespace authorization rule; Azure Monitor needs
// Manage, Send and Listen on it. It is the only key, and it is never output.
resource diagnosticsRule 'Microsoft.EventHub/namespaces/authorizationRules@2024-01-01' = if (enableDiagnosticsRule) {
  parent: namespace
  name: 'entra-diagnostics'
  properties: {
    rights: [
      'Manage'
      'Send'
      'Listen'
    ]
  }
}

resource receiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hub.id, receiverPrincipalId, receiverRoleId)
  scope: hub
  properties: {
    roleDefinitionId: receiverRoleId
    principalId: receiverPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output namespaceName string = namespace.name
output hubName string = hub.name
output hubId string = hub.id
output fullyQualifiedNamespace string = '${namespace.name}.servicebus.windows.net'
output diagnosticsRuleId string = enableDiagnosticsRule ? diagnosticsRule.id : ''

// Event Grid system topic on the subscription (Microsoft.Resources.Subscriptions) and an
// event subscription that delivers successful ARM writes/deletes/actions on NSGs and role
// assignments to driftkeeper's Event Grid trigger. Deploy it only after the function code is
// deployed: the AzureFunction destination is validated against an existing function.
// The events carry no resource body; driftkeeper re-reads the resource before judging.

@description('System topic name. A subscription can have only one system topic; to reuse an existing one, give its name and set createSystemTopic to false (and deploy this module into its resource group).')
param systemTopicName string

@description('Create the system topic (false: reuse the existing one named systemTopicName in this resource group).')
param createSystemTopic bool = true

@description('Event subscription name.')
param eventSubscriptionName string = 'driftkeeperArmChanges'

@description('Subscription of the function app (defaults to this subscription).')
param functionAppSubscriptionId string = subscription().subscriptionId

@description('Resource group of the function app.')
param functionAppResourceGroupName string

@description('Function app name.')
param functionAppName string

@description('Name of the Event Grid triggered function inside the app.')
param functionName string

@description('Tags applied to the system topic.')
param tags object = {}

@description('Event types delivered.')
param includedEventTypes array = [
  'Microsoft.Resources.ResourceWriteSuccess'
  'Microsoft.Resources.ResourceDeleteSuccess'
  'Microsoft.Resources.ResourceActionSuccess'
]

@description('ARM operation names delivered (data.operationName, compared case-insensitively; at most 25).')
param operationNames array = [
  'Microsoft.Network/networkSecurityGroups/write'
  'Microsoft.Network/networkSecurityGroups/delete'
  'Microsoft.Network/networkSecurityGroups/securityRules/write'
  'Microsoft.Network/networkSecurityGroups/securityRules/delete'
  'Microsoft.Authorization/roleAssignments/write'
  'Microsoft.Authorization/roleAssignments/delete'
]

@description('Delivery attempts before an event is dropped (the reconcile timer is the backstop).')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 30

@description('Event time to live in minutes.')
@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int = 1440

resource newSystemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = if (createSystemTopic) {
  name: systemTopicName
  location: 'global'
  tags: tags
  properties: {
    source: subscription().id
    topicType: 'Microsoft.Resources.Subscriptions'
  }
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: systemTopicName
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
  scope: resourceGroup(functionAppSubscriptionId, functionAppResourceGroupName)
}

resource eventSubscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: systemTopic
  name: eventSubscriptionName
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${functionApp.id}/functions/${functionName}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: includedEventTypes
      advancedFilters: [
        {
          operatorType: 'StringIn'
          key: 'data.operationName'
          values: operationNames
        }
      ]
    }
    retryPolicy: {
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    }
  }
  dependsOn: [
    newSystemTopic
  ]
}

output systemTopicId string = systemTopic.id
output eventSubscriptionId string = eventSubscription.id

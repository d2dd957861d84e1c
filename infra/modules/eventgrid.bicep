// The event subscription on one watched subscription's system topic. Its filter is
// infra/eventgrid-filter.json, generated from the kinds' declared signals
// (`python -m driftkeeper.infra_files --write`; a test keeps it equal to the code): exactly the
// ARM event types and operations driftkeeper's handlers evaluate. Delivery goes to the Event
// Grid triggered function (default), or to the Event Hub of the large-estate path. Events it
// cannot deliver within the retry policy are dead-lettered to a blob container, with the
// topic's identity (the storage account takes no shared keys). The events carry no resource
// body; driftkeeper re-reads the resource before judging.
//
// Deploy it after the function code: an AzureFunction destination is validated against the
// deployed function (azure.yaml's postdeploy hook runs the second provision).

@description('Name of the system topic in this resource group.')
param systemTopicName string

@description('Event subscription name.')
param eventSubscriptionName string = 'driftkeeperArmChanges'

@description('Where events go: function (the Event Grid trigger) or eventhub (the Event Hubs path).')
@allowed([
  'function'
  'eventhub'
])
param delivery string = 'function'

@description('Resource id of the function that takes the events (<app id>/functions/<name>); with delivery=function.')
param functionResourceId string = ''

@description('Resource id of the Event Hub; with delivery=eventhub.')
param eventHubId string = ''

@description('Resource id of the storage account that holds the dead-letter container.')
param deadLetterStorageAccountId string

@description('Dead-letter blob container.')
param deadLetterContainerName string

@description('Delivery attempts before an event is dead-lettered (the reconcile timer is the backstop).')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 30

@description('Event time to live in minutes.')
@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int = 1440

var filters = loadJsonContent('../eventgrid-filter.json')

var functionDestination = {
  endpointType: 'AzureFunction'
  properties: {
    resourceId: functionResourceId
    maxEventsPerBatch: 1
    preferredBatchSizeInKilobytes: 64
  }
}

var hubDelivery = {
  identity: {
    type: 'SystemAssigned'
  }
  destination: {
    endpointType: 'EventHub'
    properties: {
      resourceId: eventHubId
    }
  }
}

var common = {
  eventDeliverySchema: 'EventGridSchema'
  filter: {
    includedEventTypes: filters.arm.includedEventTypes
    advancedFilters: filters.arm.advancedFilters
  }
  retryPolicy: {
    maxDeliveryAttempts: maxDeliveryAttempts
    eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
  }
  deadLetterWithResourceIdentity: {
    identity: {
      type: 'SystemAssigned'
    }
    deadLetterDestination: {
      endpointType: 'StorageBlob'
      properties: {
        resourceId: deadLetterStorageAccountId
        blobContainerName: deadLetterContainerName
      }
    }
  }
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: systemTopicName
}

resource eventSubscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: systemTopic
  name: eventSubscriptionName
  properties: union(
    common,
    delivery == 'function' ? { destination: functionDestination } : { deliveryWithResourceIdentity: hubDelivery }
  )
}

output eventSubscriptionId string = eventSubscription.id

// Optional: Microsoft Graph change notifications for users and groups through Event Grid's
// Microsoft Graph API partner topic, delivered to driftkeeper's graph_events function.
// Three steps, of which this module does the first and the last (docs/deployment.md):
//   1. authorize the MicrosoftGraphAPI partner in this resource group (partner configuration);
//   2. create the Graph subscription whose notificationUrl is
//      EventGrid:?azuresubscriptionid=<sub>&resourcegroup=<rg>&partnertopic=<name>&location=<region>
//      (Graph creates the partner topic), then activate the topic;
//   3. with partnerTopicName set, the event subscription on that topic, filtered on the Graph
//      event types the kinds take (infra/eventgrid-filter.json, "graph").
// The audit poll still runs: a notification is only a faster trigger.

@description('Days the partner authorization lasts; Graph must create its subscription (and topic) within them.')
@minValue(1)
@maxValue(365)
param authorizationDays int = 7

@description('Name of the activated partner topic Graph created (empty: only authorize the partner).')
param partnerTopicName string = ''

@description('Resource id of the function that takes Graph events (<app id>/functions/graph_events).')
param functionResourceId string = ''

@description('Delivery attempts before an event is dropped.')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 30

@description('Deployment time (leave the default).')
param now string = utcNow()

var filters = loadJsonContent('../eventgrid-filter.json')

resource partnerConfiguration 'Microsoft.EventGrid/partnerConfigurations@2025-02-15' = {
  name: 'default'
  location: 'global'
  properties: {
    partnerAuthorization: {
      defaultMaximumExpirationTimeInDays: authorizationDays
      authorizedPartnersList: [
        {
          partnerName: 'MicrosoftGraphAPI'
          authorizationExpirationTimeInUtc: dateTimeAdd(now, 'P${authorizationDays}D')
        }
      ]
    }
  }
}

resource partnerTopic 'Microsoft.EventGrid/partnerTopics@2025-02-15' existing = if (!empty(partnerTopicName)) {
  name: empty(partnerTopicName) ? 'unused' : partnerTopicName
}

resource graphEvents 'Microsoft.EventGrid/partnerTopics/eventSubscriptions@2025-02-15' = if (!empty(partnerTopicName)) {
  parent: partnerTopic
  name: 'driftkeeperGraphChanges'
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: functionResourceId
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'CloudEventSchemaV1_0'
    filter: {
      includedEventTypes: filters.graph.includedEventTypes
    }
    retryPolicy: {
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: 1440
    }
  }
}

output partnerConfigurationId string = partnerConfiguration.id

// The Event Grid system topic of one watched subscription (Microsoft.Resources.Subscriptions),
// with a system-assigned identity: Event Grid dead-letters to driftkeeper's storage (shared
// keys off) and, on the Event Hubs path, delivers to the hub with it. A subscription holds one
// system topic at most: to reuse an existing one, set createSystemTopic to false and give its
// name (and deploy this module into its resource group); it must have a system-assigned
// identity (`az eventgrid system-topic update --identity systemassigned`).

@description('System topic name (or the existing topic\'s name).')
param systemTopicName string

@description('Create the system topic (false: reuse the existing one named systemTopicName in this resource group).')
param createSystemTopic bool = true

@description('Tags applied to a created topic.')
param tags object = {}

resource newSystemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = if (createSystemTopic) {
  name: systemTopicName
  location: 'global'
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: subscription().id
    topicType: 'Microsoft.Resources.Subscriptions'
  }
}

resource existingSystemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = if (!createSystemTopic) {
  name: systemTopicName
}

output name string = systemTopicName
output principalId string = createSystemTopic ? newSystemTopic!.identity.principalId : existingSystemTopic!.identity.principalId

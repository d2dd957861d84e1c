// Everything driftkeeper needs on one watched subscription, deployed at that subscription's
// scope: Reader for the identity (detection re-reads NSGs, role assignments and role
// definitions, and polls long-running operations), a resource group for the Event Grid system
// topic, and the topic. The event subscription itself is eventgrid.bicep (after code deploy),
// the rollback role is rollback-role.bicep (only with enableRollback).
targetScope = 'subscription'

@description('Principal (object) id of driftkeeper\'s managed identity.')
param principalId string

@description('Assign Reader on this subscription to the identity.')
param assignReader bool = true

@description('Resource group that holds the system topic (created when createSystemTopic).')
param topicResourceGroupName string

@description('Region of that resource group.')
param location string

@description('System topic name, or the existing topic\'s name when createSystemTopic is false.')
param systemTopicName string

@description('Create the system topic; false: reuse the existing one (in topicResourceGroupName).')
param createSystemTopic bool = true

@description('Tags applied to what is created.')
param tags object = {}

module reader 'subscription-reader.bicep' = if (assignReader) {
  name: 'driftkeeper-reader-${uniqueString(principalId)}'
  params: {
    principalId: principalId
  }
}

resource topicGroup 'Microsoft.Resources/resourceGroups@2021-04-01' = if (createSystemTopic) {
  name: topicResourceGroupName
  location: location
  tags: tags
}

module topic 'eventgrid-topic.bicep' = {
  name: 'driftkeeper-topic-${uniqueString(subscription().id)}'
  scope: resourceGroup(topicResourceGroupName)
  params: {
    systemTopicName: systemTopicName
    createSystemTopic: createSystemTopic
    tags: tags
  }
  dependsOn: [
    topicGroup
  ]
}

output subscriptionId string = subscription().subscriptionId
output topicResourceGroupName string = topicResourceGroupName
output topicName string = topic.outputs.name
output topicPrincipalId string = topic.outputs.principalId

// driftkeeper infrastructure (azd template layout). Deployed at subscription scope: it creates
// driftkeeper's resource group and, in every watched subscription, the Reader assignment, the
// Event Grid system topic and (after the code is deployed) the event subscription, and with
// enableRollback the custom rollback role. Optional: the Event Hubs ingestion path, the Entra
// audit-log diagnostic setting, the Microsoft Graph partner topic, the Logs Ingestion sink.
//
// One `azd up`: the first provision runs with enableEventGridSubscription=false (an
// AzureFunction destination needs the deployed function); azure.yaml's postdeploy hook
// (infra/hooks/postdeploy.sh) turns it on and provisions again (docs/deployment.md).
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the environment (azd AZURE_ENV_NAME); seeds resource names.')
param environmentName string

@minLength(1)
@description('Region for all resources; must offer the Flex Consumption plan.')
param location string

@description('Resource group name. Empty: rg-<environmentName>.')
param resourceGroupName string = ''

@description('DRIFTKEEPER_BASELINES_DIR: baseline YAML directory, relative to the app root.')
param baselinesDir string = 'baselines'

@description('DRIFTKEEPER_SELF_IDS: extra comma-separated principal/app ids whose changes are driftkeeper\'s own (the identity\'s object and client ids are always included).')
param selfIds string = ''

@description('Subscription ids driftkeeper watches (AZURE_SUBSCRIPTION_ID): each gets Reader, a system topic and an event subscription. Empty: this subscription.')
param watchedSubscriptionIds array = []

@description('Existing system topics to reuse, by subscription id: { "<sub id>": { "name": "<topic>", "resourceGroup": "<rg>" } } (a subscription holds one system topic at most).')
param existingSystemTopics object = {}

@description('Resource group for the system topic in each watched subscription. Empty: rg-<environmentName>-events.')
param eventsResourceGroupName string = ''

@description('Assign Reader on each watched subscription to the identity.')
param assignSubscriptionReader bool = true

@description('Create the event subscriptions. Needs the function code deployed first: the postdeploy hook sets it.')
param enableEventGridSubscription bool = false

@description('Name of the Event Grid triggered function for ARM events.')
param eventGridFunctionName string = 'arm_events'

@description('Rollback: the custom rollback role (rollback-role.bicep) on each watched subscription, and DRIFTKEEPER_ROLLBACK=rollbackMode. false: DRIFTKEEPER_ROLLBACK=off.')
param enableRollback bool = false

@description('DRIFTKEEPER_ROLLBACK when enableRollback is on.')
@allowed([
  'approve-only'
  'on'
])
param rollbackMode string = 'approve-only'

@description('DRIFTKEEPER_APPROVERS: who may decide a rollback (object ids, group ids or UPNs, comma-separated).')
param approvers string = ''

@description('DRIFTKEEPER_READERS: who may read the dashboard and the query API (same forms).')
param readers string = ''

@description('Client id of the Entra app registration for App Service Authentication (the preprovision hook creates one when empty). Empty: no authentication (the HTTP routes refuse with 503).')
param authClientId string = ''

@description('App Service Authentication for an unauthenticated request outside the API paths: RedirectToLoginPage or Return401.')
@allowed([
  'RedirectToLoginPage'
  'Return401'
])
param unauthenticatedClientAction string = 'RedirectToLoginPage'

@description('DRIFTKEEPER_TEAMS_WEBHOOK_URL: the Teams Workflows URL. Stored in Key Vault; the app setting is a Key Vault reference. Empty: no Teams alerts.')
@secure()
param teamsWebhookUrl string = ''

@description('DRIFTKEEPER_SMTP_HOST (empty: no SMTP email).')
param smtpHost string = ''

@description('DRIFTKEEPER_SMTP_PORT.')
param smtpPort int = 587

@description('DRIFTKEEPER_SMTP_FROM.')
param smtpFrom string = ''

@description('DRIFTKEEPER_SMTP_USER.')
param smtpUser string = ''

@description('DRIFTKEEPER_SMTP_PASSWORD. Stored in Key Vault; the app setting is a Key Vault reference.')
@secure()
param smtpPassword string = ''

@description('DRIFTKEEPER_ALERT_EMAIL_TO: comma-separated recipients of email alerts.')
param alertEmailTo string = ''

@description('Large-estate path: an Event Hubs namespace and hub; Event Grid delivers the ARM events there and the Event Hubs trigger reads them.')
param enableEventHubs bool = false

@description('Stream the Entra AuditLogs to the hub with a tenant-scope diagnostic setting (needs enableEventHubs, and tenant-level rights: docs/deployment.md).')
param enableEntraAuditLogStreaming bool = false

@description('Authorize the Microsoft Graph API partner for user and group change notifications (graph-partner-topic.bicep).')
param enableGraphPartnerTopic bool = false

@description('The activated Graph partner topic in driftkeeper\'s resource group, once Graph created it (empty: none yet).')
param graphPartnerTopicName string = ''

@description('Logs Ingestion sink: a data collection endpoint, rule and custom table in the workspace.')
param enableLogsIngestion bool = false

@description('Extra app settings (other DRIFTKEEPER_* keys), merged over the defaults.')
param additionalAppSettings object = {}

@description('Maximum instances of the Flex Consumption app.')
param maximumInstanceCount int = 40

@description('Spread the plan and the Event Hubs namespace over availability zones (regions with zones only).')
param zoneRedundant bool = false

// 'none' (azd env set DRIFTKEEPER_AUTH_CLIENT_ID none): authentication declined, no app registration.
var authApp = authClientId == 'none' ? '' : authClientId
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  application: 'driftkeeper'
}
var rgName = empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
var eventsRgName = empty(eventsResourceGroupName) ? 'rg-${environmentName}-events' : eventsResourceGroupName
var functionAppName = 'func-driftkeeper-${resourceToken}'
var deploymentContainerName = 'app-package-driftkeeper'
var teamsWebhookSecretName = 'teams-webhook-url'
var smtpPasswordSecretName = 'smtp-password'
var watched = empty(watchedSubscriptionIds) ? [subscription().subscriptionId] : watchedSubscriptionIds
var eventHubName = 'driftkeeper-events'

resource rg 'Microsoft.Resources/resourceGroups@2021-04-01' = {
  name: rgName
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'driftkeeper-identity'
  scope: rg
  params: {
    name: 'id-driftkeeper-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'driftkeeper-monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-driftkeeper-${resourceToken}'
    applicationInsightsName: 'appi-driftkeeper-${resourceToken}'
    location: location
    tags: tags
    publisherPrincipalId: identity.outputs.principalId
  }
}

module storage 'modules/storage.bicep' = {
  name: 'driftkeeper-storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
  }
}

module storageRoles 'modules/storage-roles.bicep' = {
  name: 'driftkeeper-storage-roles'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    principalId: identity.outputs.principalId
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'driftkeeper-keyvault'
  scope: rg
  params: {
    name: 'kv-dk-${resourceToken}'
    location: location
    tags: tags
    readerPrincipalId: identity.outputs.principalId
    teamsWebhookSecretName: teamsWebhookSecretName
    teamsWebhookUrl: teamsWebhookUrl
    smtpPasswordSecretName: smtpPasswordSecretName
    smtpPassword: smtpPassword
  }
}

module eventHubs 'modules/eventhubs.bicep' = if (enableEventHubs) {
  name: 'driftkeeper-eventhubs'
  scope: rg
  params: {
    namespaceName: 'evhns-driftkeeper-${resourceToken}'
    hubName: eventHubName
    location: location
    tags: tags
    receiverPrincipalId: identity.outputs.principalId
    enableDiagnosticsRule: enableEntraAuditLogStreaming
    zoneRedundant: zoneRedundant
  }
}

module entraDiagnostics 'modules/entra-diagnostics.bicep' = if (enableEventHubs && enableEntraAuditLogStreaming) {
  name: 'driftkeeper-entra-auditlogs-${resourceToken}'
  scope: tenant()
  params: {
    eventHubAuthorizationRuleId: enableEventHubs ? eventHubs!.outputs.diagnosticsRuleId : ''
    eventHubName: eventHubName
  }
}

module logsIngestion 'modules/logs-ingestion.bicep' = if (enableLogsIngestion) {
  name: 'driftkeeper-logs-ingestion'
  scope: rg
  params: {
    location: location
    tags: tags
    workspaceName: monitoring.outputs.logAnalyticsName
    endpointName: 'dce-driftkeeper-${resourceToken}'
    ruleName: 'dcr-driftkeeper-${resourceToken}'
    senderPrincipalId: identity.outputs.principalId
  }
}

// Per watched subscription: Reader, the topic's resource group and the system topic.
module watchedSubscriptions 'modules/watched-subscription.bicep' = [
  for subscriptionId in watched: {
    name: 'driftkeeper-watch-${uniqueString(subscriptionId, environmentName)}'
    scope: subscription(subscriptionId)
    params: {
      principalId: identity.outputs.principalId
      assignReader: assignSubscriptionReader
      location: location
      tags: tags
      createSystemTopic: !contains(existingSystemTopics, subscriptionId)
      systemTopicName: contains(existingSystemTopics, subscriptionId) ? existingSystemTopics[subscriptionId].name : 'evgt-driftkeeper-${environmentName}'
      topicResourceGroupName: contains(existingSystemTopics, subscriptionId) ? existingSystemTopics[subscriptionId].resourceGroup : eventsRgName
    }
  }
]

// Rollback only when enabled: the custom role (NSG security-rule write/delete, role-assignment
// write/delete under a condition that never grants Owner, User Access Administrator or Role
// Based Access Control Administrator) on each watched subscription.
module rollbackRoles 'modules/rollback-role.bicep' = [
  for subscriptionId in (enableRollback ? watched : []): {
    name: 'driftkeeper-rollback-${uniqueString(subscriptionId, environmentName)}'
    scope: subscription(subscriptionId)
    params: {
      principalId: identity.outputs.principalId
    }
  }
]

// Each topic's identity may write the dead-letter container (and send to the hub).
module topicRoles 'modules/topic-delivery-roles.bicep' = [
  for (subscriptionId, i) in watched: {
    name: 'driftkeeper-topic-roles-${uniqueString(subscriptionId, environmentName)}'
    scope: rg
    params: {
      topicPrincipalId: watchedSubscriptions[i].outputs.topicPrincipalId
      storageAccountName: storage.outputs.name
      deadLetterContainerName: storage.outputs.deadLetterContainerName
      eventHubNamespaceName: enableEventHubs ? eventHubs!.outputs.namespaceName : ''
      eventHubName: enableEventHubs ? eventHubs!.outputs.hubName : ''
    }
  }
]

// The monitor's own identity, so rollbacks that come back as events are recognised.
var ownIds = '${identity.outputs.principalId},${identity.outputs.clientId}'

// Only Key Vault references reach the app settings, never the secrets themselves.
var teamsReference = {
  DRIFTKEEPER_TEAMS_WEBHOOK_URL: '@Microsoft.KeyVault(VaultName=${keyVault.outputs.name};SecretName=${teamsWebhookSecretName})'
}
var smtpPasswordReference = {
  DRIFTKEEPER_SMTP_PASSWORD: '@Microsoft.KeyVault(VaultName=${keyVault.outputs.name};SecretName=${smtpPasswordSecretName})'
}
var smtpValues = {
  DRIFTKEEPER_SMTP_HOST: smtpHost
  DRIFTKEEPER_SMTP_PORT: string(smtpPort)
  DRIFTKEEPER_SMTP_FROM: smtpFrom
  DRIFTKEEPER_SMTP_USER: smtpUser
}
var teamsSettings = empty(teamsWebhookUrl) ? {} : teamsReference
var smtpSettings = empty(smtpHost) ? {} : union(smtpValues, empty(smtpPassword) ? {} : smtpPasswordReference)
var emailSettings = empty(alertEmailTo) ? {} : { DRIFTKEEPER_ALERT_EMAIL_TO: alertEmailTo }
var hubValues = {
  DRIFTKEEPER_EVENT_HUB__fullyQualifiedNamespace: enableEventHubs ? eventHubs!.outputs.fullyQualifiedNamespace : ''
  DRIFTKEEPER_EVENT_HUB__credential: 'managedidentity'
  DRIFTKEEPER_EVENT_HUB__clientId: identity.outputs.clientId
  DRIFTKEEPER_EVENT_HUB_NAME: eventHubName
}
// Without the Event Hubs path the hub trigger stays disabled (its %DRIFTKEEPER_EVENT_HUB_NAME%
// binding still resolves), so the host starts no listener for a namespace that does not exist.
var hubOff = {
  'AzureWebJobs.hub_events.Disabled': 'true'
  DRIFTKEEPER_EVENT_HUB_NAME: eventHubName
}
var hubSettings = enableEventHubs ? hubValues : hubOff
var logsValues = {
  DRIFTKEEPER_LOGS_INGESTION_ENDPOINT: enableLogsIngestion ? logsIngestion!.outputs.endpoint : ''
  DRIFTKEEPER_LOGS_INGESTION_RULE_ID: enableLogsIngestion ? logsIngestion!.outputs.ruleImmutableId : ''
  DRIFTKEEPER_LOGS_INGESTION_STREAM: enableLogsIngestion ? logsIngestion!.outputs.streamName : ''
}
var logsSettings = enableLogsIngestion ? logsValues : {}

var baseSettings = {
  DRIFTKEEPER_BASELINES_DIR: baselinesDir
  DRIFTKEEPER_SELF_IDS: empty(selfIds) ? ownIds : '${ownIds},${selfIds}'
  DRIFTKEEPER_TABLE_ENDPOINT: storage.outputs.tableEndpoint
  DRIFTKEEPER_PUBLIC_URL: 'https://${functionAppName}.azurewebsites.net'
  DRIFTKEEPER_ROLLBACK: enableRollback ? rollbackMode : 'off'
  DRIFTKEEPER_APPROVERS: approvers
  DRIFTKEEPER_READERS: readers
  AZURE_SUBSCRIPTION_ID: join(watched, ',')
  AZURE_TENANT_ID: tenant().tenantId
}
var driftkeeperSettings = union(baseSettings, teamsSettings, smtpSettings, emailSettings, hubSettings, logsSettings, additionalAppSettings)

module functionApp 'modules/function-app.bicep' = {
  name: 'driftkeeper-function-app'
  scope: rg
  params: {
    name: functionAppName
    planName: 'plan-driftkeeper-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: storage.outputs.deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    maximumInstanceCount: maximumInstanceCount
    zoneRedundant: zoneRedundant
    appSettings: driftkeeperSettings
    authClientId: authApp
    unauthenticatedClientAction: unauthenticatedClientAction
  }
  // The host and the Key Vault references need their roles before the app starts.
  dependsOn: [
    storageRoles
    keyVault
  ]
}

// Second phase (postdeploy hook): one event subscription per watched subscription.
module eventGrid 'modules/eventgrid.bicep' = [
  for (subscriptionId, i) in (enableEventGridSubscription ? watched : []): {
    name: 'driftkeeper-eventgrid-${uniqueString(subscriptionId, environmentName)}'
    scope: resourceGroup(subscriptionId, watchedSubscriptions[i].outputs.topicResourceGroupName)
    params: {
      systemTopicName: watchedSubscriptions[i].outputs.topicName
      delivery: enableEventHubs ? 'eventhub' : 'function'
      functionResourceId: '${functionApp.outputs.id}/functions/${eventGridFunctionName}'
      eventHubId: enableEventHubs ? eventHubs!.outputs.hubId : ''
      deadLetterStorageAccountId: storage.outputs.id
      deadLetterContainerName: storage.outputs.deadLetterContainerName
    }
    dependsOn: [
      topicRoles
    ]
  }
]

module graphPartnerTopic 'modules/graph-partner-topic.bicep' = if (enableGraphPartnerTopic) {
  name: 'driftkeeper-graph-partner-topic'
  scope: rg
  params: {
    partnerTopicName: enableEventGridSubscription ? graphPartnerTopicName : ''
    functionResourceId: '${functionApp.outputs.id}/functions/graph_events'
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_HOSTNAME string = functionApp.outputs.defaultHostName
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output DRIFTKEEPER_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output DRIFTKEEPER_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output DRIFTKEEPER_TABLE_ENDPOINT string = storage.outputs.tableEndpoint
output DRIFTKEEPER_EVENTS_RESOURCE_GROUP string = eventsRgName

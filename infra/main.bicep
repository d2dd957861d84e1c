// driftkeeper infrastructure (azd template layout). Deployed at subscription scope: it creates
// the resource group, the subscription Reader assignment and, optionally, the Event Grid
// system topic on this subscription. Everything else lives in the resource group.
//
// Two-phase deploy: the Event Grid subscription needs the deployed function, so the first
// `azd up` runs with enableEventGridSubscription=false; after code deploy, set it to true and
// run `azd provision` again (docs/deployment.md).
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

@description('DRIFTKEEPER_SELF_IDS: extra comma-separated principal/app ids whose changes are driftkeeper\'s own (the function identity\'s object and client ids are always included).')
param selfIds string = ''

@description('DRIFTKEEPER_TEAMS_WEBHOOK_URL: Teams incoming-webhook URL. Stored in Key Vault; the app setting is a Key Vault reference. Empty: no Teams alerts.')
@secure()
param teamsWebhookUrl string = ''

@description('AZURE_SUBSCRIPTION_ID app setting: comma-separated subscription ids driftkeeper reads. Empty: this subscription.')
param watchedSubscriptionIds string = ''

@description('Extra app settings (e.g. other DRIFTKEEPER_* keys), merged over the defaults above.')
param additionalAppSettings object = {}

@description('Assign Reader on this subscription to the driftkeeper identity.')
param assignSubscriptionReader bool = true

@description('Create the Event Grid subscription to the function. Needs the function code deployed first.')
param enableEventGridSubscription bool = false

@description('Name of the Event Grid triggered function (the Python function name or @app.function_name).')
param eventGridFunctionName string = 'arm_events'

@description('Create the subscription\'s Event Grid system topic. false: reuse an existing one (a subscription holds only one).')
param createEventGridSystemTopic bool = true

@description('System topic name. Empty: evgt-<environmentName>-subscription. Give the existing name when reusing one.')
param eventGridSystemTopicName string = ''

@description('Resource group of the system topic. Empty: driftkeeper\'s resource group.')
param eventGridSystemTopicResourceGroupName string = ''

@description('Turn on Key Vault purge protection (irreversible).')
param enableKeyVaultPurgeProtection bool = false

@description('Maximum instances of the Flex Consumption app.')
param maximumInstanceCount int = 40

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  application: 'driftkeeper'
}
var rgName = empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
var functionAppName = 'func-driftkeeper-${resourceToken}'
var deploymentContainerName = 'app-package-driftkeeper'
var teamsWebhookSecretName = 'teams-webhook-url'
var systemTopicName = empty(eventGridSystemTopicName) ? 'evgt-${environmentName}-subscription' : eventGridSystemTopicName
var systemTopicRgName = empty(eventGridSystemTopicResourceGroupName) ? rgName : eventGridSystemTopicResourceGroupName

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
    enablePurgeProtection: enableKeyVaultPurgeProtection
  }
}

module subscriptionReader 'modules/subscription-reader.bicep' = if (assignSubscriptionReader) {
  name: 'driftkeeper-subscription-reader'
  params: {
    principalId: identity.outputs.principalId
  }
}

// The monitor's own identity, so rollbacks that come back as events are recognised.
var ownIds = '${identity.outputs.principalId},${identity.outputs.clientId}'

// Only the Key Vault reference reaches the app settings, never the URL itself.
var teamsWebhookReference = '@Microsoft.KeyVault(VaultName=${keyVault.outputs.name};SecretName=${teamsWebhookSecretName})'
var teamsSettings = empty(teamsWebhookUrl) ? {} : { DRIFTKEEPER_TEAMS_WEBHOOK_URL: teamsWebhookReference }

var baseSettings = {
  DRIFTKEEPER_BASELINES_DIR: baselinesDir
  DRIFTKEEPER_SELF_IDS: empty(selfIds) ? ownIds : '${ownIds},${selfIds}'
  DRIFTKEEPER_TABLE_ENDPOINT: storage.outputs.tableEndpoint
  AZURE_SUBSCRIPTION_ID: empty(watchedSubscriptionIds) ? subscription().subscriptionId : watchedSubscriptionIds
  AZURE_TENANT_ID: tenant().tenantId
}
var driftkeeperSettings = union(baseSettings, teamsSettings, additionalAppSettings)

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
    appSettings: driftkeeperSettings
  }
  // The host and the Key Vault reference need their roles before the app starts.
  dependsOn: [
    storageRoles
  ]
}

module eventGrid 'modules/eventgrid.bicep' = if (enableEventGridSubscription) {
  name: 'driftkeeper-eventgrid'
  scope: resourceGroup(systemTopicRgName)
  params: {
    systemTopicName: systemTopicName
    createSystemTopic: createEventGridSystemTopic
    functionAppResourceGroupName: rg.name
    functionAppName: functionApp.outputs.name
    functionName: eventGridFunctionName
    tags: tags
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output DRIFTKEEPER_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output DRIFTKEEPER_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output DRIFTKEEPER_TABLE_ENDPOINT string = storage.outputs.tableEndpoint

// Flex Consumption plan + Linux Python function app running as the user-assigned identity.
// The Functions host reaches its storage with that identity (AzureWebJobsStorage__*),
// the deployment package is pulled with it, and Key Vault references resolve with it.
// Flex Consumption sets the runtime in functionAppConfig; FUNCTIONS_WORKER_RUNTIME and
// FUNCTIONS_EXTENSION_VERSION must not be set as app settings there.
//
// App Service Authentication (authsettingsV2, function-auth.bicep) with the Microsoft identity provider guards the
// HTTP routes: an unauthenticated browser is redirected to sign-in; the JSON APIs
// (/api/events, /api/compliance) are excluded from the redirect, so a call without a token
// reaches the app, which answers 401 (driftkeeper/access.py), and a call with a bearer token
// is still validated and named in X-MS-CLIENT-PRINCIPAL. Event Grid's delivery
// (/runtime/webhooks/eventgrid, system key) and /api/health (function key) are excluded too.

@description('Function app name (globally unique host name).')
param name string

@description('Flex Consumption plan name.')
param planName string

@description('Region of the plan and the app (must offer Flex Consumption).')
param location string

@description('Tags applied to the plan and the app.')
param tags object = {}

@description('azd service name from azure.yaml; azd finds the app by this tag.')
param serviceName string = 'driftkeeper'

@description('Resource id of the user-assigned identity.')
param identityId string

@description('Client id of the user-assigned identity.')
param identityClientId string

@description('Name of the storage account used by the host and for the deployment package.')
param storageAccountName string

@description('Blob container of the deployment package in that account.')
param deploymentContainerName string

@description('Name of the Application Insights component in this resource group.')
param applicationInsightsName string

@description('Python version.')
@allowed([
  '3.11'
])
param pythonVersion string = '3.11'

@description('Instance memory size in MB.')
@allowed([
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Upper bound of scale-out instances.')
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Spread the plan over availability zones (only in regions with zones; pair it with ZRS storage).')
param zoneRedundant bool = false

@description('Application settings of the app (DRIFTKEEPER_* and friends). Host settings below win on conflict.')
param appSettings object = {}

@description('Client id of the Entra app registration App Service Authentication signs users in with. Empty: authentication is not configured (the approval pages and APIs then refuse with 503).')
param authClientId string = ''

@description('What App Service Authentication does with an unauthenticated request outside the excluded paths: RedirectToLoginPage (browsers go to sign-in) or Return401.')
@allowed([
  'RedirectToLoginPage'
  'Return401'
])
param unauthenticatedClientAction string = 'RedirectToLoginPage'

@description('Paths App Service Authentication does not redirect: the JSON APIs (the app answers 401 without a principal), Event Grid delivery and the keyed health route.')
param authExcludedPaths array = [
  '/api/events'
  '/api/compliance'
  '/api/health'
  '/runtime/webhooks/eventgrid'
]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

var hostSettings = {
  AzureWebJobsStorage__accountName: storage.name
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  // DefaultAzureCredential / ManagedIdentityCredential pick the user-assigned identity from this.
  AZURE_CLIENT_ID: identityClientId
}
var settings = union(appSettings, hostSettings)

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: zone redundancy is the zoneRedundant parameter: Flex Consumption offers it only in regions with availability zones, so it cannot be on by default
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
    zoneRedundant: zoneRedundant
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222: the app must be reachable publicly: Event Grid delivers to it and approvers open its pages; every HTTP route is behind App Service Authentication or a function key
  // checkov:skip=CKV_AZURE_17: client certificates would block Event Grid delivery and browsers; callers authenticate with Entra ID (App Service Authentication) instead
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales from zero and has no minimum instance count for failover; Event Grid retries a failed delivery for 24 hours and the reconcile timer is the backstop
  // checkov:skip=CKV_AZURE_213: the platform health check is not supported on Flex Consumption; /api/health (function key) serves external monitors instead
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [
        for setting in items(settings): {
          name: setting.key
          value: setting.value
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
    }
  }
}

// Publishing with a user name and password (FTP, SCM basic auth) is off: azd deploys with Entra ID.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

module authSettings 'function-auth.bicep' = if (!empty(authClientId)) {
  name: '${name}-auth'
  params: {
    functionAppName: functionApp.name
    clientId: authClientId
    unauthenticatedClientAction: unauthenticatedClientAction
    excludedPaths: authExcludedPaths
  }
}

output id string = functionApp.id
output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName

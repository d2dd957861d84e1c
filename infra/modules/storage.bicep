// Storage account for the Functions host (identity-based AzureWebJobsStorage), the Flex
// Consumption deployment package container, and driftkeeper's tables.
// Shared-key access is disabled: everything reaches it with Entra ID tokens.

@description('Storage account name (3-24 lowercase letters and digits, globally unique).')
@minLength(3)
@maxLength(24)
param name string

@description('Region of the account.')
param location string

@description('Tags applied to the account.')
param tags object = {}

@description('Blob container that holds the Flex Consumption deployment package.')
param deploymentContainerName string

@description('Blob container where Event Grid dead-letters events it could not deliver.')
param deadLetterContainerName string = 'eventgrid-deadletter'

@description('Days a deleted blob or container stays recoverable.')
@minValue(1)
@maxValue(365)
param deleteRetentionDays int = 7

@description('Tables driftkeeper uses: event ledger, incidents, approvals, audit-poll cursors, rollback brakes, the event table day seals, compliance summaries and their count rows, the Log Analytics outbox.')
param tableNames array = [
  'driftevents'
  'incidents'
  'approvals'
  'cursors'
  'brakes'
  'drifteventsseals'
  'summaries'
  'summariescounts'
  'drifteventsoutbox'
]

// The account stays reachable from the public endpoint, with Entra ID only (shared keys off):
// a Flex Consumption app without VNet integration and Event Grid's dead-lettering reach it there.
// Network isolation (VNet integration + private endpoints) is the documented hardening step
// (docs/deployment.md, "Network isolation").
resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35: public endpoint kept for the Flex Consumption app without VNet integration; every request needs an Entra ID token (allowSharedKeyAccess false)
  // checkov:skip=CKV_AZURE_59: same reason as CKV_AZURE_35: no VNet integration in the default deployment, Entra ID only
  // checkov:skip=CKV_AZURE_206: LRS by choice: the tables are a ledger of events Azure keeps too (Activity Log, Entra audit log); GRS is a parameter-free upgrade (sku) documented in docs/deployment.md
  // checkov:skip=CKV_AZURE_43: the name is 'st' + uniqueString(...) from main.bicep (15 lowercase letters and digits), which Checkov resolves only on some runs (it then sees the unevaluated expression); @minLength/@maxLength bound it and tests/infra checks the formula
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: deleteRetentionDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: deleteRetentionDays
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deadLetterContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for tableName in tableNames: {
    parent: tableService
    name: tableName
  }
]

output id string = storage.id
output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output tableEndpoint string = storage.properties.primaryEndpoints.table
output deploymentContainerName string = deploymentContainer.name
output deadLetterContainerName string = deadLetterContainer.name

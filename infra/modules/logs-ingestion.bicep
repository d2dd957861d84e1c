// The Log Analytics side of the optional Logs Ingestion sink: a data collection endpoint, a
// custom table, and a data collection rule whose stream carries event-table rows into it.
// The columns are infra/logs-ingestion-columns.json, generated from the event table's
// columns (`python -m driftkeeper.infra_files --write`; a test keeps it equal to the code).
// driftkeeper's identity may send to the rule (Monitoring Metrics Publisher on it), nothing else.
// The app settings are DRIFTKEEPER_LOGS_INGESTION_ENDPOINT, _RULE_ID and _STREAM (main.bicep).

@description('Region (the workspace\'s).')
param location string

@description('Tags applied to the endpoint and the rule.')
param tags object = {}

@description('Name of the Log Analytics workspace in this resource group.')
param workspaceName string

@description('Data collection endpoint name.')
param endpointName string

@description('Data collection rule name.')
param ruleName string

@description('Custom table name (must end with _CL).')
param tableName string = 'DriftkeeperEvents_CL'

@description('Stream name the app sends to (Custom-<name>).')
param streamName string = 'Custom-DriftkeeperEvents'

@description('Days the table keeps rows (interactive retention).')
@minValue(30)
@maxValue(730)
param retentionInDays int = 90

@description('Principal (object) id that sends rows: driftkeeper\'s identity.')
param senderPrincipalId string

var columns = loadJsonContent('../logs-ingestion-columns.json').columns

// Built-in role: Monitoring Metrics Publisher (what the Logs Ingestion API requires on the rule).
var publisherRoleId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '3913510d-42f4-4e42-8a64-420c390055eb')

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: workspaceName
}

resource table 'Microsoft.OperationalInsights/workspaces/tables@2022-10-01' = {
  parent: workspace
  name: tableName
  properties: {
    retentionInDays: retentionInDays
    schema: {
      name: tableName
      columns: columns
    }
  }
}

resource endpoint 'Microsoft.Insights/dataCollectionEndpoints@2023-03-11' = {
  name: endpointName
  location: location
  tags: tags
  properties: {
    networkAcls: {
      publicNetworkAccess: 'Enabled'
    }
  }
}

resource rule 'Microsoft.Insights/dataCollectionRules@2023-03-11' = {
  name: ruleName
  location: location
  tags: tags
  properties: {
    dataCollectionEndpointId: endpoint.id
    streamDeclarations: {
      '${streamName}': {
        columns: columns
      }
    }
    destinations: {
      logAnalytics: [
        {
          name: 'workspace'
          workspaceResourceId: workspace.id
        }
      ]
    }
    dataFlows: [
      {
        streams: [
          streamName
        ]
        destinations: [
          'workspace'
        ]
        transformKql: 'source'
        outputStream: 'Custom-${tableName}'
      }
    ]
  }
  dependsOn: [
    table
  ]
}

resource sender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(rule.id, senderPrincipalId, publisherRoleId)
  scope: rule
  properties: {
    roleDefinitionId: publisherRoleId
    principalId: senderPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output endpoint string = endpoint.properties.logsIngestion.endpoint
output ruleImmutableId string = rule.properties.immutableId
output streamName string = streamName

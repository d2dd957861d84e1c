// Entra ID diagnostic setting that streams the AuditLogs category to driftkeeper's Event Hub
// (the large-estate path: the audit poll then only backstops). Tenant scope: the deploying
// principal needs Global Administrator or Security Administrator, and Azure RBAC at the
// tenant root scope ('/') to run a tenant-scope deployment (docs/deployment.md).
targetScope = 'tenant'

@description('Diagnostic setting name.')
param name string = 'driftkeeper-auditlogs'

@description('Resource id of the Event Hubs namespace authorization rule (eventhubs.bicep, enableDiagnosticsRule).')
param eventHubAuthorizationRuleId string

@description('Event Hub name.')
param eventHubName string

resource auditLogs 'microsoft.aadiam/diagnosticSettings@2017-04-01' = {
  name: name
  properties: {
    eventHubAuthorizationRuleId: eventHubAuthorizationRuleId
    eventHubName: eventHubName
    logs: [
      {
        category: 'AuditLogs'
        enabled: true
      }
    ]
  }
}

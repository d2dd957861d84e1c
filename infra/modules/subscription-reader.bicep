// Reader on the subscription for driftkeeper's identity, so it can re-read NSGs, role
// assignments and role definitions. Deployed at subscription scope. For other watched
// subscriptions, or a narrower custom role, see docs/deployment.md.
targetScope = 'subscription'

@description('Principal (object) id of the managed identity.')
param principalId string

// Built-in role: Reader.
var readerRoleId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'acdd72a7-3385-48ef-bd42-f606fba81ae7')

resource reader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, readerRoleId)
  properties: {
    roleDefinitionId: readerRoleId
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output roleAssignmentId string = reader.id

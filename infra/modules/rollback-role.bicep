// Rollback's ARM permissions, deployed only when rollback is turned on: a custom role limited
// to what rollback plans send (NSG security-rule write/delete, role-assignment write/delete,
// and the reads of an NSG write's long-running-operation poll), assigned to driftkeeper's
// identity on the subscription under a role-assignment condition: it can never write or
// delete an assignment of Owner, User Access Administrator or Role Based Access Control
// Administrator. Every other read comes from Reader (subscription-reader.bicep).
// Each action, with the kind and step that needs it: docs/permissions.md (tests/
// test_rollback_role.py holds this file to driftkeeper/permissions.py).
targetScope = 'subscription'

@description('Principal (object) id of driftkeeper\'s managed identity.')
param principalId string

// The role-assignment condition, the one place it is written. Azure evaluates it on every
// action of the assignment: an action that is not a role-assignment write or delete passes
// (!ActionMatches); a write passes only when the role of the assignment being written
// (@Request) is none of the three, a delete only when the role of the assignment being
// deleted (@Resource) is none of them. ForAnyOfAllValues:GuidNotEquals means "differs from
// every listed id"; ForAnyOfAnyValues would mean "differs from at least one", which every id
// does, and would let Owner through.
// Owner 8e3af657-a8ff-443c-a75c-2fe8c4bcb635, User Access Administrator
// 18d7d88d-d35e-4fb5-a5c3-7773c20a72d9, Role Based Access Control Administrator
// f58310d9-a9f6-439a-9e8d-f62e7b41a168.
var condition = '''
(
 (
  !(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})
 )
 OR
 (
  @Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAllValues:GuidNotEquals {8e3af657-a8ff-443c-a75c-2fe8c4bcb635, 18d7d88d-d35e-4fb5-a5c3-7773c20a72d9, f58310d9-a9f6-439a-9e8d-f62e7b41a168}
 )
)
AND
(
 (
  !(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})
 )
 OR
 (
  @Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAllValues:GuidNotEquals {8e3af657-a8ff-443c-a75c-2fe8c4bcb635, 18d7d88d-d35e-4fb5-a5c3-7773c20a72d9, f58310d9-a9f6-439a-9e8d-f62e7b41a168}
 )
)
'''

resource rollbackRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, 'driftkeeper-rollback')
  properties: {
    roleName: 'driftkeeper rollback (${subscription().subscriptionId})'
    description: 'Restores NSG security rules and role assignments to driftkeeper\'s baselines; assigned with a condition that forbids Owner, User Access Administrator and Role Based Access Control Administrator assignments.'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          // nsg: recreate or restore a rule (PUT), remove an added rule (DELETE)
          'Microsoft.Network/networkSecurityGroups/securityRules/write'
          'Microsoft.Network/networkSecurityGroups/securityRules/delete'
          // nsg: poll the write's Azure-AsyncOperation / Location URL (a subscription-level
          // path under Microsoft.Network/locations; Reader has these too)
          'Microsoft.Network/locations/operations/read'
          'Microsoft.Network/locations/operationResults/read'
          // role-assignments: recreate a removed assignment (PUT), remove an added one
          // (DELETE); limited by the condition below
          'Microsoft.Authorization/roleAssignments/write'
          'Microsoft.Authorization/roleAssignments/delete'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: [
      subscription().id
    ]
  }
}

resource rollbackAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, rollbackRole.id)
  properties: {
    roleDefinitionId: rollbackRole.id
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'driftkeeper rollback: never Owner, User Access Administrator or Role Based Access Control Administrator'
    condition: condition
    conditionVersion: '2.0'
  }
}

output roleDefinitionId string = rollbackRole.id
output roleAssignmentId string = rollbackAssignment.id

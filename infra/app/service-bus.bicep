// Service Bus for scale-out: the timer sends work tickets to this queue and a Service Bus
// triggered function drains batches on every instance the platform gives. Local (SAS key) auth is
// disabled; the identity sends and receives with Entra roles.

@description('Name of the Service Bus namespace (6-50 characters, globally unique).')
@minLength(6)
@maxLength(50)
param name string

@description('Azure region of the namespace.')
param location string

@description('Tags applied to the namespace.')
param tags object = {}

@description('Name of the queue that carries sync work tickets.')
param queueName string

@description('Principal id of the managed identity that sends and receives tickets.')
param principalId string

@description('Reach the namespace only through a private endpoint: Premium tier (the only one with private endpoints) and public access off.')
param privateNetworking bool = false

@description('Principal id of a person or pipeline that operates driftless (e.g. the deployer: azd sets AZURE_PRINCIPAL_ID); empty grants nothing.')
param deployerPrincipalId string = ''

@description('Kind of principal deployerPrincipalId is.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param deployerPrincipalType string = 'User'

// Azure Service Bus Data Sender and Data Receiver.
var dataSenderRoleId = '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'
var dataReceiverRoleId = '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'
// Azure Service Bus Data Owner, 090c5cfd-751d-490a-894a-3ce6f1109419 (learn.microsoft.com, "Azure
// built-in roles"): the operator peeks, receives and purges tickets and dead letters.
var dataOwnerRoleId = '090c5cfd-751d-490a-894a-3ce6f1109419'
var tier = privateNetworking ? 'Premium' : 'Standard'

resource namespace 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: tier
    tier: tier
    capacity: privateNetworking ? 1 : null
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
  }
}

resource queue 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' = {
  parent: namespace
  name: queueName
  properties: {
    // A ticket is a claim on work, not the work itself: keys stay in Redis, so a ticket that
    // expires or dead-letters loses nothing (the next timer run sends new ones).
    lockDuration: 'PT5M'
    maxDeliveryCount: 5
    defaultMessageTimeToLive: 'PT1H'
    deadLetteringOnMessageExpiration: false
    requiresDuplicateDetection: false
    requiresSession: false
    enablePartitioning: false
  }
}

resource roles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in [dataSenderRoleId, dataReceiverRoleId]: {
    name: guid(queue.id, principalId, roleId)
    scope: queue
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource deployerOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  name: guid(namespace.id, deployerPrincipalId, dataOwnerRoleId)
  scope: namespace
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dataOwnerRoleId)
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
  }
}

output id string = namespace.id
output namespaceName string = namespace.name
// The host name the SDK and the trigger connect to (fullyQualifiedNamespace), from the endpoint
// https://<name>.servicebus.windows.net:443/ so sovereign clouds get their own suffix.
output fullyQualifiedNamespace string = replace(replace(namespace.properties.serviceBusEndpoint, 'https://', ''), ':443/', '')
output queueName string = queue.name

// driftless on Azure: a Function App on Flex Consumption that keeps Elasticsearch in step with
// Cosmos DB, with its queue in Azure Managed Redis, scale-out tickets on Service Bus, secrets in
// Key Vault and one user-assigned identity for every connection. Deploy into a resource group:
//
//   az deployment group create -g <group> -f infra/main.bicep -p infra/main.parameters.json \
//     -p elasticsearchUrl=https://<elasticsearch>:443 -p elasticsearchApiKey=<base64 id:key>
//
// See docs/deploy.md for the whole sequence.

targetScope = 'resourceGroup'

@description('Change feed mode. allVersionsAndDeletes brings hard deletes to the index within seconds and needs continuous backup on the account (a new account gets it); latestVersion brings creates and updates, and deletes only through a soft-delete field or reconcile. Empty: allVersionsAndDeletes for a new account, latestVersion for an existing one.')
@allowed([
  ''
  'latestVersion'
  'allVersionsAndDeletes'
])
param captureMode string = ''

@description('Short name of this deployment (e.g. prod, staging); part of every resource name.')
@minLength(1)
@maxLength(16)
param environmentName string

@description('Azure region of every resource; it must offer Flex Consumption and Azure Managed Redis.')
param location string = resourceGroup().location

@description('Elasticsearch 8 endpoint driftless indexes into, http(s)://host:port (e.g. an Elastic Cloud deployment).')
param elasticsearchUrl string

@description('How driftless authenticates to Elasticsearch: apiKey reads ELASTICSEARCH_API_KEY from Key Vault; none sends no credentials.')
@allowed([
  'apiKey'
  'none'
])
param elasticsearchAuth string = 'apiKey'

@description('Elasticsearch API key (base64 id:key), stored in Key Vault. Empty keeps the secret already stored there (or set it later with az keyvault secret set).')
@secure()
param elasticsearchApiKey string = ''

@description('The driftless sources (see sources.example.json): name, container, partitionKeyPath, index, mapping, ... Each source\'s database is set to cosmosDatabaseName.')
param sources array

@description('Cosmos DB database that holds the source containers and the lease container.')
param cosmosDatabaseName string = 'driftless'

@description('Name of the change-feed trigger\'s lease container (created here: the trigger cannot create it under Entra auth).')
param cosmosLeaseContainerName string = 'leases'

@description('Name of an existing Cosmos DB account to sync from. Empty creates a new serverless account with the database and source containers.')
param existingCosmosAccountName string = ''

@description('Resource group of the existing Cosmos DB account; empty means this resource group.')
param existingCosmosAccountResourceGroup string = ''

@description('Azure Managed Redis SKU for the queue, e.g. Balanced_B0, Balanced_B1, Balanced_B3.')
param redisSkuName string = 'Balanced_B0'

@description('Replicate Redis within the region (recommended: the queue is the only copy of pending keys).')
param redisHighAvailability bool = true

@description('Node.js version of the Function App: 22 by default, 20 still accepted.')
@allowed([
  '20'
  '22'
])
param nodeVersion string = '22'

@description('Memory of each Function App instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Most instances the Function App scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('NCRONTAB schedule of the sync timer (six fields, seconds first).')
param syncSchedule string = '*/30 * * * * *'

@description('NCRONTAB schedule of the reconcile timer (six fields, seconds first), which removes from Elasticsearch what Cosmos DB no longer has.')
param reconcileSchedule string = '0 0 3 * * *'

@description('Milliseconds a timer run may spend claiming work; keep it below the schedule interval.')
@minValue(1000)
@maxValue(540000)
param syncTimeBudgetMs int = 25000

@description('Log level of driftless.')
@allowed([
  'fatal'
  'error'
  'warn'
  'info'
  'debug'
  'trace'
  'silent'
])
param logLevel string = 'info'

@description('More driftless settings as strings, e.g. {"SYNC_BATCH_SIZE": "2000"}; see the configuration reference in docs/configuration.md.')
param extraAppSettings object = {}

@description('Tags applied to every resource.')
param tags object = {}

@description('Put Cosmos DB (when created here), Redis, Storage, Service Bus and Key Vault behind private endpoints in a new VNet, turn their public network access off, and integrate the Function App with the VNet. Service Bus moves to the Premium tier, the only one with private endpoints. The HTTP API stays public, behind function keys.')
param privateNetworking bool = false

@description('Principal id of a person or pipeline that operates driftless (azd passes the signed-in user as AZURE_PRINCIPAL_ID): it gets the data-plane roles an operator needs on Cosmos DB, Storage, Service Bus, Redis and Key Vault. Empty grants nothing.')
param deployerPrincipalId string = ''

@description('Kind of principal deployerPrincipalId is: User for a person, ServicePrincipal for a pipeline.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param deployerPrincipalType string = 'User'

var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var allTags = union(tags, { 'driftless-env': environmentName })
var functionAppName = 'func-driftless-${environmentName}-${resourceToken}'
var deploymentContainerName = 'app-package-${take(resourceToken, 7)}'
var serviceBusQueueName = 'driftless-tickets'
var useExistingCosmos = !empty(existingCosmosAccountName)
// A new account gets continuous backup and the mode that carries deletes; an existing account keeps
// latest-version capture unless captureMode says otherwise (it needs continuous backup first).
var effectiveCaptureMode = empty(captureMode) ? (useExistingCosmos ? 'latestVersion' : 'allVersionsAndDeletes') : captureMode
var cosmosAccountName = useExistingCosmos ? existingCosmosAccountName : 'cosmos-driftless-${resourceToken}'
var cosmosResourceGroup = empty(existingCosmosAccountResourceGroup) ? resourceGroup().name : existingCosmosAccountResourceGroup
var publicNetworkAccess = privateNetworking ? 'Disabled' : 'Enabled'
// DRIFTLESS_SOURCES with every source in the database this template manages.
var sourcesInDatabase = map(sources, source => union(source, { database: cosmosDatabaseName }))

module identity 'app/identity.bicep' = {
  name: 'identity'
  params: {
    name: 'id-driftless-${resourceToken}'
    location: location
    tags: allTags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: 'log-driftless-${resourceToken}'
    applicationInsightsName: 'appi-driftless-${resourceToken}'
    location: location
    tags: allTags
    publisherPrincipalId: identity.outputs.principalId
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  params: {
    name: 'stdl${resourceToken}'
    location: location
    tags: allTags
    deploymentContainerName: deploymentContainerName
    principalId: identity.outputs.principalId
    publicNetworkAccess: publicNetworkAccess
    deployerPrincipalId: deployerPrincipalId
    deployerPrincipalType: deployerPrincipalType
  }
}

module keyVault 'app/key-vault.bicep' = {
  name: 'key-vault'
  params: {
    name: 'kv-dl-${resourceToken}'
    location: location
    tags: allTags
    readerPrincipalId: identity.outputs.principalId
    elasticsearchApiKey: elasticsearchApiKey
    publicNetworkAccess: publicNetworkAccess
    deployerPrincipalId: deployerPrincipalId
    deployerPrincipalType: deployerPrincipalType
  }
}

module cosmosAccount 'app/cosmos-account.bicep' = if (!useExistingCosmos) {
  name: 'cosmos-account'
  params: {
    name: cosmosAccountName
    location: location
    tags: allTags
    serverless: true
    continuousBackup: effectiveCaptureMode == 'allVersionsAndDeletes'
    publicNetworkAccess: publicNetworkAccess
  }
}

module cosmosData 'app/cosmos-data.bicep' = {
  name: 'cosmos-data'
  scope: resourceGroup(cosmosResourceGroup)
  params: {
    accountName: cosmosAccountName
    databaseName: cosmosDatabaseName
    createDatabaseAndContainers: !useExistingCosmos
    sources: sourcesInDatabase
    leaseContainerName: cosmosLeaseContainerName
    principalId: identity.outputs.principalId
    deployerPrincipalId: deployerPrincipalId
  }
  dependsOn: [
    cosmosAccount
  ]
}

module redis 'app/redis.bicep' = {
  name: 'redis'
  params: {
    name: 'redis-driftless-${resourceToken}'
    location: location
    tags: allTags
    skuName: redisSkuName
    highAvailability: redisHighAvailability
    keyVaultName: keyVault.outputs.name
    publicNetworkAccess: publicNetworkAccess
    deployerPrincipalId: deployerPrincipalId
  }
}

module serviceBus 'app/service-bus.bicep' = {
  name: 'service-bus'
  params: {
    name: 'sb-driftless-${resourceToken}'
    location: location
    tags: allTags
    queueName: serviceBusQueueName
    principalId: identity.outputs.principalId
    privateNetworking: privateNetworking
    deployerPrincipalId: deployerPrincipalId
    deployerPrincipalType: deployerPrincipalType
  }
}

module network 'app/network.bicep' = if (privateNetworking) {
  name: 'network'
  params: {
    name: 'vnet-driftless-${resourceToken}'
    location: location
    tags: allTags
  }
}

// One private endpoint per store and sub-resource, each registered in its private DNS zone. An
// existing Cosmos DB account gets one too, but its public access is the owner's to turn off.
var privateEndpointTargets = [
  { name: 'cosmos', targetId: resourceId(cosmosResourceGroup, 'Microsoft.DocumentDB/databaseAccounts', cosmosAccountName), groupId: 'Sql', zone: 'cosmos' }
  { name: 'redis', targetId: redis.outputs.id, groupId: 'redisEnterprise', zone: 'redis' }
  { name: 'blob', targetId: storage.outputs.id, groupId: 'blob', zone: 'blob' }
  { name: 'queue', targetId: storage.outputs.id, groupId: 'queue', zone: 'queue' }
  { name: 'table', targetId: storage.outputs.id, groupId: 'table', zone: 'table' }
  { name: 'servicebus', targetId: serviceBus.outputs.id, groupId: 'namespace', zone: 'serviceBus' }
  { name: 'vault', targetId: keyVault.outputs.id, groupId: 'vault', zone: 'keyVault' }
]

module privateEndpoints 'app/private-endpoint.bicep' = [
  for target in privateEndpointTargets: if (privateNetworking) {
    name: 'pe-${target.name}'
    params: {
      name: 'pe-${target.name}-${resourceToken}'
      location: location
      tags: allTags
      subnetId: network.outputs.endpointSubnetId
      targetId: target.targetId
      groupId: target.groupId
      dnsZoneId: network.outputs.zoneIds[target.zone]
    }
    dependsOn: [
      cosmosData
    ]
  }
]

module functionApp 'app/function-app.bicep' = {
  name: 'function-app'
  params: {
    name: functionAppName
    planName: 'plan-driftless-${resourceToken}'
    location: location
    // azd deploy finds the app to deploy the `api` service of azure.yaml to by this tag.
    tags: union(allTags, { 'azd-service-name': 'api' })
    nodeVersion: nodeVersion
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    cosmosEndpoint: cosmosData.outputs.endpoint
    leaseContainerName: cosmosData.outputs.leaseContainerName
    sourcesJson: string(sourcesInDatabase)
    elasticsearchUrl: elasticsearchUrl
    elasticsearchApiKeySecretUri: elasticsearchAuth == 'apiKey' ? keyVault.outputs.elasticsearchApiKeySecretUri : ''
    redisUrlSecretUri: redis.outputs.redisUrlSecretUri
    serviceBusNamespace: serviceBus.outputs.fullyQualifiedNamespace
    serviceBusQueueName: serviceBus.outputs.queueName
    syncSchedule: syncSchedule
    syncTimeBudgetMs: syncTimeBudgetMs
    reconcileSchedule: reconcileSchedule
    captureMode: effectiveCaptureMode
    logLevel: logLevel
    extraAppSettings: extraAppSettings
    virtualNetworkSubnetId: privateNetworking ? network.outputs.appSubnetId : ''
  }
  // With private networking, the stores answer only through their endpoints: the app starts once they exist.
  dependsOn: [
    privateEndpoints
  ]
}

@description('Name of the Function App: the target of func azure functionapp publish and config-zip.')
output functionAppName string = functionApp.outputs.name
@description('Base URL of the driftless HTTP API.')
output apiUrl string = '${functionApp.outputs.url}/api'
@description('Cosmos DB account endpoint.')
output cosmosEndpoint string = cosmosData.outputs.endpoint
@description('Cosmos DB account name.')
output cosmosAccountName string = cosmosAccountName
@description('Cosmos DB database of the sources and the lease container.')
output cosmosDatabaseName string = cosmosData.outputs.databaseName
@description('Azure Managed Redis host name (TLS on port 10000).')
output redisHostName string = redis.outputs.hostName
@description('Service Bus namespace host name.')
output serviceBusNamespace string = serviceBus.outputs.fullyQualifiedNamespace
@description('Key Vault that holds the Elasticsearch API key and the Redis URL.')
output keyVaultName string = keyVault.outputs.name
@description('Client id of the managed identity driftless runs as.')
output identityClientId string = identity.outputs.clientId
@description('Application Insights component of the Function App.')
output applicationInsightsName string = monitoring.outputs.applicationInsightsName

// The Function App on Flex Consumption and every app setting driftless reads.
//
// No setting holds a key: storage, Cosmos DB, Service Bus and Application Insights are reached
// with the user-assigned identity; the two unavoidable secrets (the Redis URL with its access key
// and the Elasticsearch API key) are Key Vault references resolved with the same identity.

@description('Name of the Function App (globally unique; also its host name).')
param name string

@description('Name of the Flex Consumption plan.')
param planName string

@description('Azure region of the plan and the app.')
param location string

@description('Tags applied to the plan and the app.')
param tags object = {}

@description('Node.js version the functions run on: 22 by default, 20 still accepted.')
@allowed([
  '20'
  '22'
])
param nodeVersion string = '22'

@description('Memory of each instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Most instances the app scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Resource id of the user-assigned managed identity the app runs as.')
param identityId string

@description('Client id of that identity (selects it for every identity-based connection).')
param identityClientId string

@description('Name of the storage account for AzureWebJobsStorage.')
param storageAccountName string

@description('Blob endpoint of that storage account, e.g. https://<name>.blob.core.windows.net/.')
param storageBlobEndpoint string

@description('Blob container that holds the deployment package.')
param deploymentContainerName string

@description('Application Insights connection string (holds no secret: local auth is disabled).')
param applicationInsightsConnectionString string

@description('Cosmos DB account endpoint, e.g. https://<account>.documents.azure.com:443/.')
param cosmosEndpoint string

@description('Name of the Cosmos DB lease container the change-feed trigger uses.')
param leaseContainerName string

@description('The driftless sources as JSON (DRIFTLESS_SOURCES).')
param sourcesJson string

@description('Elasticsearch endpoint, http(s)://host:port.')
param elasticsearchUrl string

@description('Versionless Key Vault secret URI of the Elasticsearch API key; empty when Elasticsearch takes no API key.')
param elasticsearchApiKeySecretUri string = ''

@description('Versionless Key Vault secret URI of the rediss:// URL of the queue.')
param redisUrlSecretUri string

@description('Prefix of every Redis key driftless writes.')
param redisKeyPrefix string = 'driftless'

@description('Service Bus fully qualified namespace, e.g. <name>.servicebus.windows.net.')
param serviceBusNamespace string

@description('Service Bus queue for sync work tickets.')
param serviceBusQueueName string

@description('NCRONTAB schedule of the sync timer (six fields, seconds first).')
param syncSchedule string = '*/30 * * * * *'

@description('NCRONTAB schedule of the reconcile timer, which removes from Elasticsearch what Cosmos DB no longer has.')
param reconcileSchedule string = '0 0 3 * * *'

@description('Change feed mode of the capture triggers (CAPTURE_MODE): latestVersion or allVersionsAndDeletes.')
@allowed([
  'latestVersion'
  'allVersionsAndDeletes'
])
param captureMode string = 'latestVersion'

@description('Milliseconds a timer run may spend claiming work; below the schedule interval and functionTimeout in host.json.')
@minValue(1000)
@maxValue(540000)
param syncTimeBudgetMs int = 25000

@description('Log level of driftless itself.')
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

@description('Subnet the app integrates with (delegated to Microsoft.App/environments), so its outbound calls reach the stores\' private endpoints; empty for none.')
param virtualNetworkSubnetId string = ''

@description('More driftless settings (e.g. SYNC_BATCH_SIZE, QUEUE_MAX_ATTEMPTS), as strings. They cannot replace the settings this module sets.')
param extraAppSettings object = {}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
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
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    // Key Vault references resolve with this identity rather than a system-assigned one.
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: nodeVersion
      }
    }
  }
}

// Flex Consumption takes the runtime from functionAppConfig, not from FUNCTIONS_WORKER_RUNTIME
// or WEBSITE_NODE_DEFAULT_VERSION (it rejects those settings).
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: union(
    extraAppSettings,
    {
      // The host's storage, identity-based.
      AzureWebJobsStorage__accountName: storageAccountName
      AzureWebJobsStorage__credential: 'managedidentity'
      AzureWebJobsStorage__clientId: identityClientId

      APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'

      // Picked by @azure/identity (DefaultAzureCredential / ManagedIdentityCredential) in the
      // driftless process: the identity its SDK clients authenticate as.
      AZURE_CLIENT_ID: identityClientId

      // Cosmos DB for the driftless SDK client (reads by key, health check).
      COSMOS_ENDPOINT: cosmosEndpoint
      // The change-feed trigger's identity-based connection, named by COSMOS_TRIGGER_CONNECTION.
      COSMOS_TRIGGER_CONNECTION: 'COSMOS'
      COSMOS__accountEndpoint: cosmosEndpoint
      COSMOS__credential: 'managedidentity'
      COSMOS__clientId: identityClientId
      COSMOS_LEASE_CONTAINER: leaseContainerName
      COSMOS_CREATE_LEASE_CONTAINER: 'false'

      REDIS_URL: '@Microsoft.KeyVault(SecretUri=${redisUrlSecretUri})'
      REDIS_KEY_PREFIX: redisKeyPrefix

      ELASTICSEARCH_URL: elasticsearchUrl

      DRIFTLESS_SOURCES: sourcesJson

      // Read by the host as %SYNC_SCHEDULE%, so it must be an app setting even though driftless
      // has a default.
      SYNC_SCHEDULE: syncSchedule
      SYNC_TIME_BUDGET_MS: string(syncTimeBudgetMs)
      // Read by the host as %RECONCILE_SCHEDULE%, like SYNC_SCHEDULE.
      RECONCILE_SCHEDULE: reconcileSchedule
      // Read when the capture triggers are registered (functions/capture.ts).
      CAPTURE_MODE: captureMode

      // Scale-out: with SERVICEBUS_NAMESPACE the timer sends work tickets to SERVICEBUS_QUEUE
      // (with the identity) and the sync-ticket function drains them through the Service Bus
      // trigger's identity-based connection SERVICEBUS (read by the host as %SERVICEBUS_QUEUE%).
      SERVICEBUS_NAMESPACE: serviceBusNamespace
      SERVICEBUS_QUEUE: serviceBusQueueName
      SERVICEBUS__fullyQualifiedNamespace: serviceBusNamespace
      SERVICEBUS__credential: 'managedidentity'
      SERVICEBUS__clientId: identityClientId

      LOG_LEVEL: logLevel
    },
    empty(elasticsearchApiKeySecretUri)
      ? {}
      : {
          ELASTICSEARCH_API_KEY: '@Microsoft.KeyVault(SecretUri=${elasticsearchApiKeySecretUri})'
        }
  )
}

output name string = site.name
output defaultHostName string = site.properties.defaultHostName
output url string = 'https://${site.properties.defaultHostName}'

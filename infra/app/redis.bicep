// Azure Managed Redis (Microsoft.Cache/redisEnterprise) for the queue.
//
// Clustering: driftless connects with one ioredis client, not a cluster client, so the database
// uses the EnterpriseCluster policy (one endpoint; the proxy routes commands). Every queue script
// touches keys of one source only, and those share a hash tag, so they stay in one slot as that
// policy requires.
//
// Authentication: ioredis authenticates with a password from REDIS_URL; Entra tokens expire
// after about an hour and driftless does not refresh them yet, so the database keeps access keys
// enabled. The key never reaches an app setting: this module writes the whole rediss:// URL into
// Key Vault and the Function App reads it as a Key Vault reference.

@description('Name of the Azure Managed Redis cluster.')
param name string

@description('Azure region of the cluster.')
param location string

@description('Tags applied to the cluster.')
param tags object = {}

@description('Azure Managed Redis SKU, e.g. Balanced_B0 (smallest), Balanced_B1, MemoryOptimized_M10.')
param skuName string = 'Balanced_B0'

@description('Replicate the data within the region (needed for the SLA; doubles the cost).')
param highAvailability bool = true

@description('Name of the Key Vault that receives the Redis URL secret.')
param keyVaultName string

@description('Name of the secret that holds the rediss:// URL, access key included.')
param redisUrlSecretName string = 'redis-url'

@description('Public network access: Disabled when privateNetworking puts the store behind a private endpoint.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string = 'Enabled'

@description('Principal id of a person or pipeline that operates driftless (e.g. the deployer: azd sets AZURE_PRINCIPAL_ID); empty grants nothing.')
param deployerPrincipalId string = ''

// Azure Managed Redis serves TLS on this port for every database.
var port = 10000

// 2025-07-01: the first stable version with publicNetworkAccess on the cluster.
resource cluster 'Microsoft.Cache/redisEnterprise@2025-07-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: skuName
  }
  properties: {
    minimumTlsVersion: '1.2'
    highAvailability: highAvailability ? 'Enabled' : 'Disabled'
    publicNetworkAccess: publicNetworkAccess
  }
}

resource database 'Microsoft.Cache/redisEnterprise/databases@2025-07-01' = {
  parent: cluster
  // Azure Managed Redis has exactly one database per cluster, and it must be named 'default'.
  name: 'default'
  properties: {
    clientProtocol: 'Encrypted'
    port: port
    clusteringPolicy: 'EnterpriseCluster'
    // The queue must never lose keys to eviction: writes fail loudly instead when memory is full.
    evictionPolicy: 'NoEviction'
    accessKeysAuthentication: 'Enabled'
    persistence: {
      aofEnabled: true
      aofFrequency: '1s'
      rdbEnabled: false
    }
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

// Access keys are base64 and may hold '/', '+' and '=': the key is URL-encoded so the URL parses
// (ioredis decodes the password).
resource redisUrlSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: redisUrlSecretName
  properties: {
    value: 'rediss://:${uriComponent(database.listKeys().primaryKey)}@${cluster.properties.hostName}:${port}'
    contentType: 'rediss:// URL of the driftless queue'
  }
}

// The operator signs in to the database with Entra ID (redis-cli or Redis Insight with a token):
// Azure Managed Redis grants data access per principal with an access policy assignment, on the
// built-in 'default' policy (learn.microsoft.com, "Use Microsoft Entra ID for cache authentication
// with Azure Managed Redis"). driftless itself keeps the access key (see above).
resource deployerAccess 'Microsoft.Cache/redisEnterprise/databases/accessPolicyAssignments@2025-07-01' = if (!empty(deployerPrincipalId)) {
  parent: database
  name: 'deployer${uniqueString(deployerPrincipalId)}'
  properties: {
    accessPolicyName: 'default'
    user: {
      objectId: deployerPrincipalId
    }
  }
}

output id string = cluster.id
output hostName string = cluster.properties.hostName
output port int = port
// Versionless: a rotated key is picked up when the secret is rewritten (redeploy), without
// touching the app settings.
output redisUrlSecretUri string = '${vault.properties.vaultUri}secrets/${redisUrlSecretName}'

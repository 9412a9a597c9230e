// A new Cosmos DB for NoSQL account, for a deployment that does not sync an existing one.
// Key (local) auth is disabled: driftless and the change-feed trigger use the managed identity.

@description('Name of the Cosmos DB account (3-44 lowercase letters, digits and hyphens, globally unique).')
@minLength(3)
@maxLength(44)
param name string

@description('Azure region of the account.')
param location string

@description('Tags applied to the account.')
param tags object = {}

@description('Serverless capacity (pay per request) instead of provisioned throughput.')
param serverless bool = true

@description('Continuous backup, which the all-versions-and-deletes change feed mode requires (https://learn.microsoft.com/azure/cosmos-db/nosql/change-feed-modes).')
param continuousBackup bool = true


@description('Public network access: Disabled when privateNetworking puts the store behind a private endpoint.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string = 'Enabled'

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-05-15' = {
  name: name
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: false
      }
    ]
    disableLocalAuth: true
    minimalTlsVersion: 'Tls12'
    publicNetworkAccess: publicNetworkAccess
    capabilities: serverless ? [{ name: 'EnableServerless' }] : []
    // Without continuous backup: the service's default periodic policy, written out.
    backupPolicy: continuousBackup ? {
      type: 'Continuous'
      continuousModeProperties: { tier: 'Continuous7Days' }
    } : {
      type: 'Periodic'
      periodicModeProperties: { backupIntervalInMinutes: 240, backupRetentionIntervalInHours: 8, backupStorageRedundancy: 'Geo' }
    }
  }
}

output id string = account.id
output name string = account.name
output endpoint string = account.properties.documentEndpoint

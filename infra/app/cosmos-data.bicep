// What driftless needs inside a Cosmos DB account, new or existing: the database and source
// containers (only when they are new), the change-feed trigger's lease container, and the Cosmos
// DB Built-in Data Contributor role for the identity.
//
// The lease container is always created here: under Entra auth the Functions trigger cannot
// create it (that needs a control-plane call; COSMOS_CREATE_LEASE_CONTAINER stays false). Every
// source's trigger shares it, each with its own lease prefix.

@description('Name of the Cosmos DB account (created by cosmos-account.bicep or already there).')
param accountName string

@description('Name of the database that holds the source containers and the lease container.')
param databaseName string

@description('Create the database and the source containers. False for an existing account whose containers hold data: a redeploy must not reset their indexing policy.')
param createDatabaseAndContainers bool = true

@description('The driftless sources (name, container, partitionKeyPath as a string or a list of up to three paths); their containers are created when createDatabaseAndContainers is true.')
param sources array

@description('Name of the lease container the change-feed trigger uses.')
param leaseContainerName string

@description('Autoscale maximum RU/s of the database when the account is provisioned; 0 for a serverless account.')
@minValue(0)
param databaseMaxThroughput int = 0

@description('Principal id of the managed identity that reads documents and writes leases.')
param principalId string

@description('Principal id of a person or pipeline that operates driftless (e.g. the deployer: azd sets AZURE_PRINCIPAL_ID); empty grants nothing.')
param deployerPrincipalId string = ''

// Cosmos DB Built-in Data Contributor (data plane; a Cosmos SQL role, not an Azure RBAC role).
var dataContributorRoleId = '00000000-0000-0000-0000-000000000002'

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-05-15' existing = {
  name: accountName
}

resource newDatabase 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-05-15' = if (createDatabaseAndContainers) {
  parent: account
  name: databaseName
  properties: {
    resource: {
      id: databaseName
    }
    options: databaseMaxThroughput > 0 ? { autoscaleSettings: { maxThroughput: databaseMaxThroughput } } : {}
  }
}

// The same database for the children below whether this deployment created it or not.
resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-05-15' existing = {
  parent: account
  name: databaseName
}

resource sourceContainers 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-05-15' = [
  for source in sources: if (createDatabaseAndContainers) {
    parent: database
    name: source.container
    properties: {
      resource: {
        id: source.container
        // array() keeps a list of paths and wraps a single one; more than one path is a
        // hierarchical partition key (MultiHash).
        partitionKey: {
          paths: array(source.partitionKeyPath)
          kind: length(array(source.partitionKeyPath)) > 1 ? 'MultiHash' : 'Hash'
          version: 2
        }
      }
    }
    dependsOn: [
      newDatabase
    ]
  }
]

resource leaseContainer 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-05-15' = {
  parent: database
  name: leaseContainerName
  properties: {
    resource: {
      id: leaseContainerName
      // The trigger's lease documents are partitioned by /id.
      partitionKey: {
        paths: [
          '/id'
        ]
        kind: 'Hash'
      }
    }
  }
  dependsOn: [
    newDatabase
  ]
}

resource dataContributor 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-05-15' = {
  parent: account
  name: guid(account.id, principalId, dataContributorRoleId)
  properties: {
    roleDefinitionId: '${account.id}/sqlRoleDefinitions/${dataContributorRoleId}'
    principalId: principalId
    scope: account.id
  }
}

// The operator reads and writes documents as the app does (`driftless sources apply`, checking a
// document): Cosmos DB Built-in Data Contributor again, a data-plane role that Azure RBAC role
// assignments cannot grant (learn.microsoft.com, "Use data plane role-based access control with
// Azure Cosmos DB for NoSQL"). Any principal type: Cosmos does not ask.
resource deployerDataContributor 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-05-15' = if (!empty(deployerPrincipalId)) {
  parent: account
  name: guid(account.id, deployerPrincipalId, dataContributorRoleId)
  properties: {
    roleDefinitionId: '${account.id}/sqlRoleDefinitions/${dataContributorRoleId}'
    principalId: deployerPrincipalId
    scope: account.id
  }
}

output id string = account.id
output endpoint string = account.properties.documentEndpoint
output databaseName string = databaseName
output leaseContainerName string = leaseContainer.name

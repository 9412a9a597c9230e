// Key Vault for the secrets driftless cannot avoid: the Elasticsearch API key (Elasticsearch is
// outside Azure, so there is no managed identity to use) and the Redis URL with its access key
// (written by redis.bicep). The Function App reads them as Key Vault references with its
// identity; RBAC authorization, no access policies.

@description('Name of the Key Vault (3-24 characters, globally unique).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region of the Key Vault.')
param location string

@description('Tags applied to the Key Vault.')
param tags object = {}

@description('Principal id of the managed identity that reads the secrets.')
param readerPrincipalId string

@description('Public network access: Disabled when privateNetworking puts the store behind a private endpoint.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string = 'Enabled'

@description('Principal id of a person or pipeline that operates driftless (e.g. the deployer: azd sets AZURE_PRINCIPAL_ID); empty grants nothing.')
param deployerPrincipalId string = ''

@description('Kind of principal deployerPrincipalId is.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param deployerPrincipalType string = 'User'

@description('Name of the secret that holds the Elasticsearch API key.')
param elasticsearchApiKeySecretName string = 'elasticsearch-api-key'

@description('Elasticsearch API key (base64 id:key). Empty leaves the secret as it is, so a redeploy without the key keeps the one stored earlier; set it later with az keyvault secret set.')
@secure()
param elasticsearchApiKey string = ''

// Key Vault Secrets User: read secret values, nothing else.
var secretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    publicNetworkAccess: publicNetworkAccess
  }
}

resource elasticsearchApiKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(elasticsearchApiKey)) {
  parent: vault
  name: elasticsearchApiKeySecretName
  properties: {
    value: elasticsearchApiKey
    contentType: 'Elasticsearch API key (base64 id:key)'
  }
}

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, readerPrincipalId, secretsUserRoleId)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsUserRoleId)
    principalId: readerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The operator reads the secrets the app reads (Key Vault Secrets User, 4633458b-17de-408a-b874-0445c86b69e6,
// learn.microsoft.com "Azure built-in roles"), e.g. to check the stored Elasticsearch key.
resource deployerSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  name: guid(vault.id, deployerPrincipalId, secretsUserRoleId)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsUserRoleId)
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
  }
}

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri
// Versionless, so a rotated secret is picked up without a redeploy. Built from the vault URI
// rather than read from the conditional secret, which may not be part of this deployment.
output elasticsearchApiKeySecretUri string = '${vault.properties.vaultUri}secrets/${elasticsearchApiKeySecretName}'

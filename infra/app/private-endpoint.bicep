// One private endpoint: a network interface in the endpoints subnet for one sub-resource of one
// store, and the DNS zone group that registers its address in the matching private DNS zone.

@description('Name of the private endpoint.')
param name string

@description('Azure region of the private endpoint (the VNet\'s).')
param location string

@description('Tags applied to the private endpoint.')
param tags object = {}

@description('Resource id of the subnet that holds the endpoint.')
param subnetId string

@description('Resource id of the store the endpoint connects to.')
param targetId string

@description('Sub-resource (group id) of the store, e.g. Sql, redisEnterprise, blob, namespace, vault.')
param groupId string

@description('Resource id of the private DNS zone for that sub-resource.')
param dnsZoneId string

resource endpoint 'Microsoft.Network/privateEndpoints@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    subnet: {
      id: subnetId
    }
    privateLinkServiceConnections: [
      {
        name: name
        properties: {
          privateLinkServiceId: targetId
          groupIds: [groupId]
        }
      }
    ]
  }
}

resource zoneGroup 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = {
  parent: endpoint
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: groupId
        properties: {
          privateDnsZoneId: dnsZoneId
        }
      }
    ]
  }
}

output id string = endpoint.id

// The private network of `privateNetworking`: a VNet with one subnet the Function App integrates
// with (outbound) and one for the private endpoints of the stores it uses, and the private DNS
// zones that make those stores' usual host names resolve to the endpoints inside the VNet.

@description('Name of the virtual network.')
param name string

@description('Azure region of the virtual network.')
param location string

@description('Tags applied to the network resources.')
param tags object = {}

@description('Address space of the virtual network.')
param addressPrefix string = '10.40.0.0/16'

@description('Subnet the Function App integrates with; Flex Consumption needs it delegated to Microsoft.App/environments.')
param appSubnetPrefix string = '10.40.1.0/24'

@description('Subnet that holds the private endpoints.')
param endpointSubnetPrefix string = '10.40.2.0/24'

// One zone per kind of endpoint (learn.microsoft.com: "Azure Private Endpoint private DNS zone
// values"). Storage needs three: the host uses blobs, queues and tables.
var storageSuffix = environment().suffixes.storage
var zoneNames = {
  cosmos: 'privatelink.documents.azure.com'
  redis: 'privatelink.redis.azure.net'
  blob: 'privatelink.blob.${storageSuffix}'
  queue: 'privatelink.queue.${storageSuffix}'
  table: 'privatelink.table.${storageSuffix}'
  serviceBus: 'privatelink.servicebus.windows.net'
  keyVault: 'privatelink.vaultcore.azure.net'
}

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [addressPrefix]
    }
    subnets: [
      {
        name: 'app'
        properties: {
          addressPrefix: appSubnetPrefix
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: 'private-endpoints'
        properties: {
          addressPrefix: endpointSubnetPrefix
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' = [
  for zone in items(zoneNames): {
    name: zone.value
    location: 'global'
    tags: tags
  }
]

resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [
  for (zone, i) in items(zoneNames): {
    parent: zones[i]
    name: '${name}-link'
    location: 'global'
    tags: tags
    properties: {
      registrationEnabled: false
      virtualNetwork: {
        id: vnet.id
      }
    }
  }
]

output appSubnetId string = vnet.properties.subnets[0].id
output endpointSubnetId string = vnet.properties.subnets[1].id
// Zone ids by kind (cosmos, redis, blob, queue, table, serviceBus, keyVault), for the endpoints' DNS zone groups.
output zoneIds object = {
  cosmos: resourceId('Microsoft.Network/privateDnsZones', zoneNames.cosmos)
  redis: resourceId('Microsoft.Network/privateDnsZones', zoneNames.redis)
  blob: resourceId('Microsoft.Network/privateDnsZones', zoneNames.blob)
  queue: resourceId('Microsoft.Network/privateDnsZones', zoneNames.queue)
  table: resourceId('Microsoft.Network/privateDnsZones', zoneNames.table)
  serviceBus: resourceId('Microsoft.Network/privateDnsZones', zoneNames.serviceBus)
  keyVault: resourceId('Microsoft.Network/privateDnsZones', zoneNames.keyVault)
}
